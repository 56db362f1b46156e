package sink

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/sink/pgsink"
)

// newPostgres reads the postgres/timescale options:
//
//	url          postgres://host:port/db?… (Options.DSN overrides; default $RTSAPC_PG_DSN)
//	table        "schema.table" or "table" (split at the first dot)
//	schema       the schema, when the table name itself has dots
//	user         the role (overrides the url's)
//	password     a secret reference
//	createTable  bool: CREATE SCHEMA/TABLE IF NOT EXISTS at open
//	hypertable   {timeColumn, chunk} (timescale): create_hypertable by_range
//	batchSize    rows per transaction (default 5000)
func newPostgres(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	c := &op.Connector
	dsn := opts.DSN
	if dsn == "" {
		var err error
		if dsn, _, err = Resolve(c, "url", opts); err != nil {
			return nil, err
		}
	}
	if dsn == "" {
		dsn, _ = opts.lookupEnv("RTSAPC_PG_DSN")
	}
	if dsn == "" {
		return nil, fmt.Errorf("%s: no url option (and no DSN given)", c.Kind)
	}
	conn, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included: keep it out.
		return nil, fmt.Errorf("%s: the url does not parse as a PostgreSQL connection string", c.Kind)
	}
	if u, ok, err := Resolve(c, "user", opts); err != nil {
		return nil, err
	} else if ok {
		conn.User = u
	}
	if p, ok, err := secretOnly(c, "password", opts); err != nil {
		return nil, err
	} else if ok {
		conn.Password = p
	}
	table := c.String("table", "")
	if table == "" {
		return nil, fmt.Errorf("%s: the table option is required", c.Kind)
	}
	cfg := pgsink.Config{
		Conn:        conn,
		Table:       pgsink.ParseTable(c.String("schema", ""), table),
		Record:      node.Out,
		TableSchema: op.Schema,
		Key:         op.Key,
		CreateTable: c.Bool("createTable", false),
		BatchRows:   int(c.Int("batchSize", int64(opts.BatchRows))),
	}
	ht, ok, err := nested(c, "hypertable")
	if err != nil {
		return nil, err
	}
	if ok {
		if c.Kind != "timescale" {
			return nil, fmt.Errorf("postgres: the hypertable option needs the timescale connector")
		}
		h := &pgsink.Hypertable{TimeColumn: ht.String("timeColumn", "")}
		if h.TimeColumn == "" {
			return nil, fmt.Errorf("timescale: hypertable.timeColumn is required")
		}
		if s := ht.String("chunk", ""); s != "" {
			if h.Chunk, err = ParseDuration(s); err != nil || h.Chunk <= 0 {
				return nil, fmt.Errorf("timescale: hypertable.chunk %q is not a positive duration", s)
			}
		}
		cfg.Hypertable = h
	}
	return pgsink.New(cfg)
}
