package beamrt

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	register.DoFn3x1[beam.EventTime, Rec, func(string, Rec), error](&topnKeyFn{})
	register.DoFn4x1[typex.Window, string, func(*Rec) bool, func(Rec), error](&topnWindowFn{})
	register.DoFn6x1[beam.EventTime, state.Provider, timers.Provider, string, Rec, func(beam.EventTime, Rec), error](&topnStateFn{})
	register.Iter1[Rec]()
}

// topnPlan ranks rows of the input type by the node's order.
type topnPlan struct {
	op    *ir.TopN
	keys  []expr.Eval
	kt    []*rtype.Type
	order []int
	desc  []bool
}

func compileTopN(p *Plan, n *ir.Node) (*topnPlan, error) {
	op, ok := n.Op.(*ir.TopN)
	if !ok {
		return nil, fmt.Errorf("node %q is not a top-N", n.Name)
	}
	in := inputType(p.Pipeline, n, 0)
	t := &topnPlan{op: op}
	for _, k := range op.Keys {
		ev, err := expr.Compile(k.Expr, &expr.Options{Inputs: [2]*rtype.Type{in}})
		if err != nil {
			return nil, fmt.Errorf("top-N %q key %q: %v", n.Name, k.Name, err)
		}
		t.keys = append(t.keys, ev)
		t.kt = append(t.kt, k.Expr.Type)
	}
	for _, o := range op.OrderBy {
		i := -1
		for j, f := range in.Fields {
			if f.Name == o.Field {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("top-N %q: no field %q to order by", n.Name, o.Field)
		}
		t.order = append(t.order, i)
		t.desc = append(t.desc, o.Desc)
	}
	return t, nil
}

// rank sorts rows by the order (nulls last) and keeps N.
func (t *topnPlan) rank(rows []row.Row) []row.Row {
	sort.SliceStable(rows, func(a, b int) bool {
		for k, i := range t.order {
			x, y := rows[a][i], rows[b][i]
			if x == nil || y == nil {
				if (x == nil) != (y == nil) {
					return y == nil
				}
				continue
			}
			c, _ := expr.Compare(x, y)
			if c != 0 {
				return (c < 0) != t.desc[k]
			}
		}
		return false
	})
	if t.op.N > 0 && len(rows) > t.op.N {
		rows = rows[:t.op.N]
	}
	return rows
}

type topnKeyFn struct {
	NodeRef
	t   *topnPlan
	env expr.Env
	c   *nodeCounters
}

func (fn *topnKeyFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.t, err = compileTopN(p, n)
	fn.c = Counters(n.Name)
	return err
}

func (fn *topnKeyFn) ProcessElement(ts beam.EventTime, rec Rec, emit func(string, Rec)) error {
	fn.c.in.Add(1)
	fn.env.Rows[0] = rec.Row
	kb := binary.AppendUvarint(nil, uint64(len(fn.t.keys)))
	for i, k := range fn.t.keys {
		kb = row.AppendValue(kb, expr.Coerce(k(&fn.env), fn.t.kt[i]))
	}
	emit(string(kb), Rec{Row: rec.Row, WM: int64(ts)})
	return nil
}

// topnWindowFn ranks a key's rows in a window: window_start, window_end,
// the row, then the rank when asked.
type topnWindowFn struct {
	NodeRef
	t *topnPlan
	c *nodeCounters
	// layout: per Out field, the input field it takes, or -1 window_start,
	// -2 window_end, -3 the rank (an input that already has window columns,
	// an aggregate's, gets the ranking window's in their place).
	layout []int
}

func (fn *topnWindowFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.t, err = compileTopN(p, n)
	fn.c = Counters(n.Name)
	if err != nil {
		return err
	}
	in := p.Pipeline.Node(n.Inputs[0]).Out
	fn.layout = nil
	for j, f := range n.Out.Fields {
		switch {
		case f.Name == "window_start":
			fn.layout = append(fn.layout, -1)
		case f.Name == "window_end":
			fn.layout = append(fn.layout, -2)
		case fn.t.op.RankField != "" && j == len(n.Out.Fields)-1:
			fn.layout = append(fn.layout, -3)
		default:
			i := -1
			for k, g := range in.Fields {
				if g.Name == f.Name {
					i = k
				}
			}
			if i < 0 {
				return fmt.Errorf("top-N %q: output field %q is not an input field", n.Name, f.Name)
			}
			fn.layout = append(fn.layout, i)
		}
	}
	return nil
}

func (fn *topnWindowFn) ProcessElement(w typex.Window, _ string, iter func(*Rec) bool, emit func(Rec)) error {
	iw, ok := w.(window.IntervalWindow)
	if !ok {
		return fmt.Errorf("top-N: window %v is not an interval", w)
	}
	var rows []row.Row
	var r Rec
	for iter(&r) {
		rows = append(rows, r.Row)
	}
	for i, x := range fn.t.rank(rows) {
		out := make(row.Row, len(fn.layout))
		for j, k := range fn.layout {
			switch k {
			case -1:
				out[j] = iw.Start.ToTime().UTC()
			case -2:
				out[j] = iw.End.ToTime().UTC()
			case -3:
				out[j] = int64(i + 1)
			default:
				if k < len(x) {
					out[j] = x[k]
				}
			}
		}
		fn.c.out.Add(1)
		emit(Rec{Row: out, WM: math.MinInt64})
	}
	return nil
}

// topnStateFn ranks without a window: a key's rows wait for the watermark
// (batched like rolling) and each firing emits the key's current top N
// with ranks — final when the key's rows arrive together, as the rows of
// a window aggregate do.
type topnStateFn struct {
	NodeRef
	Pending state.Bag[Rec]
	Best    state.Bag[Rec]
	Next    state.Value[int64]
	Timer   timers.EventTime

	t *topnPlan
	c *nodeCounters
}

func (fn *topnStateFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.t, err = compileTopN(p, n)
	fn.c = Counters(n.Name)
	return err
}

func (fn *topnStateFn) ProcessElement(ts beam.EventTime, sp state.Provider, tp timers.Provider, _ string, rec Rec, _ func(beam.EventTime, Rec)) error {
	if err := fn.Pending.Add(sp, rec); err != nil {
		return err
	}
	next, ok, err := fn.Next.Read(sp)
	if err != nil {
		return err
	}
	if fire := batchEnd(int64(ts)); !ok || fire < next {
		fn.Timer.Set(tp, time.UnixMilli(fire))
		return fn.Next.Write(sp, fire)
	}
	return nil
}

func (fn *topnStateFn) OnTimer(_ beam.Window, sp state.Provider, tp timers.Provider, _ string, _ timers.Context, emit func(beam.EventTime, Rec)) error {
	fire, ok, err := fn.Next.Read(sp)
	if err != nil || !ok {
		return err
	}
	pending, _, err := fn.Pending.Read(sp)
	if err != nil {
		return err
	}
	best, _, err := fn.Best.Read(sp)
	if err != nil {
		return err
	}
	var rest []Rec
	rows := make([]row.Row, 0, len(best)+len(pending))
	for _, b := range best {
		rows = append(rows, b.Row)
	}
	added := false
	for _, r := range pending {
		if r.WM > fire {
			rest = append(rest, r)
		} else {
			rows = append(rows, r.Row)
			added = true
		}
	}
	if added {
		top := fn.t.rank(rows)
		if err := fn.Best.Clear(sp); err != nil {
			return err
		}
		for i, x := range top {
			if err := fn.Best.Add(sp, Rec{Row: x}); err != nil {
				return err
			}
			out := append(row.Row{}, x...)
			if fn.t.op.RankField != "" {
				out = append(out, int64(i+1))
			}
			fn.c.out.Add(1)
			emit(beam.EventTime(fire), Rec{Row: out, WM: math.MinInt64})
		}
	}
	if err := fn.Pending.Clear(sp); err != nil {
		return err
	}
	if len(rest) == 0 {
		return fn.Next.Clear(sp)
	}
	next := int64(math.MaxInt64)
	for _, r := range rest {
		if err := fn.Pending.Add(sp, r); err != nil {
			return err
		}
		next = min(next, batchEnd(r.WM))
	}
	fn.Timer.Set(tp, time.UnixMilli(next))
	return fn.Next.Write(sp, next)
}

// TopN applies a TopN node.
func TopN(s beam.Scope, ref NodeRef, in beam.PCollection) (beam.PCollection, error) {
	p, n, err := ref.resolve()
	if err != nil {
		return beam.PCollection{}, err
	}
	t, err := compileTopN(p, n)
	if err != nil {
		return beam.PCollection{}, err
	}
	keyed := beam.ParDo(s, &topnKeyFn{NodeRef: ref}, in)
	w := t.op.Window
	if w == nil {
		return beam.ParDo(s, &topnStateFn{NodeRef: ref,
			Pending: state.MakeBagState[Rec]("pending"),
			Best:    state.MakeBagState[Rec]("best"),
			Next:    state.MakeValueState[int64]("next"),
			Timer:   timers.InEventTime("watermark"),
		}, keyed), nil
	}
	var wf *window.Fn
	switch w.Kind {
	case ir.Tumble:
		wf = window.NewFixedWindows(w.Size)
	case ir.Hop:
		wf = window.NewSlidingWindows(w.Slide, w.Size)
	case ir.Session:
		wf = window.NewSessions(w.Gap)
	default:
		return beam.PCollection{}, fmt.Errorf("top-N %q: %s windows are not supported by the Beam runtime", n.Name, w.Kind)
	}
	grouped := beam.GroupByKey(s, beam.WindowInto(s, wf, keyed))
	out := beam.ParDo(s, &topnWindowFn{NodeRef: ref}, grouped)
	return beam.WindowInto(s, window.NewGlobalWindows(), out), nil
}
