package beamrt_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/beamrt"
)

// TestRollingRange: sum(size) over the preceding 3 s per symbol.
func TestRollingRange(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	c, cl := startKafka(t, "md.trades")
	base := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC).UnixMilli()
	var vals [][]byte
	want := map[string]int64{}
	type tr struct {
		sym  string
		ts   int64
		size int64
	}
	var all []tr
	for i := 0; i < 20; i++ {
		x := tr{[]string{"A", "B"}[i%2], base + int64(i)*1000, int64(i + 1)}
		all = append(all, x)
		vals = append(vals, fmt.Appendf(nil, `{"symbol":%q,"venue":"X","price":"1","size":%d,"ts":%d}`, x.sym, x.size, x.ts))
	}
	for _, x := range all {
		var s int64
		for _, y := range all {
			if y.sym == x.sym && y.ts <= x.ts && y.ts >= x.ts-3000 {
				s += y.size
			}
		}
		want[fmt.Sprintf("%s|%d", x.sym, x.ts)] = s
	}
	produce(t, cl, "md.trades", vals)
	out := rtype.RecordOf(append(append([]rtype.Field{}, tradeT.Fields...), rtype.Field{Name: "s3", Type: rtype.Int64Type, Nullable: true})...)
	pl := &ir.Pipeline{Name: "roll", Nodes: []*ir.Node{
		{ID: 1, Name: "trades", Out: tradeT, Op: &ir.Source{Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{{Key: "topic", Value: "md.trades"}}},
			Schema: tradeT, EventTime: "ts", MaxOutOfOrderness: time.Second}},
		{ID: 2, Name: "r", Inputs: []ir.NodeID{1}, Out: out, Op: &ir.Rolling{Keys: []ir.Column{{Name: "symbol", Expr: ref("symbol", rtype.StringType)}},
			OrderBy: "ts", Range: 3 * time.Second, Columns: []ir.Column{{Name: "s3", Expr: call(ir.FnSum, rtype.Int64Type, ref("size", rtype.Int64Type))}}}},
		{ID: 3, Name: "out", Inputs: []ir.NodeID{2}, Out: out, Op: &ir.Sink{Connector: ir.Connector{Kind: "file"}}},
	}}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := beamrt.Run(ctx, pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	rows := readJSONL(t, filepath.Join(dir, "out.jsonl"))
	if len(rows) != len(all) {
		t.Errorf("%d rows, want %d", len(rows), len(all))
	}
	for _, r := range rows {
		ts, _ := time.Parse(time.RFC3339, r["ts"].(string))
		k := fmt.Sprintf("%s|%d", r["symbol"], ts.UnixMilli())
		if got := fmt.Sprint(r["s3"]); got != fmt.Sprint(want[k]) {
			t.Errorf("%s: s3 %s, want %d", k, got, want[k])
		}
	}
}

// TestDedupeFirst: the first trade per symbol by event time, although
// they arrive out of order.
func TestDedupeFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	c, cl := startKafka(t, "md.trades")
	base := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC).UnixMilli()
	var vals [][]byte
	first := map[string]int64{}
	for i := 0; i < 30; i++ {
		sym := []string{"A", "B", "C"}[i%3]
		ts := base + int64(i)*700 - int64(i%4)*600 // out of order within 2s
		vals = append(vals, fmt.Appendf(nil, `{"symbol":%q,"venue":"X","price":"1","size":%d,"ts":%d}`, sym, i, ts))
		if f, ok := first[sym]; !ok || ts < f {
			first[sym] = ts
		}
	}
	produce(t, cl, "md.trades", vals)
	pl := &ir.Pipeline{Name: "dd", Nodes: []*ir.Node{
		{ID: 1, Name: "trades", Out: tradeT, Op: &ir.Source{Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{{Key: "topic", Value: "md.trades"}}},
			Schema: tradeT, EventTime: "ts", MaxOutOfOrderness: 3 * time.Second}},
		{ID: 2, Name: "d", Inputs: []ir.NodeID{1}, Out: tradeT, Op: &ir.Dedupe{Keys: []ir.Column{{Name: "symbol", Expr: ref("symbol", rtype.StringType)}}, OrderBy: "ts"}},
		{ID: 3, Name: "out", Inputs: []ir.NodeID{2}, Out: tradeT, Op: &ir.Sink{Connector: ir.Connector{Kind: "file"}}},
	}}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := beamrt.Run(ctx, pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	rows := readJSONL(t, filepath.Join(dir, "out.jsonl"))
	if len(rows) != 3 {
		t.Errorf("%d rows, want 3", len(rows))
	}
	for _, r := range rows {
		ts, _ := time.Parse(time.RFC3339, r["ts"].(string))
		if want := first[r["symbol"].(string)]; ts.UnixMilli() != want {
			t.Errorf("%s: kept %d, want %d", r["symbol"], ts.UnixMilli(), want)
		}
	}
}
