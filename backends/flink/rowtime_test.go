package flink

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// microPipeline reads ticks whose event time is timestamp(6), filters them,
// aggregates them into 1-minute windows and writes the windows; a field
// named like the hidden column forces a fresh name.
func microPipeline() *ir.Pipeline {
	schema := rec(f("symbol", tStr), f("price", tF64), f("ts", rtype.TimestampOf(6)), f("ts_rowtime", tStr))
	b := newPipeline("micro")
	src := b.add("ticks", kafkaSource("ticks", schema, "ts", 2*time.Second), schema, "ts")
	flt := b.add("pos", &ir.Filter{Where: call(ir.FnGt, tB, ref("price", tF64), litE(0.0, tF64))}, schema, "ts", src)
	out := windowed(f("symbol", tStr), f("n", tI64))
	agg := b.add("bars", &ir.Aggregate{Keys: keyCols(schema, "symbol"), Window: &ir.Window{Kind: ir.Tumble, Size: time.Minute},
		Columns: []ir.Column{col("n", call(ir.FnCount, tI64))}}, out, ir.WindowEnd, flt)
	b.add("out", kafkaSink("bars"), out, "", agg)
	return b.pl
}

func TestMicrosecondEventTimeUsesHiddenRowtime(t *testing.T) {
	sql := genSQL(t, microPipeline())
	for _, want := range []string{
		"`ts` TIMESTAMP(6)",
		"`ts_rowtime2` AS CAST(`ts` AS TIMESTAMP(3))",
		"WATERMARK FOR `ts_rowtime2` AS `ts_rowtime2` - INTERVAL '2' SECOND",
		"DESCRIPTOR(`ts_rowtime2`)",
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("script lacks %q:\n%s", want, sql)
		}
	}
	// The filter carries the hidden column to the window; the sink writes
	// only its own columns.
	if pos := fmt.Sprint(viewOf(t, sql, "pos")); !strings.Contains(pos, "ts_rowtime2") {
		t.Errorf("filter drops the hidden time column: %s", pos)
	}
	ins := sql[strings.Index(sql, "INSERT INTO"):]
	if strings.Contains(ins, "rowtime2") {
		t.Errorf("the sink writes the hidden time column:\n%s", ins)
	}
}

func TestUnionOfMixedPrecisionsIsRefused(t *testing.T) {
	micro := rec(f("symbol", tStr), f("ts", rtype.TimestampOf(6)))
	milli := rec(f("symbol", tStr), f("ts", tTS))
	b := newPipeline("mixed")
	a := b.add("a", kafkaSource("a", micro, "ts", time.Second), micro, "ts")
	c := b.add("c", kafkaSource("c", milli, "ts", time.Second), milli, "ts")
	u := b.add("u", &ir.Union{}, milli, "ts", a, c)
	b.add("out", kafkaSink("out"), milli, "", u)
	sc := newScript(b.pl, nil)
	sc.build()
	if !hasCode(sc.diags, diag.UnsupportedOperator) {
		t.Fatalf("a union of timestamp(6) and timestamp(3) event times is not refused: %v", sc.diags)
	}
}
