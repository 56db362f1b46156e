package beamrt

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	register.DoFn3x1[beam.EventTime, Rec, func(string, Rec), error](&dedupeKeyFn{})
	register.DoFn6x1[beam.EventTime, state.Provider, timers.Provider, string, Rec, func(beam.EventTime, Rec), error](&dedupeFn{})
}

// dedupeKeyFn keys rows by the dedupe keys; the order time rides in
// Rec.WM (the OrderBy field, else the event time).
type dedupeKeyFn struct {
	NodeRef
	keys   []expr.Eval
	ktypes []*rtype.Type
	order  int
	env    expr.Env
	c      *nodeCounters
}

func (fn *dedupeKeyFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	op := n.Op.(*ir.Dedupe)
	in := inputType(p.Pipeline, n, 0)
	for _, k := range op.Keys {
		ev, err := expr.Compile(k.Expr, &expr.Options{Inputs: [2]*rtype.Type{in}})
		if err != nil {
			return fmt.Errorf("dedupe %q key %q: %v", n.Name, k.Name, err)
		}
		fn.keys = append(fn.keys, ev)
		fn.ktypes = append(fn.ktypes, k.Expr.Type)
	}
	fn.order = -1
	if op.OrderBy != "" && !op.ProcTime {
		for i, f := range in.Fields {
			if f.Name == op.OrderBy {
				fn.order = i
			}
		}
	}
	fn.c = Counters(n.Name)
	return nil
}

func (fn *dedupeKeyFn) ProcessElement(ts beam.EventTime, rec Rec, emit func(string, Rec)) error {
	fn.c.in.Add(1)
	fn.env.Rows[0] = rec.Row
	kb := binary.AppendUvarint(nil, uint64(len(fn.keys)))
	for i, k := range fn.keys {
		kb = row.AppendValue(kb, expr.Coerce(k(&fn.env), fn.ktypes[i]))
	}
	t := int64(ts)
	if fn.order >= 0 {
		if v, ok := rec.Row[fn.order].(time.Time); ok {
			t = v.UnixMilli()
		}
	}
	emit(string(kb), Rec{Row: rec.Row, WM: t})
	return nil
}

// dedupeFn keeps the first (or last) row per key in order time: rows
// wait for the watermark (batched like rolling), then the first row of a
// key is emitted once — again after Within has passed since the kept one
// — or, keeping the last, every row newer than the last emitted (an
// upsert stream on the key).
type dedupeFn struct {
	NodeRef
	Pending state.Bag[Rec]
	Kept    state.Value[int64] // order time of the row emitted last
	Next    state.Value[int64]
	Hold    state.Value[int64]
	Timer   timers.EventTime

	op *ir.Dedupe
	c  *nodeCounters
}

func (fn *dedupeFn) Setup() error {
	_, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.op = n.Op.(*ir.Dedupe)
	fn.c = Counters(n.Name)
	return nil
}

func (fn *dedupeFn) ProcessElement(ts beam.EventTime, sp state.Provider, tp timers.Provider, _ string, rec Rec, _ func(beam.EventTime, Rec)) error {
	if err := fn.Pending.Add(sp, Rec{Row: append(append(row.Row{}, rec.Row...), int64(ts)), WM: rec.WM}); err != nil {
		return err
	}
	return fn.timer().wait(sp, tp, int64(ts))
}

func (fn *dedupeFn) timer() batchTimer { return batchTimer{&fn.Next, &fn.Hold, fn.Timer} }

func (fn *dedupeFn) OnTimer(_ beam.Window, sp state.Provider, tp timers.Provider, _ string, _ timers.Context, emit func(beam.EventTime, Rec)) error {
	fire, ok, err := fn.Next.Read(sp)
	if err != nil || !ok {
		return err
	}
	pending, _, err := fn.Pending.Read(sp)
	if err != nil {
		return err
	}
	sortRecs(pending)
	kept, has, err := fn.Kept.Read(sp)
	if err != nil {
		return err
	}
	var rest []Rec
	for _, r := range pending {
		ts := r.Row[len(r.Row)-1].(int64)
		if ts > fire {
			rest = append(rest, r)
			continue
		}
		out := r.Row[:len(r.Row)-1]
		switch {
		case fn.op.KeepLast:
			if has && r.WM < kept {
				continue
			}
		case has && (fn.op.Within <= 0 || r.WM < kept+fn.op.Within.Milliseconds()):
			continue
		}
		kept, has = r.WM, true
		fn.c.out.Add(1)
		emit(beam.EventTime(ts), Rec{Row: out, WM: math.MinInt64})
	}
	if has {
		if err := fn.Kept.Write(sp, kept); err != nil {
			return err
		}
	}
	if err := fn.Pending.Clear(sp); err != nil {
		return err
	}
	hold := int64(math.MaxInt64)
	for _, r := range rest {
		if err := fn.Pending.Add(sp, r); err != nil {
			return err
		}
		hold = min(hold, r.Row[len(r.Row)-1].(int64))
	}
	if len(rest) == 0 {
		return fn.timer().stop(sp)
	}
	return fn.timer().set(sp, tp, batchEnd(hold), hold)
}

// Dedupe applies a Dedupe node.
func Dedupe(s beam.Scope, ref NodeRef, in beam.PCollection) beam.PCollection {
	keyed := beam.ParDo(s, &dedupeKeyFn{NodeRef: ref}, in)
	return beam.ParDo(s, &dedupeFn{NodeRef: ref,
		Pending: state.MakeBagState[Rec]("pending"),
		Kept:    state.MakeValueState[int64]("kept"),
		Next:    state.MakeValueState[int64]("next"),
		Hold:    state.MakeValueState[int64]("hold"),
		Timer:   timers.InEventTime("watermark"),
	}, keyed)
}
