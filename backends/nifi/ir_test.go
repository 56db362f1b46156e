package nifi

import (
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// Hand-built IR for the tests (the same shapes the compiler produces).

func at(line, col int) diag.Range {
	return diag.Range{Filename: "spec.cue", Start: diag.Pos{Line: line, Column: col}, End: diag.Pos{Line: line, Column: col}}
}

func ref(name string, t *rtype.Type) *ir.Expr {
	return &ir.Expr{Kind: ir.Ref, Path: []string{name}, Type: t, Text: name}
}

func litE(v any, t *rtype.Type) *ir.Expr { return &ir.Expr{Kind: ir.Lit, Value: v, Type: t} }

func call(fn ir.Fn, t *rtype.Type, args ...*ir.Expr) *ir.Expr {
	return &ir.Expr{Kind: ir.Call, Fn: fn, Type: t, Args: args}
}

func withPos(e *ir.Expr, r diag.Range) *ir.Expr { e.Pos = r; return e }

var (
	str  = rtype.StringType
	i64  = rtype.Int64Type
	f64  = rtype.Float64Type
	bl   = rtype.BoolType
	dec  = rtype.DecimalOf(18, 6)
	ts3  = rtype.TimestampMillis
	opt  = func(k string, v any) ir.Option { return ir.Option{Key: k, Value: v} }
	secr = func(name, key string) *ir.Secret { return &ir.Secret{Name: name, Key: key} }
)

var tradeType = rtype.RecordOf(
	rtype.Field{Name: "symbol", Type: str},
	rtype.Field{Name: "venue", Type: str},
	rtype.Field{Name: "price", Type: dec},
	rtype.Field{Name: "size", Type: i64},
	rtype.Field{Name: "ts", Type: ts3},
	rtype.Field{Name: "cond", Type: str, Nullable: true},
)

// pipeline assembles nodes, numbering them in order.
func pipeline(name string, nodes ...*ir.Node) *ir.Pipeline {
	p := &ir.Pipeline{Name: name, Mode: ir.Streaming, Engine: "nifi", Owner: "market-data", Pos: at(1, 1)}
	for i, n := range nodes {
		n.ID = ir.NodeID(i + 1)
		p.Nodes = append(p.Nodes, n)
	}
	return p
}

func node(name string, op ir.Op, out *rtype.Type, line int, inputs ...ir.NodeID) *ir.Node {
	return &ir.Node{Name: name, Op: op, Out: out, Inputs: inputs, Pos: at(line, 3)}
}

// equitiesToTimescale: kafka → filter → map → timescale (upsert, secret
// password), and the filtered stream republished to Kafka as Avro.
func equitiesToTimescale() *ir.Pipeline {
	notional := rtype.RecordOf(
		rtype.Field{Name: "symbol", Type: str},
		rtype.Field{Name: "ts", Type: ts3},
		rtype.Field{Name: "notional", Type: rtype.DecimalOf(38, 6)},
		rtype.Field{Name: "venue_lc", Type: str},
	)
	where := call(ir.FnAnd, bl,
		call(ir.FnNe, bl, ref("venue", str), litE("DARK", str)),
		call(ir.FnGt, bl, ref("size", i64), litE(int64(0), i64)))
	p := pipeline("equities-lit",
		node("trades", &ir.Source{Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{
			opt("brokers", "kafka-0.kafka:9092"), opt("group", "lit-trades"), opt("startingOffsets", "earliest"), opt("topic", "md.equities.trades.v1")}},
			Schema: tradeType, EventTime: "ts", OnError: ir.FailOnError}, tradeType, 4),
		node("lit", &ir.Filter{Where: where}, tradeType, 9, 1),
		node("notional", &ir.Map{Columns: []ir.Column{
			{Name: "symbol", Expr: ref("symbol", str)},
			{Name: "ts", Expr: ref("ts", ts3)},
			{Name: "notional", Expr: call(ir.FnMul, rtype.DecimalOf(38, 6), ref("price", dec), call(ir.FnToDecimal, rtype.DecimalOf(38, 6), ref("size", i64)))},
			{Name: "venue_lc", Expr: call(ir.FnLower, str, ref("venue", str))},
		}}, notional, 12, 2),
		node("store", &ir.Sink{Connector: ir.Connector{Kind: "timescale", Options: []ir.Option{
			opt("database", "markets"), opt("host", "timescale.db"), opt("password", secr("timescale", "password")),
			opt("table", "analytics.notional"), opt("user", "writer")}}, Key: []string{"symbol", "ts"}}, notional, 20, 3),
		node("republish", &ir.Sink{Connector: ir.Connector{Kind: "kafka", Format: "avro", Options: []ir.Option{
			opt("brokers", "kafka-0.kafka:9092"), opt("topic", "md.equities.lit.v1")}}, Key: []string{"symbol"}}, tradeType, 26, 2),
	)
	p.Description = "Lit equities trades: notional per trade to TimescaleDB"
	return p
}

var newsType = rtype.RecordOf(
	rtype.Field{Name: "id", Type: str},
	rtype.Field{Name: "headline", Type: str},
	rtype.Field{Name: "body", Type: str, Nullable: true},
	rtype.Field{Name: "published", Type: ts3},
	rtype.Field{Name: "tickers", Type: rtype.ListOf(str)},
)

// newsIngest: an HTTP feed and a Kafka topic, unioned, filtered, landed in
// MongoDB and S3 (Parquet).
func newsIngest() *ir.Pipeline {
	keep := call(ir.FnAnd, bl,
		call(ir.FnHas, bl, ref("body", str)),
		call(ir.FnOr, bl,
			call(ir.FnContains, bl, ref("headline", str), litE("earnings", str)),
			call(ir.FnStartsWith, bl, ref("headline", str), litE("BREAKING: ", str))))
	p := pipeline("news-ingest",
		node("vendor", &ir.Source{Connector: ir.Connector{Kind: "http", Format: "json", Options: []ir.Option{
			opt("headers", []ir.Option{opt("Authorization", secr("news-vendor", "token")), opt("Accept", "application/json")}),
			opt("interval", "30s"), opt("url", "https://news.example.com/v2/stories?since=${cursor}")}},
			Schema: newsType, OnError: ir.SkipOnError}, newsType, 3),
		node("wire", &ir.Source{Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{
			opt("brokers", "kafka:9092"), opt("topic", "news.wire"),
			opt("password", secr("kafka-news", "password")), opt("saslMechanism", "SCRAM-SHA-512"),
			opt("securityProtocol", "SASL_SSL"), opt("user", "news")}},
			Schema: newsType, OnError: ir.SkipOnError}, newsType, 8),
		node("all", &ir.Union{}, newsType, 12, 1, 2),
		node("relevant", &ir.Filter{Where: keep}, newsType, 13, 3),
		node("docs", &ir.Sink{Connector: ir.Connector{Kind: "mongodb", Options: []ir.Option{
			opt("collection", "stories"), opt("database", "news"), opt("password", secr("mongo", "password")),
			opt("uri", "mongodb://mongo-0.mongo:27017/?replicaSet=rs0"), opt("user", "ingest")}}, Key: []string{"id"}}, newsType, 16, 4),
		node("archive", &ir.Sink{Connector: ir.Connector{Kind: "s3", Format: "parquet", Options: []ir.Option{
			opt("accessKey", secr("minio", "access-key")), opt("bucket", "news-archive"), opt("endpoint", "http://minio:9000"),
			opt("path", "raw/stories/"), opt("region", "us-east-1"), opt("secretKey", secr("minio", "secret-key"))}}}, newsType, 22, 4),
	)
	return p
}
