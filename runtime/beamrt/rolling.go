package beamrt

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	register.DoFn3x0[beam.EventTime, Rec, func(string, Rec)](&rollingKeyFn{})
	register.DoFn6x1[beam.EventTime, state.Provider, timers.Provider, string, Rec, func(beam.EventTime, Rec), error](&rollingFn{})
	register.Emitter2[beam.EventTime, Rec]()
}

// rollingPlan is a Rolling node compiled: keys, aggregate slots over the
// rows of the OVER window, output columns.
type rollingPlan struct {
	op *ir.Rolling
	a  *aggPlan
}

func compileRolling(p *Plan, n *ir.Node) (*rollingPlan, error) {
	op, ok := n.Op.(*ir.Rolling)
	if !ok {
		return nil, fmt.Errorf("node %q is not a rolling aggregation", n.Name)
	}
	// The slots and columns compile like an unwindowed aggregate's.
	fake := &ir.Node{ID: n.ID, Name: n.Name, Inputs: n.Inputs, Out: n.Out,
		Op: &ir.Aggregate{Keys: op.Keys, Columns: op.Columns}}
	a, err := compileAggregate(p, fake)
	if err != nil {
		return nil, err
	}
	return &rollingPlan{op: op, a: a}, nil
}

// rollingKeyFn keys rows by the rolling keys; the element timestamp rides
// in Rec.WM through the stateful step.
type rollingKeyFn struct {
	NodeRef
	r   *rollingPlan
	env expr.Env
	c   *nodeCounters
}

func (fn *rollingKeyFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.r, err = compileRolling(p, n)
	fn.c = Counters(n.Name)
	return err
}

func (fn *rollingKeyFn) ProcessElement(ts beam.EventTime, rec Rec, emit func(string, Rec)) {
	fn.c.in.Add(1)
	fn.env.Rows[0] = rec.Row
	kb := binary.AppendUvarint(nil, uint64(len(fn.r.a.keys)))
	for i, k := range fn.r.a.keys {
		kb = row.AppendValue(kb, expr.Coerce(k(&fn.env), fn.r.a.ktypes[i]))
	}
	emit(string(kb), Rec{Row: rec.Row, WM: int64(ts)})
}

// rollingFn computes OVER aggregates per key in event-time order: rows
// wait in Pending until the watermark passes them (an event-time timer at
// the earliest pending time, which also holds the output watermark), then
// each is emitted with the aggregates over the rows of its range (peers
// with the same time included) or its preceding Rows rows.
type rollingFn struct {
	NodeRef
	Pending state.Bag[Rec]
	History state.Bag[Rec]
	Next    state.Value[int64] // firing time of the timer
	Hold    state.Value[int64] // earliest pending row (the output hold)
	Timer   timers.EventTime

	r *rollingPlan
	c *nodeCounters
}

func (fn *rollingFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.r, err = compileRolling(p, n)
	fn.c = Counters(n.Name)
	return err
}

// ProcessElement only buffers; OnTimer emits (Beam wants the same
// emitters on both).
func (fn *rollingFn) ProcessElement(ts beam.EventTime, sp state.Provider, tp timers.Provider, _ string, rec Rec, _ func(beam.EventTime, Rec)) error {
	if err := fn.Pending.Add(sp, rec); err != nil {
		return err
	}
	return fn.timer().wait(sp, tp, int64(ts))
}

func (fn *rollingFn) timer() batchTimer { return batchTimer{&fn.Next, &fn.Hold, fn.Timer} }

// Rows are processed in batches of rollingBatch of event time: one timer
// firing (and one read of the history) per key and batch, not per row.
const rollingBatch = int64(time.Second / time.Millisecond)

func batchEnd(ts int64) int64 { return floorDiv(ts, rollingBatch)*rollingBatch + rollingBatch - 1 }

func sortRecs(rs []Rec) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].WM < rs[j].WM })
}

func (fn *rollingFn) OnTimer(_ beam.Window, sp state.Provider, tp timers.Provider, _ string, _ timers.Context, emit func(beam.EventTime, Rec)) error {
	fire, ok, err := fn.Next.Read(sp)
	if err != nil || !ok {
		return err
	}
	pending, _, err := fn.Pending.Read(sp)
	if err != nil {
		return err
	}
	hist, _, err := fn.History.Read(sp)
	if err != nil {
		return err
	}
	sortRecs(pending)
	sortRecs(hist)
	var rest []Rec
	var ready []Rec
	for _, r := range pending {
		if r.WM <= fire {
			ready = append(ready, r)
		} else {
			rest = append(rest, r)
		}
	}
	op := fn.r.op
	a := fn.r.a
	stored := len(hist)
	env := expr.Env{Aggs: make([]any, len(a.aggs))}
	for i := 0; i < len(ready); {
		// peers: rows with the same time enter the range together
		j := i
		for j < len(ready) && ready[j].WM == ready[i].WM {
			j++
		}
		hist = append(hist, ready[i:j]...)
		for k := i; k < j; k++ {
			cur := ready[k]
			var win []Rec
			if op.Rows > 0 {
				// this row and the Rows rows before it, in order
				pos := len(hist) - (j - k)
				win = hist[max(0, pos-op.Rows) : pos+1]
			} else {
				lo := cur.WM - op.Range.Milliseconds()
				for _, h := range hist {
					if h.WM >= lo && h.WM <= cur.WM {
						win = append(win, h)
					}
				}
			}
			sub := expr.Env{}
			for s, g := range a.aggs {
				st := g.New()
				for _, h := range win {
					sub.Rows[0] = h.Row
					var v any = true
					if a.args[s] != nil {
						v = a.args[s](&sub)
					}
					st = g.Add(st, v, h.WM)
				}
				env.Aggs[s] = g.Result(st)
			}
			env.Rows[0] = cur.Row
			out := append(row.Row{}, cur.Row...)
			for c, col := range a.cols {
				out = append(out, expr.Coerce(col(&env), a.ctypes[c]))
			}
			fn.c.out.Add(1)
			emit(beam.EventTime(cur.WM), Rec{Row: out, WM: math.MinInt64})
		}
		i = j
	}
	// Keep what later rows can still see; rewrite the bag only when rows
	// fell out of the range (state calls are the cost here).
	drop := 0
	if op.Rows > 0 {
		drop = max(0, len(hist)-op.Rows)
	} else if len(hist) > 0 {
		lo := hist[len(hist)-1].WM - op.Range.Milliseconds()
		for drop < len(hist) && hist[drop].WM < lo {
			drop++
		}
	}
	if drop > 0 && drop >= stored/4 {
		if err := fn.History.Clear(sp); err != nil {
			return err
		}
		for _, h := range hist[drop:] {
			if err := fn.History.Add(sp, h); err != nil {
				return err
			}
		}
	} else {
		// rows out of range may linger a little; the range test skips them
		for _, h := range hist[stored:] {
			if err := fn.History.Add(sp, h); err != nil {
				return err
			}
		}
	}
	if err := fn.Pending.Clear(sp); err != nil {
		return err
	}
	for _, r := range rest {
		if err := fn.Pending.Add(sp, r); err != nil {
			return err
		}
	}
	if len(rest) == 0 {
		return fn.timer().stop(sp)
	}
	return fn.timer().set(sp, tp, batchEnd(rest[0].WM), rest[0].WM)
}

// Rolling applies a Rolling (OVER) node.
func Rolling(s beam.Scope, ref NodeRef, in beam.PCollection) (beam.PCollection, error) {
	p, n, err := ref.resolve()
	if err != nil {
		return beam.PCollection{}, err
	}
	if _, err := compileRolling(p, n); err != nil {
		return beam.PCollection{}, err
	}
	keyed := beam.ParDo(s, &rollingKeyFn{NodeRef: ref}, in)
	return beam.ParDo(s, &rollingFn{NodeRef: ref,
		Pending: state.MakeBagState[Rec]("pending"),
		History: state.MakeBagState[Rec]("history"),
		Next:    state.MakeValueState[int64]("next"),
		Hold:    state.MakeValueState[int64]("hold"),
		Timer:   timers.InEventTime("watermark"),
	}, keyed), nil
}
