package beamrt

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/cep"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	register.DoFn3x1[beam.EventTime, Rec, func(string, Rec), error](&patternKeyFn{})
	register.DoFn6x1[beam.EventTime, state.Provider, timers.Provider, string, Rec, func(beam.EventTime, Rec), error](&patternFn{})
}

func compilePattern(p *Plan, n *ir.Node) (*cep.Matcher, error) {
	op, ok := n.Op.(*ir.Pattern)
	if !ok {
		return nil, fmt.Errorf("node %q is not a pattern", n.Name)
	}
	m, err := cep.Compile(op, inputType(p.Pipeline, n, 0), n.Out)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %v", n.Name, err)
	}
	return m, nil
}

// patternKeyFn keys rows by the partition keys; the element timestamp
// (the event time, which the pattern orders by) rides in Rec.WM.
type patternKeyFn struct {
	NodeRef
	m *cep.Matcher
	c *nodeCounters
}

func (fn *patternKeyFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.m, err = compilePattern(p, n)
	fn.c = Counters(n.Name)
	return err
}

func (fn *patternKeyFn) ProcessElement(ts beam.EventTime, rec Rec, emit func(string, Rec)) error {
	fn.c.in.Add(1)
	keys := fn.m.Keys(rec.Row)
	kb := binary.AppendUvarint(nil, uint64(len(keys)))
	for _, k := range keys {
		kb = row.AppendValue(kb, k)
	}
	emit(string(kb), Rec{Row: rec.Row, WM: int64(ts)})
	return nil
}

// patternFn runs the matcher per partition as Flink's CEP operator does:
// rows wait in Pending until the watermark passes them (an event-time
// timer per batch of event time, holding the output watermark), then
// enter the NFA in event-time order; the NFA (partial matches and the rows
// they use) lives in NFA between firings. With WITHIN, a timer at the
// earliest partial match's deadline times it out even when no row comes,
// which may release completed matches that waited for it.
type patternFn struct {
	NodeRef
	Pending state.Bag[Rec]
	NFA     state.Value[[]byte]
	Next    state.Value[int64] // firing time of the timer
	Hold    state.Value[int64] // its output timestamp
	Timer   timers.EventTime

	m *cep.Matcher
	c *nodeCounters
}

func (fn *patternFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.m, err = compilePattern(p, n)
	fn.c = Counters(n.Name)
	return err
}

func (fn *patternFn) timer() batchTimer { return batchTimer{&fn.Next, &fn.Hold, fn.Timer} }

// ProcessElement only buffers; OnTimer matches.
func (fn *patternFn) ProcessElement(ts beam.EventTime, sp state.Provider, tp timers.Provider, _ string, rec Rec, _ func(beam.EventTime, Rec)) error {
	if err := fn.Pending.Add(sp, rec); err != nil {
		return err
	}
	return fn.timer().wait(sp, tp, int64(ts))
}

func (fn *patternFn) OnTimer(_ beam.Window, sp state.Provider, tp timers.Provider, _ string, _ timers.Context, emit func(beam.EventTime, Rec)) error {
	fire, ok, err := fn.Next.Read(sp)
	if err != nil || !ok {
		return err
	}
	hold, _, err := fn.Hold.Read(sp)
	if err != nil {
		return err
	}
	pending, _, err := fn.Pending.Read(sp)
	if err != nil {
		return err
	}
	var ready, rest []Rec
	for _, r := range pending {
		if r.WM <= fire {
			ready = append(ready, r)
		} else {
			rest = append(rest, r)
		}
	}
	sort.SliceStable(ready, func(i, j int) bool {
		if ready[i].WM != ready[j].WM {
			return ready[i].WM < ready[j].WM
		}
		return cep.CompareRows(ready[i].Row, ready[j].Row) < 0
	})
	b, _, err := fn.NFA.Read(sp)
	if err != nil {
		return err
	}
	st, err := fn.m.Unmarshal(b)
	if err != nil {
		return err
	}
	out := func(rs []cep.Result) {
		for _, r := range rs {
			fn.c.out.Add(1)
			emit(beam.EventTime(max(r.Last, hold)), Rec{Row: r.Row, WM: math.MinInt64})
		}
	}
	for _, r := range ready {
		res, ok, err := fn.m.Process(st, r.Row, r.WM)
		if err != nil {
			return err
		}
		if !ok {
			fn.c.bad.Add(1) // behind rows already matched: late, as Flink drops them
		}
		out(res)
	}
	// Flink advances the NFA to the watermark after the rows.
	res, err := fn.m.Advance(st, fire)
	if err != nil {
		return err
	}
	out(res)
	if st.Pending() {
		if err := fn.NFA.Write(sp, fn.m.Marshal(st)); err != nil {
			return err
		}
	} else if err := fn.NFA.Clear(sp); err != nil {
		return err
	}
	if len(ready) > 0 {
		if err := fn.Pending.Clear(sp); err != nil {
			return err
		}
		for _, r := range rest {
			if err := fn.Pending.Add(sp, r); err != nil {
				return err
			}
		}
	}
	next, nextHold, has := int64(math.MaxInt64), int64(math.MaxInt64), false
	for _, r := range rest {
		next, nextHold, has = min(next, batchEnd(r.WM)), min(nextHold, r.WM), true
	}
	if d, ok := fn.m.Deadline(st); ok {
		d = max(d, fire+1)
		next, has = min(next, d), true
		nextHold = min(nextHold, d)
	}
	if !has {
		return fn.timer().stop(sp)
	}
	return fn.timer().set(sp, tp, next, nextHold)
}

// Pattern applies a Pattern (MATCH_RECOGNIZE) node.
func Pattern(s beam.Scope, ref NodeRef, in beam.PCollection) (beam.PCollection, error) {
	p, n, err := ref.resolve()
	if err != nil {
		return beam.PCollection{}, err
	}
	if _, err := compilePattern(p, n); err != nil {
		return beam.PCollection{}, err
	}
	keyed := beam.ParDo(s, &patternKeyFn{NodeRef: ref}, in)
	return beam.ParDo(s, &patternFn{NodeRef: ref,
		Pending: state.MakeBagState[Rec]("pending"),
		NFA:     state.MakeValueState[[]byte]("nfa"),
		Next:    state.MakeValueState[int64]("next"),
		Hold:    state.MakeValueState[int64]("hold"),
		Timer:   timers.InEventTime("watermark"),
	}, keyed), nil
}
