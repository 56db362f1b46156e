package compiler

import (
	"fmt"
	"testing"

	"rtsap.dev/rtsapc/lang/spec"
)

// genSpec builds a pipeline of n nodes: one source, then repeating
// filter → map → windowed aggregate → map branches off a shared trunk of
// filters, each aggregate feeding a sink, so that every kind of work the
// compiler does (resolution, CEL, windows, pruning, fusion) scales with n.
func genSpec(n int) *spec.File {
	p := &pos{}
	trade := &spec.Record{Fields: []*spec.Field{
		{Name: "symbol", Type: p.s("string")}, {Name: "venue", Type: p.s("string")},
		{Name: "price", Type: p.s("decimal(18,6)")}, {Name: "size", Type: p.s("int64")},
		{Name: "ts", Type: p.s("timestamp(3)")}, {Name: "cond", Optional: true, Type: p.s("string")},
	}}
	nodes := []*spec.Node{{Name: p.s("trades"), Role: spec.SourceRole, Kind: p.s("source"), Range: p.r(), Source: &spec.Source{
		Connector: spec.Connector{Kind: p.s("kafka")}, Schema: trade,
		EventTime: &spec.EventTime{Field: p.s("ts"), MaxOutOfOrderness: p.s("5s")}}}}
	trunk := "trades"
	for i := 0; len(nodes) < n; i++ {
		f := fmt.Sprintf("f%d", i)
		nodes = append(nodes, &spec.Node{Name: p.s(f), Role: spec.TransformRole, Kind: p.s("filter"), From: []spec.String{p.s(trunk)}, Range: p.r(),
			Filter: &spec.Filter{Where: p.e(fmt.Sprintf("size > %d && venue != 'V%d' && price > 0.5", i, i))}})
		trunk = f
		m := fmt.Sprintf("m%d", i)
		nodes = append(nodes, &spec.Node{Name: p.s(m), Role: spec.TransformRole, Kind: p.s("map"), From: []spec.String{p.s(f)}, Range: p.r(),
			Map: &spec.Map{Keep: true, Select: []spec.Named{p.named("notional", "price * size"), p.named("sym", "lower(symbol)")}}})
		a := fmt.Sprintf("a%d", i)
		nodes = append(nodes, &spec.Node{Name: p.s(a), Role: spec.TransformRole, Kind: p.s("aggregate"), From: []spec.String{p.s(m)}, Range: p.r(),
			Aggregate: &spec.Aggregate{By: []spec.String{p.s("sym")}, Window: &spec.Window{Kind: p.s("hop"), Size: p.s("5m"), Slide: p.s("1m")},
				Select: []spec.Named{p.named("vwap", "sum(notional) / sum(size)"), p.named("n", "count()"), p.named("hi", "max(price)")}}})
		s := fmt.Sprintf("s%d", i)
		nodes = append(nodes, &spec.Node{Name: p.s(s), Role: spec.SinkRole, Kind: p.s("sink"), From: []spec.String{p.s(a)}, Range: p.r(),
			Sink: &spec.Sink{Connector: spec.Connector{Kind: p.s("stdout")}}})
	}
	return &spec.File{Pipelines: []*spec.Pipeline{{Name: p.s("big"), Engine: p.s("beam"), Range: p.r(), Nodes: nodes}}}
}

func TestGenerated(t *testing.T) {
	prog, ds := Compile(genSpec(200), &Config{Check: true})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	if got := len(prog.Pipelines[0].Nodes); got < 200 {
		t.Fatalf("%d nodes", got)
	}
}

// BenchmarkCompile1000 compiles a generated 1,000-node pipeline (about 750
// CEL expressions), with and without the verifier after every pass.
func BenchmarkCompile1000(b *testing.B) {
	f := genSpec(1000)
	for _, check := range []bool{false, true} {
		b.Run(fmt.Sprintf("check=%v", check), func(b *testing.B) {
			for b.Loop() {
				_, ds := Compile(f, &Config{Check: check})
				if ds.HasErrors() {
					b.Fatal(ds)
				}
			}
		})
	}
}
