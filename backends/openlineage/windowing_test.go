package openlineage

import (
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
)

// A windowing passes every column through and derives the window bounds
// from the event time (a transformation of one row's time, not an
// aggregation), windowing the dataset on it.
func TestWindowingLineage(t *testing.T) {
	b := newPipeline("bars", ir.Streaming, "beam")
	trades := b.add("trades", &ir.Source{Connector: kafka("md.trades", "kafka-0:9092"), Schema: tradeT, EventTime: "ts"}, tradeT, "ts")
	outT := fields("symbol", str, "venue", str, "price", dec, "size", i64, "ts", ts3, ir.WindowStart, ts3, ir.WindowEnd, ts3)
	w := b.add("w", &ir.Windowing{Window: &ir.Window{Kind: ir.Hop, Size: 10 * time.Minute, Slide: 5 * time.Minute}}, outT, "ts", trades)
	b.add("out", &ir.Sink{Connector: kafka("md.bars", "kafka-0:9092")}, outT, "", w)
	ev := lineageOf(t, b.p)
	for _, c := range []struct {
		col  string
		want map[string]string
	}{
		{"price", map[string]string{"md.trades.price": "DIRECT/IDENTITY"}},
		{"window_start", map[string]string{"md.trades.ts": "DIRECT/TRANSFORMATION"}},
		{"window_end", map[string]string{"md.trades.ts": "DIRECT/TRANSFORMATION"}},
		{"*", map[string]string{"md.trades.ts": "INDIRECT/WINDOW"}},
	} {
		if got := colDeps(ev, "md.bars", c.col); !equalMaps(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.col, got, c.want)
		}
	}
}
