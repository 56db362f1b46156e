package beamrt

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	register.DoFn4x1[beam.EventTime, Rec, func(string, Rec), func(Rec), error](&aggKeyFn{})
	register.Emitter2[string, Rec]()
	register.Combiner3[*Accum, Rec, *Accum](&aggCombineFn{})
	register.Combiner3[*Accum, *Accum, *Accum](&mergeCombineFn{})
	register.DoFn4x1[typex.Window, string, *Accum, func(Rec), error](&aggFinalizeFn{})
	register.DoFn4x1[state.Provider, string, Rec, func(Rec), error](&changesOnlyFn{})
	register.DoFn2x0[Rec, func(string, Rec)](&keyByRowFn{})
	register.DoFn4x1[typex.Window, string, *Accum, func(string, *Accum), error](&cumulateExplodeFn{})
	register.Emitter2[string, *Accum]()
}

// aggPlan is an Aggregate node compiled: grouping keys, one slot per
// aggregate call (its argument and combiner), the output columns over the
// slots, and HAVING over the output row.
type aggPlan struct {
	node   *ir.Node
	op     *ir.Aggregate
	keys   []expr.Eval
	ktypes []*rtype.Type
	args   []expr.Eval // per slot; nil = count()
	aggs   []*expr.Agg
	cols   []expr.Eval
	ctypes []*rtype.Type
	having expr.Eval
}

func compileAggregate(p *Plan, n *ir.Node) (*aggPlan, error) {
	op, ok := n.Op.(*ir.Aggregate)
	if !ok {
		return nil, fmt.Errorf("node %q is not an aggregate", n.Name)
	}
	in := inputType(p.Pipeline, n, 0)
	o := &expr.Options{Inputs: [2]*rtype.Type{in}}
	a := &aggPlan{node: n, op: op}
	for _, k := range op.Keys {
		ev, err := expr.Compile(k.Expr, o)
		if err != nil {
			return nil, fmt.Errorf("aggregate %q key %q: %v", n.Name, k.Name, err)
		}
		a.keys = append(a.keys, ev)
		a.ktypes = append(a.ktypes, k.Expr.Type)
	}
	slots := map[*ir.Expr]int{}
	for _, c := range op.Columns {
		var werr error
		c.Expr.Walk(func(x *ir.Expr) bool {
			if x.Kind != ir.Call || !x.Fn.IsAggregate() {
				return true
			}
			slots[x] = len(a.aggs)
			var arg expr.Eval
			if len(x.Args) > 0 {
				arg, werr = expr.Compile(x.Args[0], o)
			}
			a.args = append(a.args, arg)
			var argT *rtype.Type
			if len(x.Args) > 0 {
				argT = x.Args[0].Type
			}
			a.aggs = append(a.aggs, expr.NewAgg(x.Fn, argT, x.Type, expr.AggParam(x)))
			return false
		})
		if werr != nil {
			return nil, fmt.Errorf("aggregate %q column %q: %v", n.Name, c.Name, werr)
		}
	}
	co := &expr.Options{Inputs: [2]*rtype.Type{in}, AggSlot: func(x *ir.Expr) (int, bool) {
		s, ok := slots[x]
		return s, ok
	}}
	for _, c := range op.Columns {
		ev, err := expr.Compile(c.Expr, co)
		if err != nil {
			return nil, fmt.Errorf("aggregate %q column %q: %v", n.Name, c.Name, err)
		}
		a.cols = append(a.cols, ev)
		a.ctypes = append(a.ctypes, c.Expr.Type)
	}
	if op.Having != nil {
		ev, err := expr.Compile(op.Having, &expr.Options{Inputs: [2]*rtype.Type{n.Out}})
		if err != nil {
			return nil, fmt.Errorf("aggregate %q having: %v", n.Name, err)
		}
		a.having = ev
	}
	return a, nil
}

func (a *aggPlan) newAccum() *Accum {
	acc := &Accum{S: make([]*expr.State, len(a.aggs))}
	for i, g := range a.aggs {
		acc.S[i] = g.New()
	}
	return acc
}

// aggKeyFn evaluates the grouping key and the aggregate arguments: the
// combiners then only fold values (and less crosses the shuffle).
//
// It also routes late rows: when the input comes from sources through
// stateless operators, a row whose last window has closed (its end plus
// the allowed lateness is at or before the watermark) goes to the late
// output instead of being dropped by the shuffle.
type aggKeyFn struct {
	NodeRef
	a       *aggPlan
	env     expr.Env
	c       *nodeCounters
	sources []string
	late    *nodeCounters
}

func (fn *aggKeyFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.a, err = compileAggregate(p, n)
	fn.c = Counters(n.Name)
	if fn.a != nil && fn.a.op.Window != nil && len(n.Inputs) == 1 {
		if srcs, ok := statelessSources(p.Pipeline, n.Inputs[0]); ok {
			fn.sources = srcs
		}
	}
	if fn.a != nil && fn.a.op.Late != 0 {
		fn.late = Counters(p.Pipeline.Node(fn.a.op.Late).Name)
	}
	return err
}

// lastEnd is the end (unix ms) of the last window containing ts.
func lastEnd(w *ir.Window, ts int64) int64 {
	switch w.Kind {
	case ir.Tumble, ir.Cumulate:
		size := w.Size.Milliseconds()
		return floorDiv(ts, size)*size + size
	case ir.Hop:
		slide := w.Slide.Milliseconds()
		return floorDiv(ts, slide)*slide + w.Size.Milliseconds()
	case ir.Session:
		return ts + w.Gap.Milliseconds()
	}
	return math.MaxInt64
}

func (fn *aggKeyFn) ProcessElement(ts beam.EventTime, rec Rec, emit func(string, Rec), late func(Rec)) error {
	r := rec.Row
	fn.c.in.Add(1)
	if fn.sources != nil && rec.WM != math.MinInt64 {
		wm := min(rec.WM, sourcesWatermark(fn.sources))
		if lastEnd(fn.a.op.Window, int64(ts))+fn.a.op.AllowedLateness.Milliseconds() <= wm {
			if fn.late != nil {
				fn.late.in.Add(1)
				fn.late.out.Add(1)
			}
			late(rec)
			return nil
		}
	}
	fn.env.Rows[0] = r
	var kb []byte
	kb = binary.AppendUvarint(kb, uint64(len(fn.a.keys)))
	for i, k := range fn.a.keys {
		kb = row.AppendValue(kb, expr.Coerce(k(&fn.env), fn.a.ktypes[i]))
	}
	v := make(row.Row, len(fn.a.args)+1)
	for i, arg := range fn.a.args {
		if arg == nil {
			v[i] = true // count(): every row counts
		} else {
			v[i] = arg(&fn.env)
		}
	}
	v[len(fn.a.args)] = int64(ts)
	emit(string(kb), Rec{Row: v})
	return nil
}

// aggCombineFn folds argument rows into accumulators (lifted by the
// runner before the shuffle).
type aggCombineFn struct {
	NodeRef
	a *aggPlan
}

func (fn *aggCombineFn) plan() *aggPlan {
	if fn.a == nil {
		p, n, err := fn.resolve()
		if err != nil {
			panic(err)
		}
		if fn.a, err = compileAggregate(p, n); err != nil {
			panic(err)
		}
	}
	return fn.a
}

func (fn *aggCombineFn) CreateAccumulator() *Accum { return fn.plan().newAccum() }

func (fn *aggCombineFn) AddInput(acc *Accum, in Rec) *Accum {
	v := in.Row
	a := fn.plan()
	ts := v[len(v)-1].(int64)
	for i, g := range a.aggs {
		acc.S[i] = g.Add(acc.S[i], v[i], ts)
	}
	return acc
}

func (fn *aggCombineFn) MergeAccumulators(x, y *Accum) *Accum {
	a := fn.plan()
	for i, g := range a.aggs {
		x.S[i] = g.Merge(x.S[i], y.S[i])
	}
	return x
}

func (fn *aggCombineFn) ExtractOutput(acc *Accum) *Accum { return acc }

// mergeCombineFn merges pane accumulators into window accumulators (pane
// slicing: hop and cumulate windows are merged from panes of the slide).
type mergeCombineFn struct {
	aggCombineFn
}

func (fn *mergeCombineFn) CreateAccumulator() *Accum { return fn.plan().newAccum() }

func (fn *mergeCombineFn) AddInput(acc *Accum, v *Accum) *Accum { return fn.MergeAccumulators(acc, v) }

func (fn *mergeCombineFn) MergeAccumulators(x, y *Accum) *Accum {
	return fn.aggCombineFn.MergeAccumulators(x, y)
}

func (fn *mergeCombineFn) ExtractOutput(acc *Accum) *Accum { return acc }

// aggFinalizeFn turns (key, accumulator) in a window into the output row:
// window_start, window_end, keys, columns; HAVING filters.
type aggFinalizeFn struct {
	NodeRef
	// Cumulative: the key carries the window end after the group key.
	Cumulative bool
	a          *aggPlan
	c          *nodeCounters
}

func (fn *aggFinalizeFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.a, err = compileAggregate(p, n)
	fn.c = Counters(n.Name)
	return err
}

func decodeKey(k string) (row.Row, []byte, error) {
	b := []byte(k)
	n, l := binary.Uvarint(b)
	if l <= 0 || n > uint64(len(b)) {
		return nil, nil, fmt.Errorf("beamrt: bad group key")
	}
	b = b[l:]
	out := make(row.Row, n)
	var err error
	for i := range out {
		out[i], b, err = row.ReadValue(b)
		if err != nil {
			return nil, nil, err
		}
	}
	return out, b, nil
}

func (fn *aggFinalizeFn) ProcessElement(w typex.Window, key string, acc *Accum, emit func(Rec)) error {

	keys, rest, err := decodeKey(key)
	if err != nil {
		return err
	}
	a := fn.a
	var out row.Row
	if a.op.Window != nil {
		iw, ok := w.(window.IntervalWindow)
		if !ok {
			return fmt.Errorf("aggregate %q: window %v is not an interval", a.node.Name, w)
		}
		start, end := iw.Start.ToTime().UTC(), iw.End.ToTime().UTC()
		if fn.Cumulative {
			e, _ := binary.Varint(rest)
			end = time.UnixMilli(e).UTC()
		}
		out = append(out, start, end)
	}
	out = append(out, keys...)
	env := expr.Env{Aggs: make([]any, len(a.aggs))}
	for i, g := range a.aggs {
		env.Aggs[i] = g.Result(acc.S[i])
	}
	for i, c := range a.cols {
		out = append(out, expr.Coerce(c(&env), a.ctypes[i]))
	}
	if a.having != nil {
		if !expr.Truthy(a.having(&expr.Env{Rows: [2]row.Row{out}})) {
			return nil
		}
	}
	fn.c.out.Add(1)
	emit(Rec{Row: out, WM: math.MinInt64})
	return nil
}

// cumulateExplodeFn sends a pane's accumulator to every cumulative window
// of its period that contains it: ends pane_end, pane_end+step, …, period
// end.
type cumulateExplodeFn struct {
	Step, Size, Offset time.Duration
}

func (fn *cumulateExplodeFn) ProcessElement(w typex.Window, key string, acc *Accum, emit func(string, *Accum)) error {
	iw, ok := w.(window.IntervalWindow)
	if !ok {
		return fmt.Errorf("cumulate: pane %v is not an interval", w)
	}
	paneEnd := iw.End.ToTime().UnixMilli()
	size, step, off := fn.Size.Milliseconds(), fn.Step.Milliseconds(), fn.Offset.Milliseconds()
	start := floorDiv(paneEnd-1-off, size)*size + off
	for end := paneEnd; end <= start+size; end += step {
		emit(key+string(binary.AppendVarint(nil, end)), acc)
	}
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Aggregate applies an Aggregate node: windows (tumble, hop as panes of
// the slide, session, cumulate as panes of the step), a lifted combiner
// per key, then the output rows, re-windowed into the global window so
// downstream stateful operators see one stream.
//
// late holds the rows judged late (see aggKeyFn), for a LateOutput node.
func Aggregate(s beam.Scope, ref NodeRef, in beam.PCollection) (out, late beam.PCollection, err error) {
	p, n, err := ref.resolve()
	if err != nil {
		return out, late, err
	}
	op := n.Op.(*ir.Aggregate)
	if _, err := compileAggregate(p, n); err != nil {
		return out, late, err
	}
	// opts window the final aggregation; paneOpts the panes of hop and
	// cumulate windows, which must discard (a pane fired again would be
	// merged twice; a late pane carries only the late rows).
	var opts, paneOpts []beam.WindowIntoOption
	fin := &aggFinalizeFn{NodeRef: ref}
	if op.Window != nil && op.AllowedLateness > 0 {
		if _, ok := statelessSources(p.Pipeline, n.Inputs[0]); !ok {
			// After a window or stateful operator the source cannot hold
			// the watermark for us: Beam's lateness, accumulating panes.
			opts = append(opts, beam.AllowedLateness(op.AllowedLateness), beam.PanesAccumulate())
			paneOpts = append(paneOpts, beam.AllowedLateness(op.AllowedLateness), beam.PanesDiscard())
		}
	}
	keyed, late := beam.ParDo2(s, &aggKeyFn{NodeRef: ref}, in)
	var grouped beam.PCollection
	w := op.Window
	switch {
	case w == nil:
		grouped = beam.CombinePerKey(s, &aggCombineFn{NodeRef: ref}, keyed)
	case w.Offset != 0:
		return out, late, fmt.Errorf("aggregate %q: window offsets are not supported by the Beam runtime", n.Name)
	case w.Kind == ir.Tumble:
		keyed = beam.WindowInto(s, window.NewFixedWindows(w.Size), keyed, opts...)
		grouped = beam.CombinePerKey(s, &aggCombineFn{NodeRef: ref}, keyed)
	case w.Kind == ir.Session:
		keyed = beam.WindowInto(s, window.NewSessions(w.Gap), keyed, opts...)
		grouped = beam.CombinePerKey(s, &aggCombineFn{NodeRef: ref}, keyed)
	case w.Kind == ir.Hop:
		if w.Slide <= 0 || w.Size <= 0 {
			return out, late, fmt.Errorf("aggregate %q: hop window needs size and slide", n.Name)
		}
		if w.Size%w.Slide == 0 {
			// Pane slicing: each row is folded once into its pane; windows
			// merge size/slide pane accumulators.
			panes := beam.WindowInto(s, window.NewFixedWindows(w.Slide), keyed, paneOpts...)
			pacc := beam.CombinePerKey(s, &aggCombineFn{NodeRef: ref}, panes)
			hop := beam.WindowInto(s, window.NewSlidingWindows(w.Slide, w.Size), pacc, opts...)
			grouped = beam.CombinePerKey(s, &mergeCombineFn{aggCombineFn{NodeRef: ref}}, hop)
		} else {
			keyed = beam.WindowInto(s, window.NewSlidingWindows(w.Slide, w.Size), keyed, opts...)
			grouped = beam.CombinePerKey(s, &aggCombineFn{NodeRef: ref}, keyed)
		}
	case w.Kind == ir.Cumulate:
		if w.Step <= 0 || w.Size <= 0 || w.Size%w.Step != 0 {
			return out, late, fmt.Errorf("aggregate %q: cumulate window size must be a multiple of the step", n.Name)
		}
		panes := beam.WindowInto(s, window.NewFixedWindows(w.Step), keyed, paneOpts...)
		pacc := beam.CombinePerKey(s, &aggCombineFn{NodeRef: ref}, panes)
		cum := beam.ParDo(s, &cumulateExplodeFn{Step: w.Step, Size: w.Size, Offset: w.Offset}, pacc)
		cum = beam.WindowInto(s, window.NewFixedWindows(w.Size), cum, opts...)
		grouped = beam.CombinePerKey(s, &mergeCombineFn{aggCombineFn{NodeRef: ref}}, cum)
		fin.Cumulative = true
	default:
		return out, late, fmt.Errorf("aggregate %q: unknown window kind %q", n.Name, w.Kind)
	}
	out = beam.ParDo(s, fin, grouped)
	if len(opts) > 0 {
		// Accumulating panes repeat a window's row when it fires again
		// (late rows, expiry): emit a row only when it changed, so an
		// upsert sink sees each version once.
		out = beam.ParDo(s, &changesOnlyFn{}, beam.ParDo(s, &keyByRowFn{Keys: len(op.Keys)}, out))
	}
	if w != nil {
		out = beam.WindowInto(s, window.NewGlobalWindows(), out)
	}
	return out, late, nil
}

// keyByRowFn keys a window row by window_start and the group keys.
type keyByRowFn struct {
	Keys int
}

func (fn *keyByRowFn) ProcessElement(r Rec, emit func(string, Rec)) {
	n := min(2+fn.Keys, len(r.Row))
	emit(row.Key(r.Row[:n]), r)
}

// changesOnlyFn drops a window row identical to the last one emitted for
// its key (state per key and window).
type changesOnlyFn struct {
	Last state.Value[string]
}

func (fn *changesOnlyFn) ProcessElement(sp state.Provider, _ string, r Rec, emit func(Rec)) error {
	enc := row.Key(r.Row)
	last, ok, err := fn.Last.Read(sp)
	if err != nil {
		return err
	}
	if ok && last == enc {
		return nil
	}
	if err := fn.Last.Write(sp, enc); err != nil {
		return err
	}
	emit(r)
	return nil
}
