package beamrt

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	register.DoFn6x2[context.Context, *sdf.ManualWatermarkEstimator, *sdf.LockRTracker, Partition,
		func(beam.EventTime, string, *Accum), func(beam.EventTime, Rec), sdf.ProcessContinuation, error](&readAggFn{})
	register.Emitter3[beam.EventTime, string, *Accum]()
}

// Source → filters/maps → windowed aggregate, when nothing else reads the
// intermediate streams, runs fused in the source's read loop: each record
// is filtered, mapped and folded into an accumulator of its key and pane
// (the window, or the slide of a hop, or the step of a cumulate), and each
// ProcessElement call emits one partial accumulator per key and pane,
// timestamped at the pane's end (never behind the watermark for a record
// within the declared out-of-orderness). Beam then merges partials instead
// of handling every row: combiner lifting into the source.

// fusedChain returns the filter/map chain and the aggregate a source can
// run fused, or ok false.
func fusedChain(p *ir.Pipeline, src *ir.Node) (chain []ir.NodeID, agg ir.NodeID, ok bool) {
	cur := src
	for {
		var next []*ir.Node
		for _, c := range p.Consumers(cur.ID) {
			if _, dl := c.Op.(*ir.DeadLetter); !dl {
				next = append(next, c)
			}
		}
		if len(next) != 1 || len(next[0].Inputs) != 1 {
			return nil, 0, false
		}
		n := next[0]
		switch op := n.Op.(type) {
		case *ir.Filter, *ir.Map:
			chain = append(chain, n.ID)
			cur = n
			continue
		case *ir.Aggregate:
			w := op.Window
			if w == nil || w.Offset != 0 || op.AllowedLateness != 0 || op.Late != 0 || paneOf(w) <= 0 {
				return nil, 0, false
			}
			return chain, n.ID, true
		}
		return nil, 0, false
	}
}

// paneOf is the pane length of a window whose rows can be pre-aggregated
// by pane, or 0.
func paneOf(w *ir.Window) time.Duration {
	switch w.Kind {
	case ir.Tumble:
		return w.Size
	case ir.Hop:
		if w.Slide > 0 && w.Size%w.Slide == 0 {
			return w.Slide
		}
	case ir.Cumulate:
		if w.Step > 0 && w.Size%w.Step == 0 {
			return w.Step
		}
	}
	return 0
}

type fusedStage struct {
	filter expr.Eval
	cols   []expr.Eval
	types  []*rtype.Type
	c      *nodeCounters
}

type paneKey struct {
	key  string
	pane int64
}

// readAggFn is readFn with the chain and the aggregate's partial
// aggregation fused into its read loop.
type readAggFn struct {
	readFn
	Chain []int32
	Agg   int32

	stages []fusedStage
	a      *aggPlan
	ac     *nodeCounters
	pane   int64
	parts  map[paneKey]*Accum
	env    expr.Env
	kb     []byte
}

func (fn *readAggFn) Setup() error {
	if err := fn.readFn.Setup(); err != nil {
		return err
	}
	p, err := DecodePlan(fn.Plan)
	if err != nil {
		return err
	}
	pl := p.Pipeline
	for _, id := range fn.Chain {
		n := pl.Node(ir.NodeID(id))
		o := &expr.Options{Inputs: [2]*rtype.Type{inputType(pl, n, 0)}}
		st := fusedStage{c: Counters(n.Name)}
		switch op := n.Op.(type) {
		case *ir.Filter:
			if st.filter, err = expr.Compile(op.Where, o); err != nil {
				return fmt.Errorf("filter %q: %v", n.Name, err)
			}
		case *ir.Map:
			for _, c := range op.Columns {
				ev, err := expr.Compile(c.Expr, o)
				if err != nil {
					return fmt.Errorf("map %q column %q: %v", n.Name, c.Name, err)
				}
				st.cols = append(st.cols, ev)
				st.types = append(st.types, c.Expr.Type)
			}
		}
		fn.stages = append(fn.stages, st)
	}
	an := pl.Node(ir.NodeID(fn.Agg))
	if fn.a, err = compileAggregate(p, an); err != nil {
		return err
	}
	fn.ac = Counters(an.Name)
	fn.pane = paneOf(fn.a.op.Window).Milliseconds()
	fn.parts = map[paneKey]*Accum{}
	return nil
}

func (fn *readAggFn) ProcessElement(ctx context.Context, we *sdf.ManualWatermarkEstimator, rt *sdf.LockRTracker, p Partition,
	emit func(beam.EventTime, string, *Accum), dead func(beam.EventTime, Rec)) (sdf.ProcessContinuation, error) {
	defer func() {
		for k, acc := range fn.parts {
			emit(mtime.FromMilliseconds(k.pane+fn.pane-1), k.key, acc)
		}
		clear(fn.parts)
	}()
	return fn.process(ctx, we, rt, p, fn.fold, dead)
}

// fold runs one row through the chain into its pane's accumulator.
func (fn *readAggFn) fold(ts beam.EventTime, rec Rec) {
	r := rec.Row
	for i := range fn.stages {
		st := &fn.stages[i]
		st.c.in.Add(1)
		fn.env.Rows[0] = r
		if st.filter != nil {
			if !expr.Truthy(st.filter(&fn.env)) {
				return
			}
		} else {
			out := make(row.Row, len(st.cols))
			for j, c := range st.cols {
				out[j] = expr.Coerce(c(&fn.env), st.types[j])
			}
			r = out
		}
		st.c.out.Add(1)
	}
	fn.ac.in.Add(1)
	t := int64(ts)
	a := fn.a
	if rec.WM != math.MinInt64 && lastEnd(a.op.Window, t) <= rec.WM {
		return // late: no late output asked for, dropped as Beam would
	}
	fn.env.Rows[0] = r
	kb := binary.AppendUvarint(fn.kb[:0], uint64(len(a.keys)))
	for i, k := range a.keys {
		kb = row.AppendValue(kb, expr.Coerce(k(&fn.env), a.ktypes[i]))
	}
	fn.kb = kb
	pk := paneKey{key: string(kb), pane: floorDiv(t, fn.pane) * fn.pane}
	acc := fn.parts[pk]
	if acc == nil {
		acc = a.newAccum()
		fn.parts[pk] = acc
	}
	for i, arg := range a.args {
		var v any = true
		if arg != nil {
			v = arg(&fn.env)
		}
		acc.S[i] = a.aggs[i].Add(acc.S[i], v, t)
	}
}

// fusedAggregate reads a source with its chain and aggregate fused and
// finishes the aggregate from the pane partials.
func fusedAggregate(s beam.Scope, e *Encoded, src *ir.Node, chain []ir.NodeID, aggID ir.NodeID) (out, dead beam.PCollection) {
	ref := e.Ref(src.ID)
	aref := e.Ref(aggID)
	fn := &readAggFn{readFn: readFn{NodeRef: ref}, Agg: int32(aggID)}
	for _, id := range chain {
		fn.Chain = append(fn.Chain, int32(id))
	}
	sc := s.Scope(src.Name)
	imp := beam.Impulse(sc)
	parts := beam.ParDo(sc, &listPartitionsFn{NodeRef: ref}, imp)
	partials, dead := beam.ParDo2(sc, fn, parts)
	an := e.Pipeline.Node(aggID)
	as := s.Scope(an.Name)
	w := an.Op.(*ir.Aggregate).Window
	fin := &aggFinalizeFn{NodeRef: aref}
	merge := &mergeCombineFn{aggCombineFn{NodeRef: aref}}
	var grouped beam.PCollection
	switch w.Kind {
	case ir.Tumble:
		grouped = beam.CombinePerKey(as, merge, beam.WindowInto(as, window.NewFixedWindows(w.Size), partials))
	case ir.Hop:
		grouped = beam.CombinePerKey(as, merge, beam.WindowInto(as, window.NewSlidingWindows(w.Slide, w.Size), partials))
	case ir.Cumulate:
		panes := beam.CombinePerKey(as, merge, beam.WindowInto(as, window.NewFixedWindows(w.Step), partials))
		cum := beam.ParDo(as, &cumulateExplodeFn{Step: w.Step, Size: w.Size, Offset: w.Offset}, panes)
		grouped = beam.CombinePerKey(as, merge, beam.WindowInto(as, window.NewFixedWindows(w.Size), cum))
		fin.Cumulative = true
	}
	out = beam.ParDo(as, fin, grouped)
	return beam.WindowInto(as, window.NewGlobalWindows(), out), dead
}
