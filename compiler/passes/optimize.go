package passes

import (
	"container/heap"

	"rtsap.dev/rtsapc/compiler/expr"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

// The optimisations run only on pipelines without errors, after check.
// Each keeps the meaning of the pipeline exactly; a node that replaces
// several takes the name and position of the first (upstream) one, so
// backend diagnostics still point at the user's spec.

// graph is a consumer index kept up to date while a pass rewires nodes,
// so that every pass is one sweep (no rescans after each rewrite).
type graph struct {
	p    *ir.Pipeline
	byID map[ir.NodeID]*ir.Node
	cons map[ir.NodeID][]*ir.Node
	gone map[ir.NodeID]bool
}

func newGraph(p *ir.Pipeline) *graph {
	g := &graph{p: p, byID: map[ir.NodeID]*ir.Node{}, cons: map[ir.NodeID][]*ir.Node{}, gone: map[ir.NodeID]bool{}}
	for _, n := range p.Nodes {
		g.byID[n.ID] = n
		for _, in := range n.Inputs {
			g.cons[in] = append(g.cons[in], n)
		}
	}
	return g
}

// sole returns the only consumer of n, or nil.
func (g *graph) sole(n *ir.Node) *ir.Node {
	if cs := g.cons[n.ID]; len(cs) == 1 {
		return cs[0]
	}
	return nil
}

// absorb makes keep (upstream) take over drop (its only consumer): keep
// gets drop's output, drop's consumers read keep, and drop goes.
func (g *graph) absorb(keep, drop *ir.Node) {
	keep.Out, keep.EventTime = drop.Out, drop.EventTime
	for _, c := range g.cons[drop.ID] {
		for i, in := range c.Inputs {
			if in == drop.ID {
				c.Inputs[i] = keep.ID
			}
		}
	}
	g.cons[keep.ID] = g.cons[drop.ID]
	delete(g.cons, drop.ID)
	g.gone[drop.ID] = true
}

// finish removes absorbed nodes and renumbers the rest in a topological
// order that keeps the previous order wherever the edges allow.
func (g *graph) finish() {
	var nodes []*ir.Node
	for _, n := range g.p.Nodes {
		if !g.gone[n.ID] {
			nodes = append(nodes, n)
		}
	}
	renumber(g.p, topoOrder(nodes))
}

// topoOrder sorts nodes topologically, preferring their current order.
func topoOrder(nodes []*ir.Node) []*ir.Node {
	pos := map[ir.NodeID]int{}
	for i, n := range nodes {
		pos[n.ID] = i
	}
	indeg := make([]int, len(nodes))
	cons := make([][]int, len(nodes))
	for i, n := range nodes {
		for _, in := range n.Inputs {
			j := pos[in]
			cons[j] = append(cons[j], i)
			indeg[i]++
		}
	}
	h := &intHeap{}
	for i := range nodes {
		if indeg[i] == 0 {
			heap.Push(h, i)
		}
	}
	out := make([]*ir.Node, 0, len(nodes))
	for h.Len() > 0 {
		i := heap.Pop(h).(int)
		out = append(out, nodes[i])
		for _, c := range cons[i] {
			if indeg[c]--; indeg[c] == 0 {
				heap.Push(h, c)
			}
		}
	}
	if len(out) != len(nodes) {
		panic("optimisation created a cycle")
	}
	return out
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// pushFilters moves a filter above the map that feeds it when the
// condition reads only columns the map passes through unchanged (renamed
// or not): the map then computes its columns only for records that pass.
// The condition is rewritten to the map's input names. Exact: the filter
// sees the same values either way. A filter climbs through every such map
// above it.
func pushFilters(u *Unit) {
	g := newGraph(u.P)
	changed := false
	// Each filter moved up leaves the maps it passed next to each other,
	// so the next filter may climb through many (moves are quadratic in a
	// chain). Each move therefore renames only the condition's references
	// (every map passed is pass-through for them); the condition is
	// rebuilt and unparsed once, at the end of the climb.
	byMap := map[*ir.Map]map[string]*ir.Expr{}
	colsOf := func(m *ir.Map) map[string]*ir.Expr {
		if c, ok := byMap[m]; ok {
			return c
		}
		c := make(map[string]*ir.Expr, len(m.Columns))
		for _, col := range m.Columns {
			c[col.Name] = col.Expr // the last of equal names, as the map's output has it
		}
		byMap[m] = c
		return c
	}
	for _, f := range u.P.Nodes {
		fo, ok := f.Op.(*ir.Filter)
		if !ok {
			continue
		}
		refs := fo.Where.Refs()
		cur := append([]*ir.Expr(nil), refs...)
		moved := false
		for {
			m := g.byID[f.Inputs[0]]
			mo, ok := m.Op.(*ir.Map)
			if !ok || g.sole(m) != f || !passThroughRefs(cur, colsOf(mo)) {
				break
			}
			cols := colsOf(mo)
			for i, r := range cur {
				cur[i] = substitute(r, cols)
			}
			in := g.byID[m.Inputs[0]]
			// in → m → f → consumers  becomes  in → f → m → consumers.
			for _, c := range g.cons[f.ID] {
				for i, x := range c.Inputs {
					if x == f.ID {
						c.Inputs[i] = m.ID
					}
				}
			}
			g.cons[m.ID] = g.cons[f.ID]
			g.cons[f.ID] = []*ir.Node{m}
			for i, c := range g.cons[in.ID] {
				if c == m {
					g.cons[in.ID][i] = f
				}
			}
			f.Inputs = []ir.NodeID{in.ID}
			m.Inputs = []ir.NodeID{f.ID}
			f.Out, f.EventTime = in.Out, in.EventTime
			moved, changed = true, true
		}
		if moved {
			to := make(map[*ir.Expr]*ir.Expr, len(refs))
			for i, r := range refs {
				to[r] = cur[i]
			}
			fo.Where = retext(replaceRefs(fo.Where, to))
		}
	}
	if changed {
		g.finish()
	}
}

// passThroughRefs reports whether every reference in refs reads a column
// of cols that is a plain reference to the map's input.
func passThroughRefs(refs []*ir.Expr, cols map[string]*ir.Expr) bool {
	for _, r := range refs {
		c, ok := cols[r.Field()]
		if !ok || c.Kind != ir.Ref || c.Input != 0 || c.Var != "" {
			return false
		}
	}
	return true
}

// replaceRefs copies e with the Ref nodes that are keys of to replaced by
// their values.
func replaceRefs(e *ir.Expr, to map[*ir.Expr]*ir.Expr) *ir.Expr {
	if e == nil {
		return nil
	}
	if r, ok := to[e]; ok {
		return r
	}
	if e.Kind == ir.Ref {
		return e
	}
	c := *e
	c.Args = make([]*ir.Expr, len(e.Args))
	for i, a := range e.Args {
		c.Args[i] = replaceRefs(a, to)
	}
	return &c
}

// fuseFilters merges filter→filter into one filter (a && b). Exact: a
// record passes both filters iff both conditions are true, and && is
// three-valued like two filters in sequence (null counts as false).
func fuseFilters(u *Unit) {
	g := newGraph(u.P)
	for _, n := range u.P.Nodes {
		f1, ok := n.Op.(*ir.Filter)
		if !ok || g.gone[n.ID] {
			continue
		}
		for next := g.sole(n); next != nil; next = g.sole(n) {
			f2, ok := next.Op.(*ir.Filter)
			if !ok {
				break
			}
			f1.Where = &ir.Expr{Kind: ir.Call, Fn: ir.FnAnd, Type: rtype.BoolType, Args: []*ir.Expr{f1.Where, f2.Where},
				Pos: f1.Where.Pos, Text: "(" + f1.Where.Text + ") && (" + f2.Where.Text + ")"}
			g.absorb(n, next)
		}
	}
	if len(g.gone) > 0 {
		g.finish()
	}
}

// fuseMaps merges map→map into one map by substituting the first map's
// column expressions into the second. It fuses only when no computed
// column would be evaluated more than once (each is a reference or a
// literal, or is read at most once), so fusion never adds work.
func fuseMaps(u *Unit) {
	g := newGraph(u.P)
	for _, n := range u.P.Nodes {
		m1, ok := n.Op.(*ir.Map)
		if !ok || g.gone[n.ID] {
			continue
		}
		for next := g.sole(n); next != nil; next = g.sole(n) {
			m2, ok := next.Op.(*ir.Map)
			if !ok || !substitutable(m1, m2) {
				break
			}
			byName := map[string]*ir.Expr{}
			for _, c := range m1.Columns {
				byName[c.Name] = c.Expr
			}
			cols := make([]ir.Column, len(m2.Columns))
			for i, c := range m2.Columns {
				cols[i] = ir.Column{Name: c.Name, Pos: c.Pos, Expr: retext(substitute(c.Expr, byName))}
			}
			m1.Columns = cols
			g.absorb(n, next)
		}
	}
	if len(g.gone) > 0 {
		g.finish()
	}
}

// retext makes the root Text of a rewritten expression the CEL source of
// the new tree, when it has one (see expr.Unparse); subexpressions keep
// the text the user wrote, for messages.
func retext(e *ir.Expr) *ir.Expr {
	if src, ok := expr.Unparse(e); ok {
		c := *e
		c.Text = src
		return &c
	}
	return e
}

// substitutable reports whether m2's reads of m1's columns can be
// replaced by their expressions without computing anything twice.
func substitutable(m1, m2 *ir.Map) bool {
	uses := map[string]int{}
	for _, c := range m2.Columns {
		for _, r := range c.Expr.Refs() {
			uses[r.Field()]++
			if len(r.Path) > 1 { // a nested read of a computed record
				for _, c1 := range m1.Columns {
					if c1.Name == r.Field() && c1.Expr.Kind != ir.Ref {
						return false
					}
				}
			}
		}
	}
	for _, c := range m1.Columns {
		if uses[c.Name] > 1 && c.Expr.Kind != ir.Ref && c.Expr.Kind != ir.Lit {
			return false
		}
	}
	return true
}

// substitute returns a copy of e with references to columns replaced by
// (copies of) their defining expressions.
func substitute(e *ir.Expr, cols map[string]*ir.Expr) *ir.Expr {
	if e == nil {
		return nil
	}
	if e.Kind == ir.Ref {
		def, ok := cols[e.Field()]
		if !ok {
			return e
		}
		out := clone(def)
		if len(e.Path) > 1 { // def is a Ref (see substitutable)
			out.Path = append(append([]string(nil), out.Path...), e.Path[1:]...)
			out.Type = e.Type
		}
		return out
	}
	c := *e
	c.Args = make([]*ir.Expr, len(e.Args))
	for i, a := range e.Args {
		c.Args[i] = substitute(a, cols)
	}
	return &c
}

func clone(e *ir.Expr) *ir.Expr {
	c := *e
	c.Path = append([]string(nil), e.Path...)
	c.Args = make([]*ir.Expr, len(e.Args))
	for i, a := range e.Args {
		c.Args[i] = clone(a)
	}
	if len(e.Args) == 0 {
		c.Args = nil
	}
	return &c
}

// renumber makes nodes (a topological order of p's remaining nodes) the
// pipeline's node list, with IDs 1..n, rewriting every reference.
func renumber(p *ir.Pipeline, nodes []*ir.Node) {
	newID := map[ir.NodeID]ir.NodeID{}
	for i, n := range nodes {
		newID[n.ID] = ir.NodeID(i + 1)
	}
	for _, n := range nodes {
		n.ID = newID[n.ID]
		for i, in := range n.Inputs {
			n.Inputs[i] = newID[in]
		}
		switch op := n.Op.(type) {
		case *ir.Source:
			op.DeadLetter = newID[op.DeadLetter]
		case *ir.DeadLetter:
			op.Source = newID[op.Source]
		case *ir.Aggregate:
			op.Late = newID[op.Late]
		case *ir.LateOutput:
			op.Of = newID[op.Of]
		}
	}
	p.Nodes = nodes
}

// pruneColumns narrows what flows between nodes to the columns downstream
// reads: source outputs (Source.Schema keeps the declared record, so the
// decoder still validates it; it skips the rest), map columns, and with
// them the types of filters in between. Sinks, joins, rolling, patterns,
// dedupe, top-N, unions and lookups keep their whole inputs (they output
// or key on them); an aggregate reads its keys, its columns' references
// and the event time (and everything when it has a late output, which
// re-emits input records).
func pruneColumns(u *Unit) {
	p := u.P
	all := map[string]bool{"*": true}
	need := make([]map[string]bool, len(p.Nodes)+1) // by ID; nil = nothing yet
	add := func(id ir.NodeID, cols map[string]bool) {
		if need[id] == nil {
			need[id] = map[string]bool{}
		}
		for c := range cols {
			need[id][c] = true
		}
	}
	refs := func(es ...*ir.Expr) map[string]bool {
		m := map[string]bool{}
		for _, e := range es {
			for _, r := range e.Refs() {
				if r.Input == 0 {
					m[r.Field()] = true
				}
			}
		}
		return m
	}
	for i := len(p.Nodes) - 1; i >= 0; i-- {
		n := p.Nodes[i]
		mine := need[n.ID]
		if mine == nil {
			mine = map[string]bool{} // nobody reads it (a side output)
		}
		if n.EventTime != "" {
			mine[n.EventTime] = true // watermarks need it
		}
		need[n.ID] = mine
		switch op := n.Op.(type) {
		case *ir.Filter:
			add(n.Inputs[0], mine)
			add(n.Inputs[0], refs(op.Where))
		case *ir.Map:
			if !mine["*"] {
				var kept []ir.Column
				for _, c := range op.Columns {
					if mine[c.Name] {
						kept = append(kept, c)
					}
				}
				if len(kept) > 0 {
					op.Columns = kept
				} else {
					op.Columns = op.Columns[:1] // a record needs a column
				}
			}
			var es []*ir.Expr
			for _, c := range op.Columns {
				es = append(es, c.Expr)
			}
			add(n.Inputs[0], refs(es...))
		case *ir.Aggregate:
			if op.Late != 0 {
				add(n.Inputs[0], all)
				continue
			}
			var es []*ir.Expr
			for _, c := range op.Keys {
				es = append(es, c.Expr)
			}
			for _, c := range op.Columns {
				es = append(es, c.Expr)
			}
			add(n.Inputs[0], refs(es...))
			if in := p.Node(n.Inputs[0]); in.EventTime != "" {
				add(n.Inputs[0], map[string]bool{in.EventTime: true})
			}
		case *ir.Source, *ir.DeadLetter, *ir.LateOutput:
		default:
			for _, in := range n.Inputs {
				add(in, all)
			}
		}
	}
	// Narrow forwards.
	for _, n := range p.Nodes {
		switch op := n.Op.(type) {
		case *ir.Source:
			if need[n.ID]["*"] || len(need[n.ID]) == 0 {
				continue
			}
			n.Out = narrow(op.Schema, need[n.ID])
		case *ir.Filter:
			n.Out = p.Node(n.Inputs[0]).Out
		case *ir.Map:
			var fs []rtype.Field
			for _, c := range op.Columns {
				f, _ := n.Out.Field(c.Name)
				fs = append(fs, f)
			}
			n.Out = rtype.RecordOf(fs...)
		}
	}
}

// narrow keeps the fields of t named in keep, in t's order.
func narrow(t *rtype.Type, keep map[string]bool) *rtype.Type {
	var fs []rtype.Field
	for _, f := range t.Fields {
		if keep[f.Name] {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		return t
	}
	return rtype.RecordOf(fs...)
}

// sliceWindows sets Window.Panes on windowed aggregates whose windows are
// unions of equal panes — hop windows whose size is a multiple of the
// slide (panes of the slide), cumulate windows (panes of the step) — when
// every aggregate is mergeable (expr.Mergeable): each record is then
// added to one pane instead of size/slide windows, and a window's result
// merges its panes' partials. Session and tumble windows are left alone
// (a tumble window is its own single pane).
func sliceWindows(u *Unit) {
	for _, n := range u.P.Nodes {
		op, ok := n.Op.(*ir.Aggregate)
		if !ok || op.Window == nil {
			continue
		}
		w := op.Window
		var pane = w.Slide
		switch w.Kind {
		case ir.Hop:
			if w.Slide == 0 || w.Size%w.Slide != 0 || w.Size == w.Slide {
				continue
			}
		case ir.Cumulate:
			pane = w.Step
			if w.Step == 0 || w.Size%w.Step != 0 {
				continue
			}
		default:
			continue
		}
		if mergeable(op) {
			w.Panes = pane
		}
	}
}

func mergeable(op *ir.Aggregate) bool {
	ok := true
	for _, c := range op.Columns {
		c.Expr.Walk(func(e *ir.Expr) bool {
			if e.Kind == ir.Call && e.Fn.IsAggregate() && !expr.Mergeable(e.Fn) {
				ok = false
			}
			return ok
		})
	}
	return ok
}
