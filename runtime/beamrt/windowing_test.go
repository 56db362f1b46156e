package beamrt

import (
	"fmt"
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
)

func TestAssignWindows(t *testing.T) {
	m := func(d time.Duration) int64 { return d.Milliseconds() }
	for _, c := range []struct {
		w    ir.Window
		ts   int64
		want string
	}{
		{ir.Window{Kind: ir.Tumble, Size: 10 * time.Minute}, m(9*time.Minute + 59*time.Second), "[[0 600000]]"},
		{ir.Window{Kind: ir.Tumble, Size: 10 * time.Minute}, m(10 * time.Minute), "[[600000 1200000]]"},
		{ir.Window{Kind: ir.Tumble, Size: 10 * time.Second}, -1, "[[-10000 0]]"},
		{ir.Window{Kind: ir.Tumble, Size: 10 * time.Second, Offset: 3 * time.Second}, 2000, "[[-7000 3000]]"},
		{ir.Window{Kind: ir.Hop, Size: 10 * time.Second, Slide: 5 * time.Second}, 7000, "[[0 10000] [5000 15000]]"},
		{ir.Window{Kind: ir.Hop, Size: 10 * time.Second, Slide: 5 * time.Second}, 5000, "[[0 10000] [5000 15000]]"},
		{ir.Window{Kind: ir.Hop, Size: 10 * time.Second, Slide: 5 * time.Second}, 10000, "[[5000 15000] [10000 20000]]"},
		// size not a multiple of the slide: 2 or 3 windows by position.
		{ir.Window{Kind: ir.Hop, Size: 10 * time.Second, Slide: 4 * time.Second}, 9000, "[[0 10000] [4000 14000] [8000 18000]]"},
		{ir.Window{Kind: ir.Hop, Size: 10 * time.Second, Slide: 4 * time.Second}, 11000, "[[4000 14000] [8000 18000]]"},
		{ir.Window{Kind: ir.Cumulate, Size: 10 * time.Second, Step: 2 * time.Second}, 5000, "[[0 6000] [0 8000] [0 10000]]"},
		{ir.Window{Kind: ir.Cumulate, Size: 10 * time.Second, Step: 2 * time.Second}, 9999, "[[0 10000]]"},
		{ir.Window{Kind: ir.Cumulate, Size: 10 * time.Second, Step: 2 * time.Second}, 10000, "[[10000 12000] [10000 14000] [10000 16000] [10000 18000] [10000 20000]]"},
		{ir.Window{Kind: ir.Session, Gap: time.Second}, 0, "[]"},
		{ir.Window{Kind: ir.Tumble}, 0, "[]"},
	} {
		if got := fmt.Sprint(AssignWindows(&c.w, c.ts)); got != c.want {
			t.Errorf("%+v at %d: got %s, want %s", c.w, c.ts, got, c.want)
		}
	}
}
