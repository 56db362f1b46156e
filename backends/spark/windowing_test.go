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

// A windowing selects window() over the event time without grouping
// (Spark expands a row into one row per hop window) and keeps every input
// column; cumulate windows, which Spark lacks, are rejected at the node.
func TestWindowing(t *testing.T) {
	for _, c := range []struct {
		w    *ir.Window
		want string
	}{
		{&ir.Window{Kind: ir.Tumble, Size: 10 * time.Minute}, "window(`bidtime`, '10 minutes', '10 minutes') AS `_window`"},
		{&ir.Window{Kind: ir.Hop, Size: 10 * time.Minute, Slide: 5 * time.Minute}, "window(`bidtime`, '10 minutes', '5 minutes') AS `_window`"},
	} {
		pl := windowingPipeline(c.w)
		if ds := Backend.Check(pl, nil); ds.HasErrors() {
			t.Fatalf("%s: %v", c.w.Kind, ds)
		}
		pr := newProgram(pl, &backends.Options{})
		py := pr.build()
		if len(pr.sql) != 1 {
			t.Fatalf("%s: %d statements", c.w.Kind, len(pr.sql))
		}
		q := pr.sql[0].query
		for _, s := range []string{c.want, "`_window`.`start` AS `window_start`", "`_window`.`end` AS `window_end`", "SELECT\n  `bidtime`,\n  `price`,\n  `item`,\n"} {
			if !strings.Contains(q, s) {
				t.Errorf("%s: no %s in:\n%s", c.w.Kind, s, q)
			}
		}
		if strings.Contains(q, "GROUP BY") {
			t.Errorf("%s: windowing groups:\n%s", c.w.Kind, q)
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
