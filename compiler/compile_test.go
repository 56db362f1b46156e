package compiler

import (
	"strings"
	"testing"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// pos hands out distinct fake positions so diagnostics can be matched.
type pos struct{ line int }

func (p *pos) r() diag.Range {
	p.line++
	return diag.Range{Filename: "p.cue", Start: diag.Pos{Line: p.line, Column: 5}, End: diag.Pos{Line: p.line, Column: 9}}
}

func (p *pos) s(v string) spec.String { return spec.String{Value: v, Range: p.r()} }
func (p *pos) e(v string) spec.Expr   { return spec.Expr{Text: v, Range: p.r(), QuoteLen: 1} }
func (p *pos) named(name, e string) spec.Named {
	r := p.r()
	return spec.Named{Name: name, NameRange: r, Expr: spec.Expr{Text: e, QuoteLen: 1, Range: diag.Range{Filename: r.Filename, Start: diag.Pos{Line: r.Start.Line, Column: 20}}}}
}

func vwapSpec() *spec.File {
	p := &pos{}
	trade := &spec.Record{Name: "#Trade", Fields: []*spec.Field{
		{Name: "symbol", Type: p.s("string"), Range: p.r()},
		{Name: "venue", Type: p.s("string"), Range: p.r()},
		{Name: "price", Type: p.s("decimal(18,6)"), Range: p.r()},
		{Name: "size", Type: p.s("int64"), Range: p.r()},
		{Name: "ts", Type: p.s("timestamp(3)"), Range: p.r()},
		{Name: "cond", Optional: true, Type: p.s("string"), Range: p.r()},
	}}
	return &spec.File{Pipelines: []*spec.Pipeline{{
		Name: p.s("equities-vwap"), Mode: p.s("streaming"), Engine: p.s("flink"), Owner: p.s("market-data"), Range: p.r(),
		Nodes: []*spec.Node{
			{Name: p.s("trades"), Role: spec.SourceRole, Kind: p.s("source"), Range: p.r(), Source: &spec.Source{
				Connector: spec.Connector{Kind: p.s("kafka"), Format: p.s("json"), Options: []spec.Option{{Key: "topic", Value: "md.trades"}}},
				Schema:    trade,
				EventTime: &spec.EventTime{Field: p.s("ts"), MaxOutOfOrderness: p.s("5s")},
				OnError:   spec.OnError{Policy: p.s("deadletter"), DeadLetter: p.s("bad_trades")},
			}},
			{Name: p.s("lit"), Role: spec.TransformRole, Kind: p.s("filter"), From: []spec.String{p.s("trades")}, Range: p.r(),
				Filter: &spec.Filter{Where: p.e("venue != 'DARK' && size > 0")}},
			{Name: p.s("bars"), Role: spec.TransformRole, Kind: p.s("aggregate"), From: []spec.String{p.s("lit")}, Range: p.r(),
				Aggregate: &spec.Aggregate{By: []spec.String{p.s("symbol")},
					Window: &spec.Window{Kind: p.s("hop"), Size: p.s("5m"), Slide: p.s("1m"), Range: p.r()},
					Select: []spec.Named{p.named("vwap", "sum(price * size) / sum(size)"), p.named("volume", "sum(size)")}}},
			{Name: p.s("store"), Role: spec.SinkRole, Kind: p.s("sink"), From: []spec.String{p.s("bars")}, Range: p.r(),
				Sink: &spec.Sink{Connector: spec.Connector{Kind: p.s("timescale"), Options: []spec.Option{{Key: "table", Value: "analytics.vwap_5m"},
					{Key: "password", Value: &spec.Secret{Name: p.s("timescale"), Key: p.s("password")}}}},
					Key: []spec.String{p.s("symbol"), p.s("window_start")}}},
			{Name: p.s("dlq"), Role: spec.SinkRole, Kind: p.s("sink"), From: []spec.String{p.s("bad_trades")}, Range: p.r(),
				Sink: &spec.Sink{Connector: spec.Connector{Kind: p.s("kafka"), Options: []spec.Option{{Key: "topic", Value: "md.dlq"}}}}},
		},
	}}}
}

func TestCompileVWAP(t *testing.T) {
	prog, ds := Compile(vwapSpec(), &Config{Check: true})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	t.Log("\n" + ir.Sprint(prog))
	bars := prog.Pipelines[0].Lookup("bars")
	if got := bars.Out.String(); got != "record<window_start: timestamp(3), window_end: timestamp(3), symbol: string, vwap?: decimal(38,6), volume: int64>" {
		t.Errorf("bars out %s", got)
	}
}

func TestAfterHook(t *testing.T) {
	var seen []string
	_, ds := Compile(vwapSpec(), &Config{Check: true, Disable: []string{"prune columns"}, After: func(pass string, p *ir.Pipeline) {
		seen = append(seen, pass)
		if err := ir.VerifyPipeline(p, pass != "resolve"); err != nil {
			t.Errorf("after %s: %v", pass, err)
		}
	}})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	want := "resolve infer check push filters fuse filters fuse maps slice windows"
	if got := strings.Join(seen, " "); got != want {
		t.Fatalf("passes run: %q, want %q", got, want)
	}
}
