package cep

import (
	"fmt"
	"sort"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

// Matcher is a compiled pattern; it is immutable and safe for concurrent
// use with distinct States.
type Matcher struct {
	op       *ir.Pattern
	vars     []string
	varIdx   map[string]int
	defines  []expr.Eval // by variable; nil: matches every row
	keys     []expr.Eval
	measures []expr.Eval
	outTypes []*rtype.Type // keys then measures
	states   []nstate
	start    int
	within   int64 // ms; 0: none
	skipVar  int
	// tracked: variables whose rows some expression or the skip strategy
	// reads; the others only count rows, so that "X*?" between two
	// variables keeps no history (state stays linear in the rows).
	tracked []bool
}

// Compile builds the matcher of op over input rows of type in. out is the
// node's output type (partition keys then measures) for coercion; nil
// leaves values as computed.
func Compile(op *ir.Pattern, in, out *rtype.Type) (m *Matcher, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("pattern %q: %v", op.Text, r)
		}
	}()
	if why := Unsupported(op); len(why) > 0 {
		return nil, fmt.Errorf("pattern %q: %s", op.Text, why[0])
	}
	m = &Matcher{op: op, varIdx: map[string]int{}, within: op.Within.Milliseconds(), skipVar: -1}
	for _, t := range op.Terms {
		if _, ok := m.varIdx[t.Var]; !ok {
			m.varIdx[t.Var] = len(m.vars)
			m.vars = append(m.vars, t.Var)
		}
	}
	if op.Skip == ir.SkipToFirst || op.Skip == ir.SkipToLast {
		m.skipVar = m.varIdx[op.SkipTo]
	}
	o := &expr.Options{Inputs: [2]*rtype.Type{in}, Pattern: true}
	m.defines = make([]expr.Eval, len(m.vars))
	for _, d := range op.Define {
		v, ok := m.varIdx[d.Name]
		if !ok {
			return nil, fmt.Errorf("pattern %q: define of unknown variable %q", op.Text, d.Name)
		}
		if m.defines[v], err = expr.Compile(d.Expr, o); err != nil {
			return nil, fmt.Errorf("pattern %q: define %s: %v", op.Text, d.Name, err)
		}
	}
	for _, k := range op.PartitionBy {
		ev, err := expr.Compile(k.Expr, &expr.Options{Inputs: [2]*rtype.Type{in}})
		if err != nil {
			return nil, fmt.Errorf("pattern %q: partition key %s: %v", op.Text, k.Name, err)
		}
		m.keys = append(m.keys, ev)
		m.outTypes = append(m.outTypes, k.Expr.Type)
	}
	for _, c := range op.Measures {
		ev, err := expr.Compile(c.Expr, o)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: measure %s: %v", op.Text, c.Name, err)
		}
		m.measures = append(m.measures, ev)
		m.outTypes = append(m.outTypes, c.Expr.Type)
	}
	if out != nil && out.Kind == rtype.Record && len(out.Fields) == len(m.outTypes) {
		for i, f := range out.Fields {
			m.outTypes[i] = f.Type
		}
	}
	m.tracked = make([]bool, len(m.vars))
	if m.skipVar >= 0 {
		m.tracked[m.skipVar] = true
	}
	var exprs []*ir.Expr
	for _, d := range op.Define {
		exprs = append(exprs, d.Expr)
	}
	for _, c := range op.Measures {
		exprs = append(exprs, c.Expr)
	}
	for _, e := range exprs {
		e.Walk(func(x *ir.Expr) bool {
			switch {
			case x.Kind == ir.Ref && x.Var != "":
				if v, ok := m.varIdx[x.Var]; ok {
					m.tracked[v] = true
				}
			case x.Kind == ir.Call && x.Fn.IsAggregate() && aggVar(x) == "":
				// over all rows of the match
				for v := range m.tracked {
					m.tracked[v] = true
				}
			}
			return true
		})
	}
	// Built backwards from the final state, as NFACompiler does.
	b := &builder{}
	sink := b.add(-1)
	for i := len(op.Terms) - 1; i >= 0; i-- {
		sink = b.term(op.Terms[i], m.varIdx[op.Terms[i].Var], sink)
	}
	m.states, m.start = b.states, sink
	return m, nil
}

// aggVar is the variable an aggregate call ranges over, as runtime/expr
// resolves it: the first qualified reference in its arguments ("" = all
// rows of the match).
func aggVar(e *ir.Expr) string {
	for _, a := range e.Args {
		for _, r := range a.Refs() {
			if r.Var != "" {
				return r.Var
			}
		}
	}
	return ""
}

// Vars returns the pattern variables in order of first appearance.
func (m *Matcher) Vars() []string { return m.vars }

// Keys computes the partition key values of a row.
func (m *Matcher) Keys(r row.Row) []any {
	env := &expr.Env{}
	env.Rows[0] = r
	out := make([]any, len(m.keys))
	for i, k := range m.keys {
		out[i] = expr.Coerce(k(env), m.outTypes[i])
	}
	return out
}

type bufRow struct {
	seq int64
	ts  int64
	row row.Row
}

// node is one row of a partial match: a persistent list per variable
// (prev: the variable's previous row in this match), shared by the
// partial matches that branched from the same prefix, like Flink's
// shared buffer.
type node struct {
	seq  int64
	prev int32
}

type partial struct {
	state    int
	startSeq int64
	startTs  int64
	lastSeq  int64
	lastTs   int64
	heads    []int32 // by variable: last node, -1 none
	counts   []int32
	order    int64 // creation order: ties of the start row keep it
}

// State is one partition's matching state: partial matches, completed
// matches waiting for an earlier partial match, and the rows they use.
type State struct {
	seq       int64
	order     int64
	rows      []bufRow // by seq
	nodes     []node
	partials  []*partial
	completed []*partial
	// Dropped counts rows that arrived at or before the last time the
	// state advanced (late for the matcher).
	lastTs int64
	begun  bool
}

// NewState returns the empty state of a partition.
func (m *Matcher) NewState() *State { return &State{} }

// Pending reports whether the state holds partial or completed matches.
func (s *State) Pending() bool { return len(s.partials) > 0 || len(s.completed) > 0 }

// Deadline is the event time at which the earliest partial match times
// out (WITHIN), or false when none can.
func (m *Matcher) Deadline(s *State) (int64, bool) {
	if m.within <= 0 || len(s.partials) == 0 {
		return 0, false
	}
	d := s.partials[0].startTs
	for _, p := range s.partials[1:] {
		d = min(d, p.startTs)
	}
	return d + m.within, true
}

func (s *State) row(seq int64) row.Row {
	i := sort.Search(len(s.rows), func(i int) bool { return s.rows[i].seq >= seq })
	if i < len(s.rows) && s.rows[i].seq == seq {
		return s.rows[i].row
	}
	return nil
}

func (s *State) rowTs(seq int64) int64 {
	i := sort.Search(len(s.rows), func(i int) bool { return s.rows[i].seq >= seq })
	if i < len(s.rows) && s.rows[i].seq == seq {
		return s.rows[i].ts
	}
	return 0
}

// seqs returns the rows mapped to variable v in p, in order.
func (s *State) seqs(p *partial, v int) []int64 {
	if p == nil || v < 0 || v >= len(p.heads) {
		return nil
	}
	out := make([]int64, 0, p.counts[v])
	for n := p.heads[v]; n >= 0 && int(n) < len(s.nodes); n = s.nodes[n].prev {
		out = append(out, s.nodes[n].seq)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Result is one match: the output row (partition keys, then measures) and
// the event times of its first and last rows.
type Result struct {
	Row         row.Row
	First, Last int64
}

// view is what an expression sees of a (partial) match: Env.Match.
type view struct {
	m     *Matcher
	s     *State
	p     *partial // nil: the start state (no rows yet)
	extra int      // the variable the current row is tried as, or -1
	cur   row.Row
	cache map[int][]row.Row
}

func (w *view) Rows(name string) []row.Row {
	v := -2 // all rows
	if name != "" {
		i, ok := w.m.varIdx[name]
		if !ok {
			return nil
		}
		v = i
	}
	if rs, ok := w.cache[v]; ok {
		return rs
	}
	var seqs []int64
	if v == -2 {
		if w.p != nil {
			for i := range w.m.vars {
				seqs = append(seqs, w.s.seqs(w.p, i)...)
			}
			sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		}
	} else {
		seqs = w.s.seqs(w.p, v)
	}
	rs := make([]row.Row, 0, len(seqs)+1)
	for _, q := range seqs {
		rs = append(rs, w.s.row(q))
	}
	if w.extra >= 0 && (v == -2 || v == w.extra) {
		rs = append(rs, w.cur)
	}
	if w.cache == nil {
		w.cache = map[int][]row.Row{}
	}
	w.cache[v] = rs
	return rs
}

// step evaluates conditions of one partial match against one row,
// memoising each variable's DEFINE.
type step struct {
	m    *Matcher
	s    *State
	p    *partial
	cur  row.Row
	memo []int8 // 0 unknown, 1 true, 2 false
}

func (st *step) define(v int) bool {
	if st.memo[v] != 0 {
		return st.memo[v] == 1
	}
	ok := true
	if d := st.m.defines[v]; d != nil {
		env := &expr.Env{Match: &view{m: st.m, s: st.s, p: st.p, extra: v, cur: st.cur}}
		env.Rows[0] = st.cur
		ok = expr.Truthy(d(env))
	}
	st.memo[v] = 2
	if ok {
		st.memo[v] = 1
	}
	return ok
}

func (st *step) holds(c []lit) bool {
	for _, l := range c {
		if st.define(l.v) == l.neg {
			return false
		}
	}
	return true
}

type takeEdge struct{ from, to int }

// edges is createDecisionGraph: the TAKE edges reachable from state
// through PROCEED edges whose conditions hold for the row.
func (st *step) edges(state int) []takeEdge {
	var out []takeEdge
	stack := []int{state}
	for guard := 0; len(stack) > 0 && guard < 4*len(st.m.states)+4; guard++ {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range st.m.states[cur].edges {
			if !st.holds(e.cond) {
				continue
			}
			if e.take {
				out = append(out, takeEdge{cur, e.target})
			} else {
				stack = append(stack, e.target)
			}
		}
	}
	return out
}

// finalAfterProceed is findFinalStateAfterProceed: whether the final
// state is reachable from state through PROCEED edges holding for the row
// (evaluated, as Flink does, against the match before the row was taken).
func (st *step) finalAfterProceed(state int) bool {
	stack := []int{state}
	for guard := 0; len(stack) > 0 && guard < 4*len(st.m.states)+4; guard++ {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, e := range st.m.states[cur].edges {
			if e.take || !st.holds(e.cond) {
				continue
			}
			if st.m.states[e.target].v < 0 {
				return true
			}
			stack = append(stack, e.target)
		}
	}
	return false
}

func (m *Matcher) isFinal(state int) bool { return m.states[state].v < 0 }

func less(a, b *partial) bool {
	if a.startSeq != b.startSeq {
		return a.startSeq < b.startSeq
	}
	return a.order < b.order
}

// Advance is Flink's advanceTime: partial matches that started at least
// WITHIN before ts time out, which may release completed matches that
// waited for them.
func (m *Matcher) Advance(s *State, ts int64) (out []Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("pattern %q: %v", m.op.Text, r)
		}
	}()
	if s.begun && ts > s.lastTs {
		// the matcher's time only moves forward: rows older than this
		// are late (Flink drops rows behind the watermark)
		s.lastTs = ts
	}
	if m.within > 0 {
		kept := s.partials[:0]
		for _, p := range s.partials {
			if ts-p.startTs < m.within {
				kept = append(kept, p)
			}
		}
		s.partials = kept
	}
	return m.release(s)
}

// Process advances the state by one row with event time ts; rows must
// come in event-time order (a row older than the last one is dropped and
// reported by ok == false).
func (m *Matcher) Process(s *State, r row.Row, ts int64) (out []Result, ok bool, err error) {
	defer func() {
		if rec := recover(); rec != nil {
			out, ok, err = nil, true, fmt.Errorf("pattern %q: %v", m.op.Text, rec)
		}
	}()
	if s.begun && ts < s.lastTs {
		return nil, false, nil
	}
	released, err := m.Advance(s, ts)
	if err != nil {
		return nil, true, err
	}
	out = released
	s.begun, s.lastTs = true, ts
	seq := s.seq
	s.seq++
	s.rows = append(s.rows, bufRow{seq: seq, ts: ts, row: r})
	var next, done []*partial
	extend := func(p *partial, v, to int, st *step) {
		np := &partial{state: to, startSeq: seq, startTs: ts, lastSeq: seq, lastTs: ts, order: s.order}
		s.order++
		if p != nil {
			np.startSeq, np.startTs = p.startSeq, p.startTs
			np.heads = append([]int32(nil), p.heads...)
			np.counts = append([]int32(nil), p.counts...)
		} else {
			np.heads = make([]int32, len(m.vars))
			for i := range np.heads {
				np.heads[i] = -1
			}
			np.counts = make([]int32, len(m.vars))
		}
		if m.tracked[v] {
			s.nodes = append(s.nodes, node{seq: seq, prev: np.heads[v]})
			np.heads[v] = int32(len(s.nodes) - 1)
		}
		np.counts[v]++
		if m.isFinal(to) {
			done = append(done, np)
			return
		}
		next = append(next, np)
		if st.finalAfterProceed(to) {
			fp := *np
			fp.heads = append([]int32(nil), np.heads...)
			fp.counts = append([]int32(nil), np.counts...)
			fp.state, fp.order = -1, s.order
			s.order++
			done = append(done, &fp)
		}
	}
	advance := func(p *partial, state int) {
		st := &step{m: m, s: s, p: p, cur: r, memo: make([]int8, len(m.vars))}
		for _, e := range st.edges(state) {
			extend(p, m.states[e.from].v, e.to, st)
		}
	}
	for _, p := range s.partials {
		advance(p, p.state)
	}
	advance(nil, m.start) // the start state is always there
	sort.SliceStable(next, func(i, j int) bool { return less(next[i], next[j]) })
	s.partials = next
	s.completed = append(s.completed, done...)
	rel, err := m.release(s)
	if err != nil {
		return out, true, err
	}
	out = append(out, rel...)
	m.gc(s, false)
	return out, true, nil
}

// release is processMatchesAccordingToSkipStrategy: completed matches
// are emitted in order of their first row while no partial match started
// earlier; each emitted match prunes partial and completed matches by the
// skip strategy.
func (m *Matcher) release(s *State) ([]Result, error) {
	var out []Result
	sort.SliceStable(s.completed, func(i, j int) bool { return less(s.completed[i], s.completed[j]) })
	for len(s.completed) > 0 {
		c := s.completed[0]
		if len(s.partials) > 0 && s.partials[0].startSeq < c.startSeq {
			break
		}
		s.completed = s.completed[1:]
		prune, strict, err := m.pruning(s, c)
		if err != nil {
			return out, err
		}
		var kept []*partial
		for _, p := range s.partials {
			if p.startSeq < prune || (!strict && p.startSeq == prune) {
				continue
			}
			kept = append(kept, p)
		}
		s.partials = kept
		kept = nil
		for _, p := range s.completed {
			if p.startSeq < prune || (!strict && p.startSeq == prune) {
				continue
			}
			kept = append(kept, p)
		}
		s.completed = kept
		out = append(out, m.result(s, c))
	}
	return out, nil
}

// pruning returns the row id partial matches are pruned up to: those
// starting before it, and (not strict) at it.
func (m *Matcher) pruning(s *State, c *partial) (int64, bool, error) {
	switch m.op.Skip {
	case ir.SkipToNextRow:
		return c.startSeq, false, nil
	case ir.SkipToFirst, ir.SkipToLast:
		seqs := s.seqs(c, m.skipVar)
		if len(seqs) == 0 {
			return 0, true, fmt.Errorf("pattern %q: could not skip to %s: no row of the match is mapped to it (Flink fails the job likewise)", m.op.Text, m.op.SkipTo)
		}
		id := seqs[0]
		if m.op.Skip == ir.SkipToLast {
			id = seqs[len(seqs)-1]
		}
		if id == c.startSeq {
			return 0, true, fmt.Errorf("pattern %q: could not skip to the first row of a match (%s %s; Flink fails the job likewise)", m.op.Text, m.op.Skip, m.op.SkipTo)
		}
		return id, true, nil
	}
	return c.lastSeq, false, nil
}

// result computes the output row of a completed match.
func (m *Matcher) result(s *State, c *partial) Result {
	w := &view{m: m, s: s, p: c, extra: -1}
	env := &expr.Env{Match: w}
	first, last := s.row(c.startSeq), s.row(c.lastSeq)
	out := make(row.Row, 0, len(m.outTypes))
	env.Rows[0] = first
	for i, k := range m.keys {
		out = append(out, expr.Coerce(k(env), m.outTypes[i]))
	}
	// Unqualified columns in measures are the last row of the match.
	env.Rows[0] = last
	for i, ms := range m.measures {
		out = append(out, expr.Coerce(ms(env), m.outTypes[len(m.keys)+i]))
	}
	return Result{Row: out, First: c.startTs, Last: c.lastTs}
}

// gc drops rows and nodes no partial or completed match references, so a
// partition's state is bounded by its live matches.
func (m *Matcher) gc(s *State, force bool) {
	if !force && len(s.nodes) < 32 && len(s.rows) < 32 {
		return
	}
	live := append(append([]*partial(nil), s.partials...), s.completed...)
	remap := make([]int32, len(s.nodes))
	for i := range remap {
		remap[i] = -1
	}
	var order []int32
	for _, p := range live {
		for _, h := range p.heads {
			for n := h; n >= 0 && int(n) < len(s.nodes) && remap[n] == -1; n = s.nodes[n].prev {
				remap[n] = -2
				order = append(order, n)
			}
		}
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	for i, n := range order {
		remap[n] = int32(i)
	}
	nodes := make([]node, len(order))
	used := make(map[int64]bool, len(order))
	for i, n := range order {
		nd := s.nodes[n]
		if nd.prev >= 0 {
			nd.prev = remap[nd.prev]
		}
		nodes[i] = nd
		used[nd.seq] = true
	}
	for _, p := range live {
		for i, h := range p.heads {
			if h >= 0 {
				p.heads[i] = remap[h]
			}
		}
		// the first row gives the partition keys, the last one the
		// unqualified columns of measures
		used[p.startSeq], used[p.lastSeq] = true, true
	}
	s.nodes = nodes
	rows := s.rows[:0]
	for _, r := range s.rows {
		if used[r.seq] {
			rows = append(rows, r)
		}
	}
	s.rows = rows
}

// CompareRows orders rows with the same event time, so that a partition's
// rows meet the matcher in one order whatever order they arrived in
// (Flink takes them in arrival order, which a parallel runner does not
// keep): field by field, nulls first, values by expr.Compare, then by
// their encoding.
func CompareRows(a, b row.Row) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil:
			return -1
		case y == nil:
			return 1
		}
		if c, ok := expr.Compare(x, y); ok && c != 0 {
			return c
		}
	}
	ka, kb := row.Key(a), row.Key(b)
	switch {
	case ka < kb:
		return -1
	case ka > kb:
		return 1
	}
	return 0
}
