package spark

import (
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

// Helpers that build IR by hand for tests (the compiler is another
// package's; these keep the backend's tests independent of it).

var (
	tStr = rtype.StringType
	tI64 = rtype.Int64Type
	tI32 = rtype.Int32Type
	tF64 = rtype.Float64Type
	tTS  = rtype.TimestampMillis
	tB   = rtype.BoolType
)

func tDec(p, s int) *rtype.Type { return rtype.DecimalOf(p, s) }

func f(name string, t *rtype.Type) rtype.Field { return rtype.Field{Name: name, Type: t} }

func rec(fs ...rtype.Field) *rtype.Type { return rtype.RecordOf(fs...) }

func ref(name string, t *rtype.Type) *ir.Expr {
	return &ir.Expr{Kind: ir.Ref, Type: t, Path: []string{name}, Text: name}
}

func refIn(in int, name string, t *rtype.Type) *ir.Expr {
	e := ref(name, t)
	e.Input = in
	return e
}

func refVar(v, name string, t *rtype.Type) *ir.Expr {
	e := ref(name, t)
	e.Var = v
	e.Text = v + "." + name
	return e
}

func litE(v any, t *rtype.Type) *ir.Expr { return &ir.Expr{Kind: ir.Lit, Type: t, Value: v} }

func call(fn ir.Fn, t *rtype.Type, args ...*ir.Expr) *ir.Expr {
	return &ir.Expr{Kind: ir.Call, Fn: fn, Type: t, Args: args, Text: string(fn) + "(…)"}
}

func col(name string, e *ir.Expr) ir.Column { return ir.Column{Name: name, Expr: e} }

func keyCols(t *rtype.Type, names ...string) []ir.Column {
	var out []ir.Column
	for _, n := range names {
		fl, _ := t.Field(n)
		out = append(out, col(n, ref(n, fl.Type)))
	}
	return out
}

// builder assembles a pipeline node by node.
type builder struct{ pl *ir.Pipeline }

func newPipeline(name string) *builder {
	return &builder{pl: &ir.Pipeline{Name: name, Mode: ir.Streaming, Engine: "spark"}}
}

func (b *builder) add(name string, op ir.Op, out *rtype.Type, et string, inputs ...ir.NodeID) ir.NodeID {
	id := ir.NodeID(len(b.pl.Nodes) + 1)
	b.pl.Nodes = append(b.pl.Nodes, &ir.Node{ID: id, Name: name, Op: op, Out: out, EventTime: et, Inputs: inputs})
	return id
}

func (b *builder) node(id ir.NodeID) *ir.Node { return b.pl.Node(id) }

func kafkaSource(topic string, schema *rtype.Type, et string, ooo time.Duration) *ir.Source {
	return &ir.Source{
		Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{
			{Key: "brokers", Value: []any{"kafka:9092"}}, {Key: "topic", Value: topic}}},
		Schema: schema, EventTime: et, MaxOutOfOrderness: ooo, OnError: ir.FailOnError,
	}
}

func kafkaSink(topic string, key ...string) *ir.Sink {
	return &ir.Sink{Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{
		{Key: "brokers", Value: []any{"kafka:9092"}}, {Key: "topic", Value: topic}}}, Key: key}
}

// windowed returns window_start, window_end + fields.
func windowed(fs ...rtype.Field) *rtype.Type {
	return rec(append([]rtype.Field{f(ir.WindowStart, tTS), f(ir.WindowEnd, tTS)}, fs...)...)
}

func progOf(pls ...*ir.Pipeline) *ir.Program {
	return &ir.Program{Pipelines: pls, SpecDigest: "0000"}
}
