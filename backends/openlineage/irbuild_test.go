package openlineage

import (
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

// Hand-built IR for tests that do not go through the front-end.

func ref(path ...string) *ir.Expr { return &ir.Expr{Kind: ir.Ref, Path: path} }
func refIn(input int, path ...string) *ir.Expr {
	return &ir.Expr{Kind: ir.Ref, Input: input, Path: path}
}
func refVar(v string, path ...string) *ir.Expr { return &ir.Expr{Kind: ir.Ref, Var: v, Path: path} }
func call(fn ir.Fn, args ...*ir.Expr) *ir.Expr { return &ir.Expr{Kind: ir.Call, Fn: fn, Args: args} }
func lit(v any) *ir.Expr                       { return &ir.Expr{Kind: ir.Lit, Value: v} }
func col(name string, e *ir.Expr) ir.Column    { return ir.Column{Name: name, Expr: e} }

func fields(spec ...any) *rtype.Type {
	var fs []rtype.Field
	for i := 0; i < len(spec); i += 2 {
		fs = append(fs, rtype.Field{Name: spec[i].(string), Type: spec[i+1].(*rtype.Type)})
	}
	return rtype.RecordOf(fs...)
}

func kafka(topic string, brokers ...string) ir.Connector {
	var bs []any
	for _, b := range brokers {
		bs = append(bs, b)
	}
	return ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{{Key: "brokers", Value: bs}, {Key: "topic", Value: topic}}}
}

var (
	dec    = rtype.DecimalOf(18, 6)
	i64    = rtype.Int64Type
	str    = rtype.StringType
	ts3    = rtype.TimestampMillis
	f64    = rtype.Float64Type
	tradeT = fields("symbol", str, "venue", str, "price", dec, "size", i64, "ts", ts3)
	quoteT = fields("symbol", str, "bid", dec, "ask", dec, "ts", ts3)
)

// builder appends nodes with dense IDs.
type builder struct{ p *ir.Pipeline }

func newPipeline(name string, mode ir.Mode, engine string) *builder {
	return &builder{p: &ir.Pipeline{Name: name, Mode: mode, Engine: engine, Owner: "market-data",
		Description: "test pipeline " + name, SpecFile: "specs/" + name + ".cue"}}
}

func (b *builder) add(name string, op ir.Op, out *rtype.Type, et string, inputs ...ir.NodeID) ir.NodeID {
	id := ir.NodeID(len(b.p.Nodes) + 1)
	b.p.Nodes = append(b.p.Nodes, &ir.Node{ID: id, Name: name, Op: op, Inputs: inputs, Out: out, EventTime: et})
	return id
}

// vwapPipeline is DESIGN.md's example: filter, hop-window aggregate, sink.
func vwapPipeline() *ir.Pipeline {
	b := newPipeline("equities-vwap", ir.Streaming, "flink")
	b.p.Labels = []ir.KV{{Key: "team", Value: "market-data"}, {Key: "tier", Value: "1"}}
	src := b.add("trades", &ir.Source{Connector: kafka("md.trades", "kafka-0:9092", "kafka-1:9092"), Schema: tradeT,
		EventTime: "ts", MaxOutOfOrderness: 5 * time.Second}, tradeT, "ts")
	lit := b.add("lit", &ir.Filter{Where: call(ir.FnAnd, call(ir.FnNe, ref("venue"), lit("DARK")), call(ir.FnGt, ref("size"), lit(int64(0))))}, tradeT, "ts", src)
	barsT := fields("window_start", ts3, "window_end", ts3, "symbol", str, "vwap", dec, "volume", i64, "trades", i64)
	bars := b.add("bars", &ir.Aggregate{
		Keys:   []ir.Column{col("symbol", ref("symbol"))},
		Window: &ir.Window{Kind: ir.Hop, Size: 5 * time.Minute, Slide: time.Minute},
		Columns: []ir.Column{
			col("vwap", call(ir.FnDiv, call(ir.FnSum, call(ir.FnMul, ref("price"), ref("size"))), call(ir.FnSum, ref("size")))),
			col("volume", call(ir.FnSum, ref("size"))),
			col("trades", call(ir.FnCount)),
		}}, barsT, "window_end", lit)
	b.add("store", &ir.Sink{Connector: ir.Connector{Kind: "timescale", Options: []ir.Option{
		{Key: "table", Value: "analytics.vwap_5m"}, {Key: "url", Value: "postgres://tsdb:5432/markets"}}},
		Key: []string{"symbol", "window_start"}}, barsT, "window_end", bars)
	return b.p
}

// everyOpPipeline touches every operator once.
func everyOpPipeline() *ir.Pipeline {
	b := newPipeline("every-op", ir.Streaming, "beam")
	trades := b.add("trades", &ir.Source{Connector: kafka("md.trades", "kafka-0:9092"), Schema: tradeT, EventTime: "ts",
		OnError: ir.DeadLetterErr, DeadLetter: 2}, tradeT, "ts")
	dlq := b.add("bad_trades", &ir.DeadLetter{Source: trades}, ir.DeadLetterType, "", trades)
	quotes := b.add("quotes", &ir.Source{Connector: kafka("md.quotes", "kafka-0:9092"), Schema: quoteT, EventTime: "ts"}, quoteT, "ts")
	// map with a conditional and a coalesce
	mappedT := fields("symbol", str, "notional", dec, "side", str, "px", dec, "ts", ts3)
	mapped := b.add("mapped", &ir.Map{Columns: []ir.Column{
		col("symbol", call(ir.FnUpper, ref("symbol"))),
		col("notional", call(ir.FnMul, ref("price"), ref("size"))),
		col("side", call(ir.FnCond, call(ir.FnGt, ref("size"), lit(int64(0))), lit("buy"), ref("venue"))),
		col("px", call(ir.FnCoalesce, ref("price"), lit(ir.Decimal("0")))),
		col("ts", ref("ts")),
	}}, mappedT, "ts", trades)
	// interval join trades × quotes
	joinedT := fields("symbol", str, "px", dec, "mid", dec, "ts", ts3)
	joined := b.add("joined", &ir.Join{Type: ir.Inner, On: []ir.KeyPair{{Left: "symbol", Right: "symbol"}},
		Lower: -time.Second, Upper: 0, Where: call(ir.FnGt, refIn(1, "ask"), refIn(1, "bid")),
		Columns: []ir.Column{
			col("symbol", refIn(0, "symbol")),
			col("px", refIn(0, "px")),
			col("mid", call(ir.FnDiv, call(ir.FnAdd, refIn(1, "bid"), refIn(1, "ask")), lit(ir.Decimal("2")))),
			col("ts", refIn(0, "ts")),
		}}, joinedT, "ts", mapped, quotes)
	// lookup against reference data
	refT := fields("symbol", str, "sector", str)
	enrichedT := fields("symbol", str, "px", dec, "mid", dec, "sector", str, "ts", ts3)
	enriched := b.add("enriched", &ir.Lookup{Type: ir.Left, Schema: refT,
		Table: ir.Connector{Kind: "postgres", Options: []ir.Option{{Key: "table", Value: "ref.instruments"}, {Key: "url", Value: "postgres://refdb/reference"}}},
		On:    []ir.KeyPair{{Left: "symbol", Right: "symbol"}},
		Columns: []ir.Column{col("symbol", refIn(0, "symbol")), col("px", refIn(0, "px")), col("mid", refIn(0, "mid")),
			col("sector", refIn(1, "sector")), col("ts", refIn(0, "ts"))}}, enrichedT, "ts", joined)
	// rolling z-score-ish
	rolledT := fields("symbol", str, "px", dec, "mid", dec, "sector", str, "ts", ts3, "avg_px", f64, "n", i64)
	rolled := b.add("rolled", &ir.Rolling{Keys: []ir.Column{col("symbol", ref("symbol"))}, OrderBy: "ts", Range: time.Minute,
		Columns: []ir.Column{col("avg_px", call(ir.FnAvg, ref("px"))), col("n", call(ir.FnCount, ref("px")))}}, rolledT, "ts", enriched)
	// dedupe and top-N
	deduped := b.add("deduped", &ir.Dedupe{Keys: []ir.Column{col("symbol", ref("symbol"))}, OrderBy: "ts"}, rolledT, "ts", rolled)
	topT := fields("window_start", ts3, "window_end", ts3, "symbol", str, "px", dec, "mid", dec, "sector", str, "ts", ts3, "avg_px", f64, "n", i64, "rank", i64)
	top := b.add("top", &ir.TopN{Keys: []ir.Column{col("sector", ref("sector"))}, OrderBy: []ir.Order{{Field: "px", Desc: true}}, N: 3,
		Window: &ir.Window{Kind: ir.Tumble, Size: time.Minute}, RankField: "rank"}, topT, "window_end", deduped)
	// pattern over trades: a spike
	spikeT := fields("symbol", str, "start_px", dec, "peak_px", dec, "moves", i64)
	spikes := b.add("spikes", &ir.Pattern{PartitionBy: []ir.Column{col("symbol", ref("symbol"))}, OrderBy: "ts",
		Terms:    []ir.PatternTerm{{Var: "A"}, {Var: "B", Quant: ir.Quantifier{Min: 1, Max: -1, Greedy: true}}},
		Define:   []ir.Column{col("B", call(ir.FnGt, refVar("B", "price"), call(ir.FnLast, refVar("B", "price"), lit(int64(1)))))},
		Measures: []ir.Column{col("start_px", refVar("A", "price")), col("peak_px", call(ir.FnMax, refVar("B", "price"))), col("moves", call(ir.FnCount, refVar("B", "price")))},
		Within:   time.Minute}, spikeT, "", trades)
	// aggregate with having and late output, union of two filtered streams
	hiT := tradeT
	hi := b.add("hi", &ir.Filter{Where: call(ir.FnGt, ref("price"), lit(ir.Decimal("100")))}, hiT, "ts", trades)
	lo := b.add("lo", &ir.Filter{Where: call(ir.FnLt, ref("size"), lit(int64(10)))}, hiT, "ts", trades)
	both := b.add("both", &ir.Union{}, hiT, "ts", hi, lo)
	aggT := fields("window_start", ts3, "window_end", ts3, "venue", str, "n", i64)
	agg := b.add("per_venue", &ir.Aggregate{Keys: []ir.Column{col("venue", ref("venue"))},
		Window:  &ir.Window{Kind: ir.Session, Gap: time.Minute},
		Columns: []ir.Column{col("n", call(ir.FnCountDistinct, ref("symbol")))},
		Having:  call(ir.FnGt, ref("n"), lit(int64(1))), Late: 15}, aggT, "window_end", both)
	late := b.add("late", &ir.LateOutput{Of: agg}, hiT, "ts", agg)
	topic := func(t string) ir.Connector { return kafka(t, "kafka-0:9092") }
	b.add("out_top", &ir.Sink{Connector: topic("out.top")}, topT, "", top)
	b.add("out_spikes", &ir.Sink{Connector: ir.Connector{Kind: "mongodb", Options: []ir.Option{{Key: "database", Value: "alerts"},
		{Key: "collection", Value: "spikes"}, {Key: "uri", Value: &ir.Secret{Name: "mongo", Key: "uri"}}}}}, spikeT, "", spikes)
	b.add("out_venue", &ir.Sink{Connector: ir.Connector{Kind: "s3", Format: "parquet", Options: []ir.Option{{Key: "bucket", Value: "lake"}, {Key: "path", Value: "venues/"}}}}, aggT, "", agg)
	b.add("out_late", &ir.Sink{Connector: ir.Connector{Kind: "file", Options: []ir.Option{{Key: "path", Value: "/tmp/late.jsonl"}}}}, hiT, "", late)
	b.add("out_dlq", &ir.Sink{Connector: topic("dlq.trades")}, ir.DeadLetterType, "", dlq)
	b.add("out_both", &ir.Sink{Connector: ir.Connector{Kind: "cassandra", Options: []ir.Option{{Key: "keyspace", Value: "md"}, {Key: "table", Value: "both"}, {Key: "hosts", Value: []any{"cass-1"}}}}}, hiT, "", both)
	b.add("out_hbase", &ir.Sink{Connector: ir.Connector{Kind: "hbase", Options: []ir.Option{{Key: "table", Value: "quotes"}, {Key: "zookeeper", Value: "zk-1:2181,zk-2:2181"}}}}, quoteT, "", quotes)
	return b.p
}
