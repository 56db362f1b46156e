package flink

import (
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

var tvfBid = rec(f("bidtime", tTS), f("price", tDec(10, 2)), f("item", tStr))

// windowingPipeline is Bid → windowing → (after) → sink.
func windowingPipeline(w *ir.Window, after func(b *builder, in ir.NodeID) ir.NodeID) *ir.Pipeline {
	b := newPipeline("tvf")
	src := b.add("Bid", kafkaSource("bids", tvfBid, "bidtime", time.Second), tvfBid, "bidtime")
	out := rec(append(append([]rtype.Field{}, tvfBid.Fields...), f(ir.WindowStart, tTS), f(ir.WindowEnd, tTS))...)
	id := b.add("windows", &ir.Windowing{Window: w}, out, "bidtime", src)
	b.node(id).Pos = diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 7, Column: 3}}
	if after != nil {
		id = after(b, id)
	}
	b.add("out", kafkaSink("out"), b.node(id).Out, "", id)
	return b.pl
}

// The TUMBLE and HOP windowing-TVF cases: the same table function with the
// same arguments as the documented SELECT * FROM TABLE(...), all input
// columns plus the window bounds.
func TestConformanceWindowingTVF(t *testing.T) {
	for _, c := range []struct {
		name string
		w    *ir.Window
	}{
		{"flink-tumble-tvf-assign", &ir.Window{Kind: ir.Tumble, Size: 10 * time.Minute}},
		{"flink-hop-tvf-assign", &ir.Window{Kind: ir.Hop, Size: 10 * time.Minute, Slide: 5 * time.Minute}},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := docStatement(t, caseQuery(t, c.name), 0)
			got := viewOf(t, genSQL(t, windowingPipeline(c.w, nil)), "windows")
			dt, gt := findTVFs(doc), findTVFs(got)
			if len(dt) != 1 || len(gt) != 1 {
				t.Fatalf("TVFs: doc %v, got %v", dt, gt)
			}
			same(t, "window TVF", gt[0], dt[0])
			text := strings.ToLower(render1(got))
			if !strings.Contains(text, "select bidtime , price , item , window_start , window_end from table (") || strings.Contains(text, "group") {
				t.Errorf("want the input columns and the window bounds, no grouping: %s", text)
			}
		})
	}
}

func render1(ts []tok) string {
	var parts []string
	for _, x := range ts {
		parts = append(parts, x.text)
	}
	return strings.Join(parts, " ")
}

// Flink's window functions turn the input's time attribute into a plain
// column: a windowing that feeds an event-time operator is rejected at the
// windowing node; a filter or map in between changes nothing.
func TestWindowingFeedingEventTimeIsRejected(t *testing.T) {
	pl := windowingPipeline(&ir.Window{Kind: ir.Cumulate, Size: 10 * time.Minute, Step: 2 * time.Minute}, func(b *builder, in ir.NodeID) ir.NodeID {
		t := b.node(in).Out
		flt := b.add("cheap", &ir.Filter{Where: &ir.Expr{Kind: ir.Lit, Type: rtype.BoolType, Value: true}}, t, "bidtime", in)
		return b.add("dedup", &ir.Dedupe{Keys: keyCols(t, "item"), OrderBy: "bidtime"}, t, "bidtime", flt)
	})
	ds := Backend.Check(pl, nil)
	var got []string
	for _, d := range ds.Sort() {
		if d.Severity == diag.Error {
			at := "?"
			if d.Subject != nil {
				at = d.Subject.String()
			}
			got = append(got, at+" "+d.Code.String()+" "+d.Detail)
		}
	}
	at := 0
	for _, g := range got {
		if strings.HasPrefix(g, "p.cue:7:3 ") && strings.Contains(g, "needs event time") {
			at++
		}
	}
	if at != 1 {
		t.Errorf("got %v, want one error at the windowing, p.cue:7:3", got)
	}
	pl = windowingPipeline(&ir.Window{Kind: ir.Cumulate, Size: 10 * time.Minute, Step: 2 * time.Minute}, nil)
	if ds := Backend.Check(pl, nil); ds.HasErrors() {
		t.Errorf("cumulate windowing into a sink: %v", ds)
	}
	if sql := genSQL(t, pl); !strings.Contains(sql, "CUMULATE(TABLE `Bid`, DESCRIPTOR(`bidtime`), INTERVAL '2' MINUTE, INTERVAL '10' MINUTE)") {
		t.Errorf("no CUMULATE TVF in:\n%s", sql)
	}
}
