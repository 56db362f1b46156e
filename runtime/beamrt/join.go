package beamrt

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	register.DoFn3x1[beam.EventTime, Rec, func(string, Rec), error](&joinKeyFn{})
	register.DoFn6x1[beam.EventTime, state.Provider, timers.Provider, string, Rec, func(beam.EventTime, Rec), error](&intervalJoinFn{})
	register.DoFn4x1[typex.Window, string, func(*Rec) bool, func(Rec), error](&windowJoinFn{})
}

// joinPlan is a Join node compiled: key fields per side, the condition
// and the output columns over (left, right).
type joinPlan struct {
	op          *ir.Join
	types       [2]*rtype.Type
	keys        [2][]int
	where       expr.Eval
	cols        []expr.Eval
	ctypes      []*rtype.Type
	lower, uppr int64 // ms
	grace       int64 // ms rows are kept past their bound
}

func compileJoin(p *Plan, n *ir.Node) (*joinPlan, error) {
	op, ok := n.Op.(*ir.Join)
	if !ok {
		return nil, fmt.Errorf("node %q is not a join", n.Name)
	}
	if len(n.Inputs) != 2 {
		return nil, fmt.Errorf("join %q: %d inputs, want 2", n.Name, len(n.Inputs))
	}
	j := &joinPlan{op: op, lower: op.Lower.Milliseconds(), uppr: op.Upper.Milliseconds()}
	j.types = [2]*rtype.Type{inputType(p.Pipeline, n, 0), inputType(p.Pipeline, n, 1)}
	for side, t := range j.types {
		if t == nil || t.Kind != rtype.Record {
			return nil, fmt.Errorf("join %q: input %d has no record type", n.Name, side)
		}
	}
	for _, k := range op.On {
		for side, name := range [2]string{k.Left, k.Right} {
			i := fieldIndex(j.types[side], name)
			if i < 0 {
				return nil, fmt.Errorf("join %q: no key field %q on side %d", n.Name, name, side)
			}
			j.keys[side] = append(j.keys[side], i)
		}
	}
	// Rows stay a grace period — the inputs' out-of-orderness bound, at
	// least a second — past their bound. It was added against rows seen
	// to miss their partners under load; those were lost by Prism's
	// bundle splits (see prismNoSplit), but the margin is kept.
	j.grace = time.Second.Milliseconds()
	for _, id := range n.Inputs {
		j.grace = max(j.grace, p.Pipeline.Node(id).MaxOutOfOrderness.Milliseconds())
	}
	o := &expr.Options{Inputs: j.types}
	if op.Where != nil {
		ev, err := expr.Compile(op.Where, o)
		if err != nil {
			return nil, fmt.Errorf("join %q condition: %v", n.Name, err)
		}
		j.where = ev
	}
	if !j.semiAnti() {
		for _, c := range op.Columns {
			ev, err := expr.Compile(c.Expr, o)
			if err != nil {
				return nil, fmt.Errorf("join %q column %q: %v", n.Name, c.Name, err)
			}
			j.cols = append(j.cols, ev)
			j.ctypes = append(j.ctypes, c.Expr.Type)
		}
	}
	if op.Window == nil && j.lower > j.uppr {
		return nil, fmt.Errorf("join %q: lower bound %v is after upper bound %v", n.Name, op.Lower, op.Upper)
	}
	return j, nil
}

func fieldIndex(t *rtype.Type, name string) int {
	for i, f := range t.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func (j *joinPlan) semiAnti() bool { return j.op.Type == ir.Semi || j.op.Type == ir.Anti }

// keepsUnmatched reports whether unmatched rows of side are emitted
// (null-padded for outer joins, unchanged for anti).
func (j *joinPlan) keepsUnmatched(side int) bool {
	switch j.op.Type {
	case ir.Full:
		return true
	case ir.Left, ir.Anti:
		return side == 0
	case ir.Right:
		return side == 1
	}
	return false
}

// cond evaluates the join condition on a pair (null is false).
func (j *joinPlan) cond(env *expr.Env, l, r row.Row) bool {
	if j.where == nil {
		return true
	}
	env.Rows[0], env.Rows[1] = l, r
	return expr.Truthy(j.where(env))
}

// output computes an output row; a nil side stands for the null-padded
// side of an outer join.
func (j *joinPlan) output(env *expr.Env, l, r row.Row) row.Row {
	if j.semiAnti() {
		return append(row.Row{}, l...)
	}
	env.Rows[0], env.Rows[1] = l, r
	out := make(row.Row, len(j.cols))
	for i, c := range j.cols {
		out[i] = expr.Coerce(c(env), j.ctypes[i])
	}
	return out
}

// joinKey normalises a key value so that compatible types (int32 and
// int64 keys, 1.5 and 1.50) meet on the same key.
func joinKey(v any) any {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case float32:
		return float64(x)
	case *apd.Decimal:
		d := new(apd.Decimal)
		d.Reduce(x)
		return d.Text('f')
	}
	return v
}

// Rows travel to the join keyed, with three trailing values: the side
// (int64 0 left, 1 right), whether the row is out of play (late by its
// source's watermark, or a null key: it never matches), and — in the
// join's state — whether it matched.
const (
	joinSide = iota
	joinOut
	joinMatched
	joinExtra
)

func joinData(r row.Row) row.Row { return r[:len(r)-joinExtra] }

func joinAt(r row.Row, i int) any { return r[len(r)-joinExtra+i] }

// joinKeyFn keys one side's rows by its join keys; Rec.WM carries the
// event time through the stateful step.
type joinKeyFn struct {
	NodeRef
	Side int

	j       *joinPlan
	sources []string
	c       *nodeCounters
}

func (fn *joinKeyFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	if fn.Side < 0 || fn.Side > 1 {
		return fmt.Errorf("join %q: side %d", n.Name, fn.Side)
	}
	fn.j, err = compileJoin(p, n)
	if err != nil {
		return err
	}
	if srcs, ok := statelessSources(p.Pipeline, n.Inputs[fn.Side]); ok {
		fn.sources = srcs
	}
	fn.c = Counters(n.Name)
	return nil
}

func (fn *joinKeyFn) ProcessElement(ts beam.EventTime, rec Rec, emit func(string, Rec)) error {
	fn.c.in.Add(1)
	t := int64(ts)
	keys := fn.j.keys[fn.Side]
	if len(rec.Row) < len(fn.j.types[fn.Side].Fields) {
		return fmt.Errorf("join: a row of %d values on side %d, want %d", len(rec.Row), fn.Side, len(fn.j.types[fn.Side].Fields))
	}
	kb := binary.AppendUvarint(nil, uint64(len(keys)))
	out := false
	for _, i := range keys {
		v := rec.Row[i]
		if v == nil {
			out = true // SQL: a null key equals nothing
		}
		kb = row.AppendValue(kb, joinKey(v))
	}
	// Late: the row's whole window (window join) or its own time
	// (interval join) is behind its sources' watermark when read, so the
	// rows it could meet may be gone; it never matches (deterministically,
	// whatever the runner's timing).
	if fn.sources != nil && rec.WM != math.MinInt64 {
		wm := min(rec.WM, sourcesWatermark(fn.sources))
		if w := fn.j.op.Window; w != nil {
			if lastEnd(w, t) <= wm {
				fn.c.bad.Add(1) // its windows have fired: dropped, as Beam would
				return nil
			}
		} else {
			out = out || t < wm
		}
	}
	if out {
		if !fn.j.keepsUnmatched(fn.Side) {
			fn.c.bad.Add(1)
			return nil
		}
		kb = []byte("\xffout") // never a real key: those start with a small uvarint
	}
	r := make(row.Row, 0, len(rec.Row)+joinExtra)
	r = append(append(r, rec.Row...), int64(fn.Side), out, false)
	emit(string(kb), Rec{Row: r, WM: t})
	return nil
}

// intervalJoinFn joins per key: right.t − left.t ∈ [lower, upper]. Rows
// wait in Pending until the watermark passes them (batched per second
// like rolling), then meet the kept rows of the other side; a pair is
// emitted once, when its later row is processed, at the left row's time.
// A left row is kept until the watermark passes t + upper, a right row
// until it passes t − lower (no partner can arrive after that); then an
// unmatched row of an outer (or anti) side is emitted. The timer's output
// hold is the earliest time a kept row can still be emitted at.
type intervalJoinFn struct {
	NodeRef
	Pending state.Bag[Rec]
	Kept    state.Bag[Rec]
	Next    state.Value[int64]
	Hold    state.Value[int64]
	Timer   timers.EventTime

	j   *joinPlan
	env expr.Env
	c   *nodeCounters
}

func (fn *intervalJoinFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.j, err = compileJoin(p, n)
	fn.c = Counters(n.Name)
	return err
}

func (fn *intervalJoinFn) ProcessElement(ts beam.EventTime, sp state.Provider, tp timers.Provider, _ string, rec Rec, _ func(beam.EventTime, Rec)) error {
	if len(rec.Row) < joinExtra {
		return fmt.Errorf("join: malformed keyed row")
	}
	if err := fn.Pending.Add(sp, rec); err != nil {
		return err
	}
	return fn.timer().wait(sp, tp, rec.WM)
}

func (fn *intervalJoinFn) timer() batchTimer { return batchTimer{&fn.Next, &fn.Hold, fn.Timer} }

// expiry is when no partner of a row can arrive any more.
func (fn *intervalJoinFn) expiry(r Rec) int64 {
	if joinAt(r.Row, joinSide) == int64(0) {
		return r.WM + fn.j.uppr + fn.j.grace
	}
	return r.WM - fn.j.lower + fn.j.grace
}

func (fn *intervalJoinFn) OnTimer(_ beam.Window, sp state.Provider, tp timers.Provider, _ string, _ timers.Context, emit func(beam.EventTime, Rec)) error {
	fire, ok, err := fn.Next.Read(sp)
	if err != nil || !ok {
		return err
	}
	pending, _, err := fn.Pending.Read(sp)
	if err != nil {
		return err
	}
	kept, _, err := fn.Kept.Read(sp)
	if err != nil {
		return err
	}
	sortRecs(pending)
	var ready, rest []Rec
	for _, r := range pending {
		if r.WM <= fire {
			ready = append(ready, r)
		} else {
			rest = append(rest, r)
		}
	}
	j := fn.j
	env := &fn.env
	send := func(ts int64, out row.Row) {
		fn.c.out.Add(1)
		emit(beam.EventTime(ts), Rec{Row: out, WM: math.MinInt64})
	}
	unmatched := func(r Rec) {
		if joinAt(r.Row, joinMatched) == true || !j.keepsUnmatched(int(joinAt(r.Row, joinSide).(int64))) {
			return
		}
		if joinAt(r.Row, joinSide) == int64(0) {
			send(r.WM, j.output(env, joinData(r.Row), nil))
		} else {
			send(r.WM, j.output(env, nil, joinData(r.Row)))
		}
	}
	for _, x := range ready {
		if joinAt(x.Row, joinOut) == true {
			unmatched(x)
			continue
		}
		xs := joinAt(x.Row, joinSide).(int64)
		for k := range kept {
			y := &kept[k]
			if joinAt(y.Row, joinSide) == xs {
				continue
			}
			l, r := &x, y
			if xs == 1 {
				l, r = y, &x
			}
			if d := r.WM - l.WM; d < j.lower || d > j.uppr {
				continue
			}
			ld, rd := joinData(l.Row), joinData(r.Row)
			if !j.cond(env, ld, rd) {
				continue
			}
			first := joinAt(l.Row, joinMatched) != true
			setMatched(l)
			setMatched(r)
			switch j.op.Type {
			case ir.Semi:
				if first {
					send(l.WM, j.output(env, ld, nil))
				}
			case ir.Anti:
			default:
				send(l.WM, j.output(env, ld, rd))
			}
		}
		kept = append(kept, x)
	}
	// Expire what can meet no new partner; semi and anti are done with a
	// matched left row at once.
	live := kept[:0]
	next, hold := int64(math.MaxInt64), int64(math.MaxInt64)
	for _, r := range kept {
		left := joinAt(r.Row, joinSide) == int64(0)
		matched := joinAt(r.Row, joinMatched) == true
		exp := fn.expiry(r)
		if exp <= fire || (left && matched && j.semiAnti()) {
			unmatched(r)
			continue
		}
		live = append(live, r)
		next = min(next, batchEnd(exp))
		if left || (!matched && j.keepsUnmatched(1)) {
			hold = min(hold, r.WM)
		}
	}
	if err := fn.Kept.Clear(sp); err != nil {
		return err
	}
	for _, r := range live {
		if err := fn.Kept.Add(sp, r); err != nil {
			return err
		}
	}
	if err := fn.Pending.Clear(sp); err != nil {
		return err
	}
	for _, r := range rest {
		if err := fn.Pending.Add(sp, r); err != nil {
			return err
		}
		next, hold = min(next, batchEnd(r.WM)), min(hold, r.WM)
	}
	if next == math.MaxInt64 {
		return fn.timer().stop(sp)
	}
	return fn.timer().set(sp, tp, next, hold)
}

func setMatched(r *Rec) {
	if joinAt(r.Row, joinMatched) != true {
		r.Row = append(row.Row{}, r.Row...)
		r.Row[len(r.Row)-joinExtra+joinMatched] = true
	}
}

// windowJoinFn joins a key's rows of one window (grouped by Beam, which
// fires when the watermark passes the window's end).
type windowJoinFn struct {
	NodeRef
	j   *joinPlan
	env expr.Env
	c   *nodeCounters
}

func (fn *windowJoinFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.j, err = compileJoin(p, n)
	fn.c = Counters(n.Name)
	return err
}

func (fn *windowJoinFn) ProcessElement(_ typex.Window, _ string, iter func(*Rec) bool, emit func(Rec)) error {
	var sides [2][]Rec
	var r Rec
	for iter(&r) {
		if len(r.Row) < joinExtra {
			return fmt.Errorf("join: malformed keyed row")
		}
		s, _ := joinAt(r.Row, joinSide).(int64)
		if s != 0 && s != 1 {
			return fmt.Errorf("join: bad side %v", joinAt(r.Row, joinSide))
		}
		sides[s] = append(sides[s], r)
	}
	// event-time order, so output is deterministic
	sortRecs(sides[0])
	sortRecs(sides[1])
	j := fn.j
	env := &fn.env
	send := func(out row.Row) {
		fn.c.out.Add(1)
		emit(Rec{Row: out, WM: math.MinInt64})
	}
	rmatched := make([]bool, len(sides[1]))
	for _, l := range sides[0] {
		ld := joinData(l.Row)
		matched := false
		if joinAt(l.Row, joinOut) != true {
			for k, r := range sides[1] {
				if joinAt(r.Row, joinOut) == true {
					continue
				}
				rd := joinData(r.Row)
				if !j.cond(env, ld, rd) {
					continue
				}
				first := !matched
				matched, rmatched[k] = true, true
				switch j.op.Type {
				case ir.Semi:
					if first {
						send(j.output(env, ld, nil))
					}
				case ir.Anti:
				default:
					send(j.output(env, ld, rd))
				}
			}
		}
		if !matched && j.keepsUnmatched(0) {
			send(j.output(env, ld, nil))
		}
	}
	if j.keepsUnmatched(1) {
		for k, r := range sides[1] {
			if !rmatched[k] {
				send(j.output(env, nil, joinData(r.Row)))
			}
		}
	}
	return nil
}

// Join applies a Join node: an interval join with state and event-time
// timers, or a window join grouped in the window.
func Join(s beam.Scope, ref NodeRef, left, right beam.PCollection) (beam.PCollection, error) {
	p, n, err := ref.resolve()
	if err != nil {
		return beam.PCollection{}, err
	}
	j, err := compileJoin(p, n)
	if err != nil {
		return beam.PCollection{}, err
	}
	keyed := beam.Flatten(s,
		beam.ParDo(s.Scope("left"), &joinKeyFn{NodeRef: ref, Side: 0}, left),
		beam.ParDo(s.Scope("right"), &joinKeyFn{NodeRef: ref, Side: 1}, right))
	w := j.op.Window
	if w == nil {
		return beam.ParDo(s, &intervalJoinFn{NodeRef: ref,
			Pending: state.MakeBagState[Rec]("pending"),
			Kept:    state.MakeBagState[Rec]("kept"),
			Next:    state.MakeValueState[int64]("next"),
			Hold:    state.MakeValueState[int64]("hold"),
			Timer:   timers.InEventTime("watermark"),
		}, keyed), nil
	}
	var wf *window.Fn
	switch {
	case w.Offset != 0:
		return beam.PCollection{}, fmt.Errorf("join %q: window offsets are not supported by the Beam runtime", n.Name)
	case w.Kind == ir.Tumble && w.Size > 0:
		wf = window.NewFixedWindows(w.Size)
	case w.Kind == ir.Hop && w.Size > 0 && w.Slide > 0:
		wf = window.NewSlidingWindows(w.Slide, w.Size)
	case w.Kind == ir.Session && w.Gap > 0:
		wf = window.NewSessions(w.Gap)
	default:
		return beam.PCollection{}, fmt.Errorf("join %q: %s windows are not supported by the Beam runtime (tumble, hop, session)", n.Name, w.Kind)
	}
	grouped := beam.GroupByKey(s, beam.WindowInto(s, wf, keyed))
	out := beam.ParDo(s, &windowJoinFn{NodeRef: ref}, grouped)
	return beam.WindowInto(s, window.NewGlobalWindows(), out), nil
}
