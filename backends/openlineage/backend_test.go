package openlineage

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/diag"
)

var testOpts = &backends.Options{Version: "v0.1.0-test",
	Now: func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) }}

func handBuilt() *ir.Program {
	return &ir.Program{Pipelines: []*ir.Pipeline{everyOpPipeline(), vwapPipeline()}, SpecDigest: "0123abcd"}
}

// TestHandBuiltGolden generates the artifacts of hand-built pipelines,
// validates every event against the official schemas and compares the
// column lineage with reviewed goldens.
func TestHandBuiltGolden(t *testing.T) {
	v := oltest.New(t)
	prog := handBuilt()
	set, ds := Backend.Generate(&backends.Gen{Program: prog, Pipelines: prog.Pipelines, Options: testOpts})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if err := set.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, f := range set.Files {
		if err := v.Validate(f.Data); err != nil {
			t.Errorf("%s: %v", f.Path, err)
		}
	}
	for _, p := range prog.Pipelines {
		f := set.Get(p.Name + "/openlineage/job.json")
		if f == nil {
			t.Fatalf("no job.json for %s", p.Name)
		}
		var ev ol.JobEvent
		if err := json.Unmarshal(f.Data, &ev); err != nil {
			t.Fatal(err)
		}
		golden.File(t, filepath.Join("testdata", "handbuilt", p.Name+".lineage"), Text(&ev))
		golden.File(t, filepath.Join("testdata", "handbuilt", p.Name+".job.json"), f.Data)
	}
	var paths []string
	for _, f := range set.Files {
		paths = append(paths, f.Path)
	}
	golden.File(t, filepath.Join("testdata", "handbuilt", "files"), []byte(strings.Join(paths, "\n")+"\n"))
}

// lineageOf returns output → column → "field:TYPE/SUB,…" lines.
func lineageOf(t *testing.T, p *ir.Pipeline) *ol.JobEvent {
	t.Helper()
	st, _ := Build(&ir.Program{Pipelines: []*ir.Pipeline{p}}, p, testOpts)
	return &st.Job
}

func colDeps(ev *ol.JobEvent, output, column string) map[string]string {
	out := map[string]string{}
	for _, o := range ev.Outputs {
		if o.Name != output {
			continue
		}
		fs := o.Facets.ColumnLineage.Dataset
		if column != "*" {
			fs = o.Facets.ColumnLineage.Fields[column].InputFields
		}
		for _, f := range fs {
			out[f.Name+"."+f.Field] = transforms(f.Transformations)
		}
	}
	return out
}

func TestVWAPLineage(t *testing.T) {
	ev := lineageOf(t, vwapPipeline())
	want := map[string]map[string]string{
		"vwap":         {"md.trades.price": "DIRECT/AGGREGATION", "md.trades.size": "DIRECT/AGGREGATION"},
		"volume":       {"md.trades.size": "DIRECT/AGGREGATION"},
		"symbol":       {"md.trades.symbol": "DIRECT/IDENTITY"},
		"window_start": {"md.trades.ts": "DIRECT/TRANSFORMATION"},
		"trades":       {},
		"*": {"md.trades.venue": "INDIRECT/FILTER", "md.trades.size": "INDIRECT/FILTER",
			"md.trades.symbol": "INDIRECT/GROUP_BY", "md.trades.ts": "INDIRECT/WINDOW"},
	}
	for c, w := range want {
		got := colDeps(ev, "markets.analytics.vwap_5m", c)
		if !equalMaps(got, w) {
			t.Errorf("%s: got %v, want %v", c, got, w)
		}
	}
	if ev.Inputs[0].Namespace != "kafka://kafka-0:9092" || ev.Outputs[0].Namespace != "postgres://tsdb:5432" {
		t.Errorf("namespaces: %s %s", ev.Inputs[0].Namespace, ev.Outputs[0].Namespace)
	}
	if s := ev.Inputs[0].Facets.Symlinks; s == nil || s.Identifiers[0].Namespace != "kafka://kafka-1:9092" {
		t.Errorf("symlinks: %+v", s)
	}
}

func TestUnresolvedWarning(t *testing.T) {
	p := everyOpPipeline()
	_, ds := Build(&ir.Program{}, p, testOpts)
	if len(ds) != 1 || ds[0].Code != diag.UnresolvedDatasetName || ds[0].Severity != diag.Warning ||
		!strings.Contains(ds[0].Detail, `"out_spikes"`) {
		t.Errorf("want one UnresolvedDatasetName warning at out_spikes, got %v", ds)
	}
	if _, ds := Build(&ir.Program{}, vwapPipeline(), testOpts); len(ds) != 0 {
		t.Errorf("vwap: %v", ds)
	}
}

func TestEveryOpLineage(t *testing.T) {
	ev := lineageOf(t, everyOpPipeline())
	cases := []struct {
		out, col string
		want     map[string]string
	}{
		// pattern: A.price as is, max over B, count masks
		{"alerts.spikes", "start_px", map[string]string{"md.trades.price": "DIRECT/IDENTITY"}},
		{"alerts.spikes", "peak_px", map[string]string{"md.trades.price": "DIRECT/AGGREGATION"}},
		{"alerts.spikes", "moves", map[string]string{"md.trades.price": "DIRECT/AGGREGATION/masked"}},
		{"alerts.spikes", "*", map[string]string{"md.trades.symbol": "INDIRECT/GROUP_BY",
			"md.trades.ts": "INDIRECT/SORT,INDIRECT/WINDOW", "md.trades.price": "INDIRECT/FILTER"}},
		// rank only indirect
		{"out.top", "rank", map[string]string{"reference.ref.instruments.sector": "INDIRECT/GROUP_BY",
			"md.trades.price": "INDIRECT/SORT"}},
		// lookup side and conditional
		{"out.top", "sector", map[string]string{"reference.ref.instruments.sector": "DIRECT/IDENTITY"}},
		{"out.top", "mid", map[string]string{"md.quotes.bid": "DIRECT/TRANSFORMATION", "md.quotes.ask": "DIRECT/TRANSFORMATION"}},
		{"out.top", "avg_px", map[string]string{"md.trades.price": "DIRECT/AGGREGATION,INDIRECT/CONDITIONAL", "md.trades.symbol": "INDIRECT/GROUP_BY",
			"md.trades.ts": "INDIRECT/WINDOW"}},
		{"out.top", "px", map[string]string{"md.trades.price": "DIRECT/TRANSFORMATION,INDIRECT/CONDITIONAL"}},
		// union, session window bounds, having on an aggregate column
		{"venues/", "window_end", map[string]string{"md.trades.ts": "DIRECT/AGGREGATION"}},
		{"venues/", "*", map[string]string{"md.trades.price": "INDIRECT/FILTER", "md.trades.size": "INDIRECT/FILTER",
			"md.trades.venue": "INDIRECT/GROUP_BY", "md.trades.ts": "INDIRECT/WINDOW", "md.trades.symbol": "INDIRECT/FILTER"}},
		{"/tmp/late.jsonl", "price", map[string]string{"md.trades.price": "DIRECT/IDENTITY"}},
		{"/tmp/late.jsonl", "*", map[string]string{"md.trades.price": "INDIRECT/FILTER", "md.trades.size": "INDIRECT/FILTER",
			"md.trades.ts": "INDIRECT/WINDOW"}},
		{"md.both", "size", map[string]string{"md.trades.size": "DIRECT/IDENTITY"}},
		{"dlq.trades", "payload", map[string]string{"md.trades.symbol": "DIRECT/TRANSFORMATION", "md.trades.venue": "DIRECT/TRANSFORMATION",
			"md.trades.price": "DIRECT/TRANSFORMATION", "md.trades.size": "DIRECT/TRANSFORMATION", "md.trades.ts": "DIRECT/TRANSFORMATION"}},
		{"default:quotes", "bid", map[string]string{"md.quotes.bid": "DIRECT/IDENTITY"}},
	}
	for _, c := range cases {
		got := colDeps(ev, c.out, c.col)
		if !equalMaps(got, c.want) {
			t.Errorf("%s.%s: got %v, want %v", c.out, c.col, got, c.want)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
