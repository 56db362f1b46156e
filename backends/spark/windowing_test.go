package spark

import (
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

var tvfBid = rec(f("bidtime", tTS), f("price", tDec(10, 2)), f("item", tStr))

func windowingPipeline(w *ir.Window) *ir.Pipeline {
	b := newPipeline("tvf")
	src := b.add("Bid", kafkaSource("bids", tvfBid, "bidtime", time.Second), tvfBid, "bidtime")
	out := rec(append(append([]rtype.Field{}, tvfBid.Fields...), f(ir.WindowStart, tTS), f(ir.WindowEnd, tTS))...)
	id := b.add("windows", &ir.Windowing{Window: w}, out, "bidtime", src)
	b.node(id).Pos = diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 7, Column: 3}}
	b.add("out", kafkaSink("out"), out, "", id)
	return b.pl
}

// A windowing selects F.window over the event time without grouping
// (Spark expands a row into one row per hop window) and keeps every input
// column; cumulate windows, which Spark lacks, are rejected at the node.
func TestWindowing(t *testing.T) {
	for _, c := range []struct {
		w    *ir.Window
		want string
	}{
		{&ir.Window{Kind: ir.Tumble, Size: 10 * time.Minute}, "F.window(F.col(\"`bidtime`\"), \"10 minutes\", \"10 minutes\")"},
		{&ir.Window{Kind: ir.Hop, Size: 10 * time.Minute, Slide: 5 * time.Minute}, "F.window(F.col(\"`bidtime`\"), \"10 minutes\", \"5 minutes\")"},
	} {
		pl := windowingPipeline(c.w)
		if ds := Backend.Check(pl, nil); ds.HasErrors() {
			t.Fatalf("%s: %v", c.w.Kind, ds)
		}
		py := newProgram(pl, &backends.Options{}).build()
		for _, s := range []string{c.want, ".alias(\"window_start\")", ".alias(\"window_end\")", "F.col(\"`bidtime`\").alias(\"bidtime\")", "F.col(\"`price`\").alias(\"price\")", "F.col(\"`item`\").alias(\"item\")"} {
			if !strings.Contains(py, s) {
				t.Errorf("%s: no %s in:\n%s", c.w.Kind, s, py)
			}
		}
		if strings.Contains(py, "groupBy") {
			t.Errorf("%s: windowing groups:\n%s", c.w.Kind, py)
		}
		set := &artifact.Set{}
		set.Add(&artifact.File{Path: "tvf.py", Kind: artifact.Python, Data: []byte(py)})
		pyCompile(t, set)
	}
	ds := Backend.Check(windowingPipeline(&ir.Window{Kind: ir.Cumulate, Size: 10 * time.Minute, Step: 2 * time.Minute}), nil)
	var got []string
	for _, d := range ds.Sort() {
		if d.Severity == diag.Error && d.Subject != nil {
			got = append(got, d.Subject.String()+" "+d.Code.String())
		}
	}
	if strings.Join(got, ",") != "p.cue:7:3 RTS4000" {
		t.Errorf("cumulate: got %v, want one error at p.cue:7:3", got)
	}
}
