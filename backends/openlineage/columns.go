package openlineage

import (
	"math/bits"
	"slices"
	"strings"

	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

// Column lineage is computed exactly from the IR: every output column of
// every node carries the set of (input dataset, input field, transformation)
// it depends on, composed node by node from the sources to the sinks. Each
// node also carries the dataset-level dependencies that affect all its rows
// (filters, join and grouping keys, windows, sort orders), inherited by
// everything downstream.
//
// Transformations within one expression, from the root down:
//   - a bare field reference is DIRECT IDENTITY (a nested path, a.b, is
//     TRANSFORMATION: part of the input value);
//   - under any call it is DIRECT TRANSFORMATION;
//   - under an aggregate call it is DIRECT AGGREGATION; count and
//     count_distinct mask their input (the value does not reach the output);
//   - in the condition of c ? a : b, and in every coalesce argument but the
//     last (whose nullness picks the result), it is INDIRECT CONDITIONAL.
//
// Composition through nodes: DIRECT after DIRECT keeps the stronger subtype
// (IDENTITY < TRANSFORMATION < AGGREGATION) and masks if either masks; once a
// use is INDIRECT the outermost indirect use names the subtype.
//
// Operators:
//   - filter: FILTER on the fields of where (dataset level);
//   - aggregate: GROUP_BY on the keys, WINDOW on the input's event time,
//     FILTER on the fields having reads; a column using first, last or
//     collect (ordered by event time) also gets SORT on the event time;
//     window_start/window_end are TRANSFORMATION of the event time
//     (AGGREGATION for session windows, whose bounds come from the first
//     and last times of the session);
//   - rolling: the OVER columns get GROUP_BY on the partition keys and
//     WINDOW on the order field, and SORT on it when they use first, last
//     or collect (column level: rows are not removed);
//   - join and lookup: JOIN on both sides' key fields, the where fields and,
//     for interval and temporal joins, the time fields; WINDOW on both event
//     times for window joins; the lookup table is an input dataset;
//   - pattern: GROUP_BY on the partition keys, SORT on the order field,
//     FILTER on every field a define reads, WINDOW on the order field when
//     within is set; measures are expressions as above;
//   - dedupe and top-N: GROUP_BY on the keys, SORT on the order fields, WINDOW
//     on the event time for windowed top-N or dedupe within a time bound;
//     the rank column depends only INDIRECTly (SORT, GROUP_BY);
//   - late output: the aggregate's input columns, plus WINDOW on its event
//     time (lateness is decided by it); dead letters: payload is a
//     TRANSFORMATION of every field of the source schema;
//   - union: each column from the same-named column of every input.

// tf is a transformation code: a subtype (0–8) plus masked (+9).
type tf uint8

const (
	tIdentity tf = iota
	tTransformation
	tAggregation
	tJoin
	tGroupBy
	tFilter
	tSort
	tWindow
	tConditional
	nSub
	masked tf = nSub
)

var subNames = [nSub]string{ol.Identity, ol.Transformation, ol.Aggregation, ol.Join, ol.GroupBy,
	ol.Filter, ol.Sort, ol.Window, ol.Conditional}

func (t tf) sub() tf        { return t % nSub }
func (t tf) isMasked() bool { return t >= masked }
func (t tf) direct() bool   { return t.sub() <= tAggregation }
func (t tf) bit() uint32    { return 1 << t }
func mask(t tf, m bool) tf {
	if m && t.direct() {
		return t.sub() + masked
	}
	return t.sub()
}

// then is the transformation of an input used as up and then, by an outer
// operation, as outer.
func then(up, outer tf) tf {
	if !outer.direct() {
		return outer.sub()
	}
	if !up.direct() {
		return up.sub()
	}
	return mask(max(up.sub(), outer.sub()), up.isMasked() || outer.isMasked())
}

// thenTable memoises then for all pairs.
var thenTable = func() (t [2 * nSub][2 * nSub]tf) {
	for a := tf(0); a < 2*nSub; a++ {
		for b := tf(0); b < 2*nSub; b++ {
			t[a][b] = then(a, b)
		}
	}
	return
}()

// thenMask applies outer to every transformation in the set up.
func thenMask(up uint32, outer tf) uint32 {
	var out uint32
	for up != 0 {
		i := tf(bits.TrailingZeros32(up))
		up &^= 1 << i
		out |= thenTable[i][outer].bit()
	}
	return out
}

// tfOrder lists transformations as they are written: DIRECT (unmasked
// before masked) before INDIRECT.
var tfOrder = []tf{tIdentity, tIdentity + masked, tTransformation, tTransformation + masked,
	tAggregation, tAggregation + masked, tJoin, tGroupBy, tFilter, tSort, tWindow, tConditional}

// src is an input field of an input dataset (index into the job's inputs).
type src struct {
	ds    int32
	field string
}

// deps maps input fields to a bit set of transformations.
type deps map[src]uint32

func (d deps) add(k src, m uint32) { d[k] |= m }

// addThen adds every dependency of up, used as outer.
func (d deps) addThen(up deps, outer tf) {
	for k, m := range up {
		d[k] |= thenMask(m, outer)
	}
}

func (d deps) addAll(up deps) {
	for k, m := range up {
		d[k] |= m
	}
}

// nodeLin is the lineage of one node's output.
type nodeLin struct {
	cols map[string]deps // by output column name
	ds   deps
}

func (n *nodeLin) col(name string) deps {
	if n == nil {
		return nil
	}
	return n.cols[name]
}

// lineage holds the computation over one pipeline.
type lineage struct {
	p      *ir.Pipeline
	nodes  []*nodeLin // by NodeID-1
	inputs *inputTable
}

// inputTable numbers the input datasets of a job.
type inputTable struct {
	ids     []DatasetID
	schemas []*rtype.Type // of the first node reading each
	docs    []string
	index   map[[2]string]int32
}

func (t *inputTable) add(id DatasetID, schema *rtype.Type, doc string) int32 {
	k := [2]string{id.Namespace, id.Name}
	if i, ok := t.index[k]; ok {
		return i
	}
	i := int32(len(t.ids))
	t.ids = append(t.ids, id)
	t.schemas = append(t.schemas, schema)
	t.docs = append(t.docs, doc)
	t.index[k] = i
	return i
}

// computeLineage runs the node rules over p in topological order. dsOf
// names the dataset of a node's connector.
func computeLineage(p *ir.Pipeline, dsOf func(*ir.Node, *ir.Connector) DatasetID) *lineage {
	l := &lineage{p: p, nodes: make([]*nodeLin, len(p.Nodes)),
		inputs: &inputTable{index: map[[2]string]int32{}}}
	for i, n := range p.Nodes {
		l.nodes[i] = l.node(n, dsOf)
	}
	return l
}

func (l *lineage) in(n *ir.Node, port int) *nodeLin {
	if port < 0 || port >= len(n.Inputs) {
		return nil
	}
	id := n.Inputs[port]
	if id < 1 || int(id) > len(l.nodes) {
		return nil
	}
	return l.nodes[id-1]
}

func (l *lineage) inNode(n *ir.Node, port int) *ir.Node {
	if port < 0 || port >= len(n.Inputs) || n.Inputs[port] < 1 || int(n.Inputs[port]) > len(l.p.Nodes) {
		return nil
	}
	return l.p.Node(n.Inputs[port])
}

// eventTime is the event-time column of input port of n, or "".
func (l *lineage) eventTime(n *ir.Node, port int) string {
	if in := l.inNode(n, port); in != nil {
		return in.EventTime
	}
	return ""
}

func newNode() *nodeLin { return &nodeLin{cols: map[string]deps{}, ds: deps{}} }

// passthrough takes every column of n's output from the same-named input
// column. The dependency sets are shared, not copied: a set is never changed
// once its node is computed (new columns always start from a fresh set).
func passthrough(out *nodeLin, in *nodeLin, n *ir.Node) {
	if n.Out == nil {
		return
	}
	for _, f := range n.Out.Fields {
		out.cols[f.Name] = in.col(f.Name)
	}
}

// sourceCols makes identity columns of a dataset for the fields of t.
func sourceCols(out *nodeLin, ds int32, t interface{ FieldNames() []string }) {
	for _, f := range t.FieldNames() {
		out.cols[f] = deps{src{ds, f}: tIdentity.bit()}
	}
}

func (l *lineage) node(n *ir.Node, dsOf func(*ir.Node, *ir.Connector) DatasetID) *nodeLin {
	out := newNode()
	inherit := func(ports ...int) {
		for _, p := range ports {
			if in := l.in(n, p); in != nil {
				out.ds.addAll(in.ds)
			}
		}
	}
	// resolve finds the dependencies of a Ref against the node's inputs.
	resolve := func(r *ir.Expr) deps { return l.in(n, r.Input).col(r.Field()) }
	switch op := n.Op.(type) {
	case *ir.Source:
		schema := op.Schema
		if schema == nil {
			schema = n.Out
		}
		ds := l.inputs.add(dsOf(n, &op.Connector), schema, n.Doc)
		if n.Out != nil {
			sourceCols(out, ds, n.Out)
		}
	case *ir.DeadLetter:
		inherit(0)
		d := deps{}
		if srcNode := l.inNode(n, 0); srcNode != nil {
			if s, ok := srcNode.Op.(*ir.Source); ok && s.Schema != nil {
				ds := l.inputs.add(dsOf(srcNode, &s.Connector), s.Schema, srcNode.Doc)
				for _, f := range s.Schema.FieldNames() {
					d.add(src{ds, f}, tTransformation.bit())
				}
			}
		}
		out.cols["payload"] = d
	case *ir.Filter:
		inherit(0)
		passthrough(out, l.in(n, 0), n)
		exprDeps(out.ds, op.Where, tFilter, resolve)
	case *ir.Map:
		inherit(0)
		for _, c := range op.Columns {
			out.cols[c.Name] = exprCol(c.Expr, resolve)
		}
	case *ir.Aggregate:
		inherit(0)
		for _, k := range op.Keys {
			out.cols[k.Name] = exprCol(k.Expr, resolve)
			exprDeps(out.ds, k.Expr, tGroupBy, resolve)
		}
		et := l.eventTime(n, 0)
		for _, c := range op.Columns {
			d := exprCol(c.Expr, resolve)
			if et != "" && ordered(c.Expr) {
				d.addThen(l.in(n, 0).col(et), tSort)
			}
			out.cols[c.Name] = d
		}
		if op.Window != nil {
			l.windowCols(out, n, 0, op.Window)
		}
		if op.Having != nil {
			self := func(r *ir.Expr) deps { return out.col(r.Field()) }
			exprDeps(out.ds, op.Having, tFilter, self)
		}
	case *ir.LateOutput:
		agg := l.inNode(n, 0)
		if agg == nil {
			break
		}
		aggIn := l.in(agg, 0)
		if aggIn != nil {
			out.ds.addAll(aggIn.ds)
		}
		passthrough(out, aggIn, n)
		if et := l.eventTime(agg, 0); et != "" {
			out.ds.addThen(aggIn.col(et), tWindow)
		}
	case *ir.Rolling:
		inherit(0)
		passthrough(out, l.in(n, 0), n)
		for _, c := range op.Columns {
			d := exprCol(c.Expr, resolve)
			for _, k := range op.Keys {
				exprDeps(d, k.Expr, tGroupBy, resolve)
			}
			if op.OrderBy != "" {
				d.addThen(l.in(n, 0).col(op.OrderBy), tWindow)
				if ordered(c.Expr) {
					d.addThen(l.in(n, 0).col(op.OrderBy), tSort)
				}
			}
			out.cols[c.Name] = d
		}
	case *ir.Join:
		inherit(0, 1)
		if op.Type == ir.Semi || op.Type == ir.Anti || len(op.Columns) == 0 {
			passthrough(out, l.in(n, 0), n)
		}
		for _, c := range op.Columns {
			out.cols[c.Name] = exprCol(c.Expr, resolve)
		}
		for _, k := range op.On {
			out.ds.addThen(l.in(n, 0).col(k.Left), tJoin)
			out.ds.addThen(l.in(n, 1).col(k.Right), tJoin)
		}
		exprDeps(out.ds, op.Where, tJoin, resolve)
		for port := 0; port < 2; port++ {
			if et := l.eventTime(n, port); et != "" {
				how := tJoin // the interval bounds are a join condition
				if op.Window != nil {
					how = tWindow
				}
				out.ds.addThen(l.in(n, port).col(et), how)
			}
		}
	case *ir.Lookup:
		inherit(0)
		table := newNode()
		if op.Schema != nil {
			sourceCols(table, l.inputs.add(dsOf(n, &op.Table), op.Schema, ""), op.Schema)
		}
		side := func(port int) *nodeLin {
			if port == 1 {
				return table
			}
			return l.in(n, 0)
		}
		res := func(r *ir.Expr) deps { return side(r.Input).col(r.Field()) }
		for _, c := range op.Columns {
			out.cols[c.Name] = exprCol(c.Expr, res)
		}
		for _, k := range op.On {
			out.ds.addThen(side(0).col(k.Left), tJoin)
			out.ds.addThen(side(1).col(k.Right), tJoin)
		}
		if op.AsOf != "" {
			out.ds.addThen(side(0).col(op.AsOf), tJoin)
		}
	case *ir.Pattern:
		inherit(0)
		for _, k := range op.PartitionBy {
			out.cols[k.Name] = exprCol(k.Expr, resolve)
			exprDeps(out.ds, k.Expr, tGroupBy, resolve)
		}
		for _, m := range op.Measures {
			out.cols[m.Name] = exprCol(m.Expr, resolve)
		}
		for _, d := range op.Define {
			exprDeps(out.ds, d.Expr, tFilter, resolve)
		}
		if op.OrderBy != "" {
			out.ds.addThen(l.in(n, 0).col(op.OrderBy), tSort)
			if op.Within > 0 {
				out.ds.addThen(l.in(n, 0).col(op.OrderBy), tWindow)
			}
		}
	case *ir.Dedupe:
		inherit(0)
		passthrough(out, l.in(n, 0), n)
		for _, k := range op.Keys {
			exprDeps(out.ds, k.Expr, tGroupBy, resolve)
		}
		if op.OrderBy != "" && !op.ProcTime {
			out.ds.addThen(l.in(n, 0).col(op.OrderBy), tSort)
			if op.Within > 0 {
				out.ds.addThen(l.in(n, 0).col(op.OrderBy), tWindow)
			}
		}
	case *ir.TopN:
		inherit(0)
		passthrough(out, l.in(n, 0), n)
		rank := deps{}
		for _, k := range op.Keys {
			exprDeps(out.ds, k.Expr, tGroupBy, resolve)
			exprDeps(rank, k.Expr, tGroupBy, resolve)
		}
		for _, o := range op.OrderBy {
			out.ds.addThen(l.in(n, 0).col(o.Field), tSort)
			rank.addThen(l.in(n, 0).col(o.Field), tSort)
		}
		if op.Window != nil {
			l.windowCols(out, n, 0, op.Window)
		}
		if op.RankField != "" {
			out.cols[op.RankField] = rank
		}
	case *ir.Windowing:
		inherit(0)
		passthrough(out, l.in(n, 0), n)
		if op.Window != nil {
			l.windowCols(out, n, 0, op.Window)
		}
	case *ir.Union:
		inherit(intsTo(len(n.Inputs))...)
		if n.Out != nil {
			for _, f := range n.Out.Fields {
				d := deps{}
				for port := range n.Inputs {
					d.addAll(l.in(n, port).col(f.Name))
				}
				out.cols[f.Name] = d
			}
		}
	case *ir.Sink:
		inherit(0)
		passthrough(out, l.in(n, 0), n)
	}
	return out
}

// windowCols sets window_start and window_end from the input's event time
// and adds WINDOW on it at dataset level.
func (l *lineage) windowCols(out *nodeLin, n *ir.Node, port int, w *ir.Window) {
	et := l.eventTime(n, port)
	if et == "" {
		out.cols[ir.WindowStart], out.cols[ir.WindowEnd] = deps{}, deps{}
		return
	}
	up := l.in(n, port).col(et)
	how := tTransformation
	if w.Kind == ir.Session {
		how = tAggregation
	}
	for _, c := range []string{ir.WindowStart, ir.WindowEnd} {
		d := deps{}
		d.addThen(up, how)
		out.cols[c] = d
	}
	out.ds.addThen(up, tWindow)
}

func intsTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// ordered reports whether e calls an aggregate whose result depends on the
// order of the rows (first, last, collect: by event time).
func ordered(e *ir.Expr) bool {
	found := false
	e.Walk(func(x *ir.Expr) bool {
		if x.Kind == ir.Call && (x.Fn == ir.FnFirst || x.Fn == ir.FnLast || x.Fn == ir.FnCollect) {
			found = true
		}
		return !found
	})
	return found
}

// exprCol is the lineage of an output column computed by e.
func exprCol(e *ir.Expr, resolve func(*ir.Expr) deps) deps {
	d := deps{}
	exprDeps(d, e, tIdentity, resolve)
	return d
}

// exprDeps adds to d the dependencies of e used as how (tIdentity for a
// column value, tFilter for a predicate, …).
func exprDeps(d deps, e *ir.Expr, how tf, resolve func(*ir.Expr) deps) {
	if e == nil {
		return
	}
	switch e.Kind {
	case ir.Ref:
		t := how
		if len(e.Path) > 1 {
			t = thenTable[tTransformation][how]
		}
		if up := resolve(e); up != nil {
			d.addThen(up, t)
		}
	case ir.Call:
		inner := thenTable[tTransformation][how]
		if e.Fn.IsAggregate() {
			inner = thenTable[mask(tAggregation, e.Fn == ir.FnCount || e.Fn == ir.FnCountDistinct)][how]
		}
		switch e.Fn {
		case ir.FnCond:
			for i, a := range e.Args {
				if i == 0 {
					exprDeps(d, a, thenTable[tConditional][how], resolve)
				} else {
					exprDeps(d, a, inner, resolve)
				}
			}
			return
		case ir.FnCoalesce:
			for i, a := range e.Args {
				exprDeps(d, a, inner, resolve)
				if i < len(e.Args)-1 {
					exprDeps(d, a, thenTable[tConditional][how], resolve)
				}
			}
			return
		}
		for _, a := range e.Args {
			exprDeps(d, a, inner, resolve)
		}
	case ir.ListExpr:
		for _, a := range e.Args {
			exprDeps(d, a, thenTable[tTransformation][how], resolve)
		}
	}
}

// inputFields renders a dependency set as sorted OpenLineage input fields.
func (l *lineage) inputFields(d deps) []ol.InputField {
	out := make([]ol.InputField, 0, len(d))
	for k, m := range d {
		if m == 0 {
			continue
		}
		id := l.inputs.ids[k.ds]
		f := ol.InputField{Namespace: id.Namespace, Name: id.Name, Field: k.field}
		for _, t := range tfOrder {
			if m&t.bit() == 0 {
				continue
			}
			typ := ol.Direct
			if !t.direct() {
				typ = ol.Indirect
			}
			f.Transformations = append(f.Transformations, ol.Transform{Type: typ, Subtype: subNames[t.sub()], Masking: t.isMasked()})
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b ol.InputField) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Field, b.Field)
	})
	return out
}

// facet is the columnLineage facet of the dataset the sink nodes write
// (several sinks writing one dataset contribute to the same facet).
func (l *lineage) facet(producer string, sinks []*ir.Node) *ol.ColumnLineageDatasetFacet {
	cols := map[string]deps{}
	all := deps{}
	for _, s := range sinks {
		n := l.nodes[s.ID-1]
		for name, d := range n.cols {
			if cols[name] == nil {
				cols[name] = deps{}
			}
			cols[name].addAll(d)
		}
		all.addAll(n.ds)
	}
	fields := map[string]ol.ColumnLineageField{}
	for name, d := range cols {
		if len(d) > 0 {
			fields[name] = ol.ColumnLineageField{InputFields: l.inputFields(d)}
		}
	}
	var dataset []ol.InputField
	if len(all) > 0 {
		dataset = l.inputFields(all)
	}
	return ol.NewColumnLineage(producer, fields, dataset)
}
