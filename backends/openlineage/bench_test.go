package openlineage

import (
	"fmt"
	"testing"
	"time"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

// widePipeline: a 1,000-column source, a filter, a map computing every
// column from two inputs, a windowed aggregate summing 999 of them per key,
// and a sink.
func widePipeline(n int) *ir.Pipeline {
	var in, mapped, agg []rtype.Field
	var cols, sums []ir.Column
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("c%04d", i)
		in = append(in, rtype.Field{Name: name, Type: rtype.Int64Type})
		mapped = append(mapped, rtype.Field{Name: name, Type: rtype.Int64Type})
		next := fmt.Sprintf("c%04d", (i+1)%n)
		cols = append(cols, col(name, call(ir.FnAdd, call(ir.FnMul, ref(name), lit(int64(2))), ref(next))))
	}
	in = append(in, rtype.Field{Name: "ts", Type: rtype.TimestampMillis})
	mapped = append(mapped, rtype.Field{Name: "ts", Type: rtype.TimestampMillis})
	cols = append(cols, col("ts", ref("ts")))
	agg = append(agg, rtype.Field{Name: "window_start", Type: rtype.TimestampMillis}, rtype.Field{Name: "window_end", Type: rtype.TimestampMillis},
		rtype.Field{Name: "c0000", Type: rtype.Int64Type})
	for i := 1; i < n; i++ {
		name := fmt.Sprintf("c%04d", i)
		agg = append(agg, rtype.Field{Name: name, Type: rtype.Int64Type})
		sums = append(sums, col(name, call(ir.FnSum, ref(name))))
	}
	inT, mapT, aggT := rtype.RecordOf(in...), rtype.RecordOf(mapped...), rtype.RecordOf(agg...)
	b := newPipeline("wide", ir.Streaming, "beam")
	s := b.add("src", &ir.Source{Connector: kafka("wide.in", "k:9092"), Schema: inT, EventTime: "ts"}, inT, "ts")
	f := b.add("f", &ir.Filter{Where: call(ir.FnGt, ref("c0001"), lit(int64(0)))}, inT, "ts", s)
	m := b.add("m", &ir.Map{Columns: cols}, mapT, "ts", f)
	a := b.add("a", &ir.Aggregate{Keys: []ir.Column{col("c0000", ref("c0000"))}, Window: &ir.Window{Kind: ir.Tumble, Size: time.Minute},
		Columns: sums}, aggT, "window_end", m)
	b.add("out", &ir.Sink{Connector: kafka("wide.out", "k:9092")}, aggT, "window_end", a)
	return b.p
}

// BenchmarkColumnLineage1000: the column lineage (and the rest of the
// static events) of a 1,000-column pipeline. Goal: < 50 ms per op.
func BenchmarkColumnLineage1000(b *testing.B) {
	p := widePipeline(1000)
	prog := &ir.Program{Pipelines: []*ir.Pipeline{p}}
	opts := &backends.Options{}
	b.ReportAllocs()
	for b.Loop() {
		Build(prog, p, opts)
	}
}

// BenchmarkGenerate1000 adds JSON encoding of the artifacts.
func BenchmarkGenerate1000(b *testing.B) {
	p := widePipeline(1000)
	prog := &ir.Program{Pipelines: []*ir.Pipeline{p}}
	g := &backends.Gen{Program: prog, Pipelines: prog.Pipelines, Options: &backends.Options{}}
	b.ReportAllocs()
	for b.Loop() {
		Backend.Generate(g)
	}
}

func TestWidePipelineLineage(t *testing.T) {
	st, _ := Build(&ir.Program{}, widePipeline(1000), &backends.Options{})
	cl := st.Job.Outputs[0].Facets.ColumnLineage
	if len(cl.Fields) != 1002 { // window_start, window_end, 1000 columns
		t.Fatalf("%d columns", len(cl.Fields))
	}
	got := colDeps(&st.Job, "wide.out", "c0500")
	want := map[string]string{"wide.in.c0500": "DIRECT/AGGREGATION", "wide.in.c0501": "DIRECT/AGGREGATION"}
	if !equalMaps(got, want) {
		t.Fatalf("c0500: %v", got)
	}
}
