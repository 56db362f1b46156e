CREATE SCHEMA IF NOT EXISTS "analytics";
CREATE TABLE IF NOT EXISTS "analytics"."all" (
	"id" bigint NOT NULL,
	"s" text,
	"b" boolean NOT NULL,
	"i32" integer NOT NULL,
	"f32" real NOT NULL,
	"f64" double precision NOT NULL,
	"d" numeric(38,10) NOT NULL,
	"dsmall" numeric(9,2),
	"t6" timestamptz(6) NOT NULL,
	"day" date NOT NULL,
	"raw" bytea NOT NULL,
	"dur" interval NOT NULL,
	"prices" numeric(10,2)[] NOT NULL,
	"tags" jsonb NOT NULL,
	"quote" jsonb,
	PRIMARY KEY ("id")
);
CREATE TABLE IF NOT EXISTS "vwap_5m" (
	"window_start" timestamptz(3) NOT NULL,
	"window_end" timestamptz(3) NOT NULL,
	"symbol" text NOT NULL,
	"vwap" numeric(18,6),
	"volume" bigint NOT NULL,
	PRIMARY KEY ("symbol", "window_start")
);
CREATE SCHEMA IF NOT EXISTS "we""ird
schema";
CREATE TABLE IF NOT EXISTS "we""ird
schema"."'); DROP TABLE trades;--" (
	"window_start" timestamptz(3) NOT NULL,
	"window_end" timestamptz(3) NOT NULL,
	"symbol" text NOT NULL,
	"vwap" numeric(18,6),
	"volume" bigint NOT NULL
);
INSERT INTO "analytics"."vwap_5m" ("window_start", "window_end", "symbol", "vwap", "volume") VALUES ($1, $2, $3, $4, $5) ON CONFLICT ("symbol", "window_start") DO UPDATE SET "window_end" = EXCLUDED."window_end", "vwap" = EXCLUDED."vwap", "volume" = EXCLUDED."volume";
INSERT INTO "analytics"."vwap_5m" ("window_start", "window_end", "symbol", "vwap", "volume") SELECT "window_start", "window_end", "symbol", "vwap", "volume" FROM "rtsapc_stage" ON CONFLICT ("symbol", "window_start") DO UPDATE SET "window_end" = EXCLUDED."window_end", "vwap" = EXCLUDED."vwap", "volume" = EXCLUDED."volume";
SELECT create_hypertable($1::regclass, by_range($2::name, $3::interval), if_not_exists => true); -- ["\"analytics\".\"vwap_5m\"" "window_start" "86400000000 microseconds"]
