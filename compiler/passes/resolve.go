package passes

import (
	"fmt"
	"strings"

	"rtsap.dev/rtsapc/compiler/internal/dag"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// side is the kind of a node the spec declares implicitly.
type side uint8

const (
	declared   side = iota
	deadLetter      // a source's onError.deadLetter stream
	lateOutput      // an aggregate's lateOutput stream
)

// nodeInfo is what resolve learns about a node for the later passes.
type nodeInfo struct {
	spec   *spec.Node
	side   side
	name   string
	nameAt diag.Range
	// inputs are the resolved `from` names, in port order (0 = none).
	inputs []ir.NodeID
	// broken: an input is missing; the node's type is invalid and its
	// expressions are not checked, so one mistake does not cascade.
	broken bool
	// placeholder: the payload was replaced because inputs are missing.
	placeholder bool
	// poisoned: the front-end reported an error in the node (spec
	// Node.Invalid); it is a placeholder and nothing is reported about it.
	poisoned bool
}

// item is a node before ordering.
type item struct {
	info  *nodeInfo
	from  []spec.String // names of its inputs
	order int
	deps  []int // item indexes of its inputs (-1 unresolved)
	id    ir.NodeID
	// parent is the item a side output belongs to (by index, not name: the
	// parent's name may be a duplicate).
	parent int
}

// resolve binds names: every spec node (and the side outputs a source or
// aggregate declares) becomes an IR node; `from` names become input IDs;
// nodes are numbered densely in a topological order that follows the source
// order where the graph allows. Duplicate names, unknown references (with a
// suggestion) and cycles (with the path) are reported.
func resolve(u *Unit) {
	var items []*item
	byName := map[string]int{}
	add := func(it *item) {
		name := it.info.name
		if j, dup := byName[name]; dup {
			first := items[j].info
			d := diag.Errorf(diag.DuplicateName, it.info.nameAt, "Duplicate name",
				"Pipeline %q already has a node named %q (%s); node names must be unique across sources, transforms, sinks, dead-letter and late outputs. Rename one of them.",
				u.P.Name, name, what(first))
			d.Related = append(d.Related, diag.Related{Message: "first defined here", Range: first.nameAt})
			u.Diags = append(u.Diags, d)
			it.info.broken = true
			it.info.name = "" // unreachable by name
		} else {
			byName[name] = len(items)
		}
		it.order = len(items)
		items = append(items, it)
	}
	for _, n := range u.Spec.Nodes {
		info := &nodeInfo{spec: n, name: n.Name.Value, nameAt: nameRange(n), poisoned: n.Invalid, broken: n.Invalid}
		it := &item{info: info, from: froms(n)}
		if n.Invalid {
			// Its inputs are not checked: what it reads may be what is wrong.
			it.from = nil
			u.poisoned = true
		}
		add(it)
		parent := it.order
		if n.Source != nil && n.Source.OnError.Policy.Value == string(ir.DeadLetterErr) {
			dl := n.Source.OnError.DeadLetter
			if dl.Value == "" {
				u.errorf(diag.InvalidOption, orRange(n.Source.OnError.Range, n.Range), "Missing dead-letter name",
					"onError policy \"deadletter\" needs deadLetter: the name of the stream that carries bad records, e.g. deadLetter: \"bad_%s\".", n.Name.Value)
			} else {
				add(&item{info: &nodeInfo{spec: n, side: deadLetter, name: dl.Value, nameAt: orRange(dl.Range, n.Range)},
					from: []spec.String{{Value: n.Name.Value, Range: n.Name.Range}}, parent: parent})
			}
		}
		if n.Aggregate != nil && n.Aggregate.LateOutput.Value != "" {
			lo := n.Aggregate.LateOutput
			add(&item{info: &nodeInfo{spec: n, side: lateOutput, name: lo.Value, nameAt: orRange(lo.Range, n.Range)},
				from: []spec.String{{Value: n.Name.Value, Range: n.Name.Range}}, parent: parent})
		}
	}
	var names []string
	for _, it := range items {
		if it.info.name != "" {
			names = append(names, it.info.name)
		}
	}
	// Bind inputs.
	for _, it := range items {
		n := it.info.spec
		if it.info.side != declared {
			it.deps = []int{it.parent}
			continue
		}
		if it.info.poisoned {
			continue
		}
		if payloadCount(n) != 1 {
			it.info.broken = true // reported by infer
		}
		want, wantText := arity(n)
		if want >= 0 && len(it.from) != want || want == -1 && len(it.from) == 0 {
			r := n.Range
			if len(it.from) > 0 {
				r = it.from[len(it.from)-1].Range
			}
			if want == 0 {
				u.errorf(diag.InvalidOption, r, "Unexpected input", "A %s reads no other node; remove `from`.", n.Kind.Value)
			} else {
				u.errorf(diag.InvalidOption, r, "Wrong number of inputs", "A %s reads %s; %q names %d.", n.Kind.Value, wantText, n.Name.Value, len(it.from))
			}
			it.info.broken = true
		}
		for _, f := range it.from {
			j, ok := byName[f.Value]
			if !ok {
				d := diag.Errorf(diag.UnknownNode, orRange(f.Range, n.Range), "Unknown node",
					"Pipeline %q has no node %q.%s Known nodes: %s.", u.P.Name, f.Value, diag.DidYouMean(f.Value, names), quoteList(names))
				u.Diags = append(u.Diags, d)
				it.info.broken = true
				it.deps = append(it.deps, -1)
				continue
			}
			if tgt := items[j].info; tgt.side == declared && tgt.spec.Role == spec.SinkRole {
				u.errorf(diag.UnknownNode, orRange(f.Range, n.Range), "Sink used as input",
					"%q is a sink: it writes records out and produces no stream. Read from the node that feeds it (%s) instead.",
					f.Value, quoteList(fromValues(items[j].from)))
				it.info.broken = true
				it.deps = append(it.deps, -1)
				continue
			}
			it.deps = append(it.deps, j)
		}
	}
	// Order: Kahn's algorithm, smallest source order first among ready nodes.
	placed := make([]bool, len(items))
	var order []*item
	for len(order) < len(items) {
		next := -1
		for i, it := range items {
			if placed[i] {
				continue
			}
			ready := true
			for _, d := range it.deps {
				if d >= 0 && !placed[d] {
					ready = false
					break
				}
			}
			if ready {
				next = i
				break
			}
		}
		if next < 0 {
			// A cycle: report it once, cut its back edge, continue.
			cyc := dag.Cycle(len(items), func(i int) []int { return items[i].deps }, placed)
			var path []string
			for _, i := range cyc {
				path = append(path, fmt.Sprintf("%q", items[i].info.name))
			}
			path = append(path, fmt.Sprintf("%q", items[cyc[0]].info.name))
			first := items[cyc[0]]
			r := first.info.nameAt
			for k, d := range first.deps {
				if d == cyc[len(cyc)-1] {
					r = orRange(first.from[k].Range, r)
				}
			}
			d := diag.Errorf(diag.CyclicPipeline, r, "Cyclic pipeline",
				"The nodes form a cycle: %s. A pipeline is a DAG: one of these must read from another node.", strings.Join(path, " → "))
			for _, i := range cyc[1:] {
				d.Related = append(d.Related, diag.Related{Message: "part of the cycle", Range: items[i].info.nameAt})
			}
			u.Diags = append(u.Diags, d)
			for _, i := range cyc {
				items[i].info.broken = true
			}
			for k, d := range first.deps {
				if d == cyc[len(cyc)-1] {
					first.deps[k] = -1
				}
			}
			continue
		}
		placed[next] = true
		order = append(order, items[next])
	}
	u.P.Nodes = nil
	u.info = nil
	for i, it := range order {
		it.id = ir.NodeID(i + 1)
	}
	for _, it := range order {
		n := &ir.Node{ID: it.id, Name: it.info.name, Pos: it.info.spec.Range}
		if it.info.name == "" { // a duplicate: keep it addressable
			n.Name = fmt.Sprintf("%s#%d", it.info.spec.Name.Value, it.id)
		}
		if it.info.side != declared {
			n.Pos = it.info.nameAt
		} else {
			n.Doc = it.info.spec.Doc.Value
		}
		for _, d := range it.deps {
			if d >= 0 {
				n.Inputs = append(n.Inputs, items[d].id)
				it.info.inputs = append(it.info.inputs, items[d].id)
			} else {
				it.info.inputs = append(it.info.inputs, 0)
			}
		}
		n.Op = skeleton(it.info)
		u.P.Nodes = append(u.P.Nodes, n)
		u.info = append(u.info, it.info)
	}
	// Link side outputs to their parents.
	for _, n := range u.P.Nodes {
		switch op := n.Op.(type) {
		case *ir.DeadLetter:
			op.Source = n.Inputs[0]
			if src, ok := u.P.Node(op.Source).Op.(*ir.Source); ok {
				src.DeadLetter = n.ID
			}
		case *ir.LateOutput:
			op.Of = n.Inputs[0]
			if agg, ok := u.P.Node(op.Of).Op.(*ir.Aggregate); ok {
				agg.Late = n.ID
			}
		}
	}
	// A node missing an input gets no inputs at all and an invalid type:
	// it keeps its place so later diagnostics still find it. A node whose
	// port count is wrong keeps its resolved inputs only when they fit.
	for i, n := range u.P.Nodes {
		info := u.info[i]
		if info.poisoned || info.broken && len(n.Inputs) != len(info.inputs) || info.broken && !fits(n.Op, len(n.Inputs)) {
			n.Inputs = nil
			n.Op = brokenOp(n.Op)
			info.placeholder = true
		}
	}
}

// fits reports whether op takes k inputs.
func fits(op ir.Op, k int) bool {
	switch op.(type) {
	case *ir.Source:
		return k == 0
	case *ir.Join:
		return k == 2
	case *ir.Union:
		return k >= 1
	}
	return k == 1
}

// brokenOp replaces the payload of a node that lost its inputs by a
// source-shaped placeholder, so the verifier's port counts hold. Its Out is
// invalid; backends never see it because the pipeline has errors.
func brokenOp(op ir.Op) ir.Op {
	if _, ok := op.(*ir.Source); ok {
		return op
	}
	return &ir.Source{Schema: rtype.InvalidType, OnError: ir.FailOnError}
}

func what(n *nodeInfo) string {
	switch n.side {
	case deadLetter:
		return "the dead-letter output of " + fmt.Sprintf("%q", n.spec.Name.Value)
	case lateOutput:
		return "the late output of " + fmt.Sprintf("%q", n.spec.Name.Value)
	}
	return "a " + n.spec.Role.String()
}

func nameRange(n *spec.Node) diag.Range { return orRange(n.Name.Range, n.Range) }

func orRange(r, def diag.Range) diag.Range {
	if r.IsValid() {
		return r
	}
	return def
}

func quoteList(ss []string) string {
	if len(ss) == 0 {
		return "(none)"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func fromValues(ss []spec.String) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Value)
	}
	return out
}

// froms returns the input names of a node in port order.
func froms(n *spec.Node) []spec.String {
	if n.Join != nil && (n.Join.Left.From.Value != "" || n.Join.Right.From.Value != "") {
		return []spec.String{n.Join.Left.From, n.Join.Right.From}
	}
	return n.From
}

// arity is the number of inputs of a node kind (-1: one or more).
func arity(n *spec.Node) (int, string) {
	switch {
	case n.Source != nil:
		return 0, "no input"
	case n.Join != nil:
		return 2, "two inputs (left and right)"
	case n.Union != nil:
		return -1, "one or more inputs"
	}
	return 1, "exactly one input"
}

// skeleton builds the payload of a node without types or expressions.
func skeleton(info *nodeInfo) ir.Op {
	switch info.side {
	case deadLetter:
		return &ir.DeadLetter{}
	case lateOutput:
		return &ir.LateOutput{}
	}
	n := info.spec
	switch {
	case n.Source != nil:
		return &ir.Source{OnError: ir.FailOnError}
	case n.Sink != nil:
		return &ir.Sink{}
	case n.Filter != nil:
		return &ir.Filter{}
	case n.Map != nil:
		return &ir.Map{}
	case n.Aggregate != nil:
		return &ir.Aggregate{}
	case n.Rolling != nil:
		return &ir.Rolling{}
	case n.Join != nil:
		return &ir.Join{}
	case n.Lookup != nil:
		return &ir.Lookup{}
	case n.Pattern != nil:
		return &ir.Pattern{}
	case n.Dedupe != nil:
		return &ir.Dedupe{}
	case n.TopN != nil:
		return &ir.TopN{}
	case n.Union != nil:
		return &ir.Union{}
	case n.Windowing != nil:
		return &ir.Windowing{}
	}
	return &ir.Source{Schema: rtype.InvalidType} // unknown kind: reported by infer
}
