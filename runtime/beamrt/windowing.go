package beamrt

import (
	"encoding/gob"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	gob.Register(&ir.Windowing{})
	register.DoFn3x1[beam.EventTime, Rec, func(beam.EventTime, Rec), error](&windowingFn{})
}

// windowingFn emits each row once per window containing its event time,
// with window_start and window_end appended. Stateless: a row's windows
// depend on its own time only (tumble, hop, cumulate), so rows stay in the
// global window with their own timestamps and nothing waits for the
// watermark.
type windowingFn struct {
	NodeRef
	w *ir.Window
	c *nodeCounters
}

func (fn *windowingFn) Setup() error {
	_, n, err := fn.resolve()
	if err != nil {
		return err
	}
	op, ok := n.Op.(*ir.Windowing)
	if !ok || op.Window == nil {
		return fmt.Errorf("windowing %q: no window", n.Name)
	}
	switch w := op.Window; {
	case w.Kind == ir.Tumble && w.Size > 0,
		w.Kind == ir.Hop && w.Size > 0 && w.Slide > 0,
		w.Kind == ir.Cumulate && w.Step > 0 && w.Size > 0:
	default:
		return fmt.Errorf("windowing %q: window %s cannot be assigned row by row", n.Name, w.Kind)
	}
	fn.w = op.Window
	fn.c = Counters(n.Name)
	return nil
}

func (fn *windowingFn) ProcessElement(ts beam.EventTime, rec Rec, emit func(beam.EventTime, Rec)) error {
	fn.c.in.Add(1)
	for _, w := range AssignWindows(fn.w, int64(ts)) {
		out := make(row.Row, len(rec.Row), len(rec.Row)+2)
		copy(out, rec.Row)
		out = append(out, time.UnixMilli(w[0]).UTC(), time.UnixMilli(w[1]).UTC())
		fn.c.out.Add(1)
		emit(ts, Rec{Row: out, WM: rec.WM})
	}
	return nil
}

// AssignWindows returns the [start, end) bounds (unix ms) of the windows
// of w containing ts, by ascending start then end: the one tumble window;
// the size/slide hop windows (the last one partial when size is not a
// multiple of slide); the cumulate windows of ts's period that end after
// ts. Windows are aligned to the epoch plus w.Offset. Session windows have
// no row-by-row assignment: nil.
func AssignWindows(w *ir.Window, ts int64) [][2]int64 {
	off := w.Offset.Milliseconds()
	switch w.Kind {
	case ir.Tumble:
		size := w.Size.Milliseconds()
		if size <= 0 {
			return nil
		}
		start := floorDiv(ts-off, size)*size + off
		return [][2]int64{{start, start + size}}
	case ir.Hop:
		size, slide := w.Size.Milliseconds(), w.Slide.Milliseconds()
		if size <= 0 || slide <= 0 {
			return nil
		}
		last := floorDiv(ts-off, slide)*slide + off
		var out [][2]int64
		first := last - floorDiv(size-1, slide)*slide
		for start := first; start <= last; start += slide {
			if ts < start+size {
				out = append(out, [2]int64{start, start + size})
			}
		}
		return out
	case ir.Cumulate:
		size, step := w.Size.Milliseconds(), w.Step.Milliseconds()
		if size <= 0 || step <= 0 {
			return nil
		}
		start := floorDiv(ts-off, size)*size + off
		var out [][2]int64
		for end := floorDiv(ts-start, step)*step + step + start; end <= start+size; end += step {
			out = append(out, [2]int64{start, end})
		}
		return out
	}
	return nil
}

// Windowing applies a Windowing node.
func Windowing(s beam.Scope, ref NodeRef, in beam.PCollection) beam.PCollection {
	return beam.ParDo(s, &windowingFn{NodeRef: ref}, in)
}
