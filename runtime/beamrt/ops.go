package beamrt

import (
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	register.DoFn2x1[Rec, func(Rec), error](&filterFn{})
	register.DoFn2x1[Rec, func(Rec), error](&mapFn{})
	register.DoFn2x1[Rec, func(Rec), error](&countFn{})
	register.Emitter1[Rec]()
}

// inputType returns the Out type of the node's i-th input.
func inputType(p *ir.Pipeline, n *ir.Node, i int) *rtype.Type {
	if i < len(n.Inputs) {
		return p.Node(n.Inputs[i]).Out
	}
	return nil
}

// filterFn keeps rows whose predicate is true (null is false).
type filterFn struct {
	NodeRef
	pred expr.Eval
	c    *nodeCounters
	env  expr.Env
}

func (fn *filterFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	op := n.Op.(*ir.Filter)
	fn.pred, err = expr.Compile(op.Where, &expr.Options{Inputs: [2]*rtype.Type{inputType(p.Pipeline, n, 0)}})
	if err != nil {
		return fmt.Errorf("filter %q: %v", n.Name, err)
	}
	fn.c = Counters(n.Name)
	return nil
}

func (fn *filterFn) ProcessElement(rec Rec, emit func(Rec)) error {
	r := rec.Row
	fn.c.in.Add(1)
	fn.env.Rows[0] = r
	if expr.Truthy(fn.pred(&fn.env)) {
		fn.c.out.Add(1)
		emit(rec)
	}
	return nil
}

// mapFn computes the output columns of each row.
type mapFn struct {
	NodeRef
	cols  []expr.Eval
	types []*rtype.Type
	c     *nodeCounters
	env   expr.Env
}

func (fn *mapFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	op := n.Op.(*ir.Map)
	o := &expr.Options{Inputs: [2]*rtype.Type{inputType(p.Pipeline, n, 0)}}
	for _, c := range op.Columns {
		ev, err := expr.Compile(c.Expr, o)
		if err != nil {
			return fmt.Errorf("map %q column %q: %v", n.Name, c.Name, err)
		}
		fn.cols = append(fn.cols, ev)
		fn.types = append(fn.types, c.Expr.Type)
	}
	fn.c = Counters(n.Name)
	return nil
}

func (fn *mapFn) ProcessElement(rec Rec, emit func(Rec)) error {
	r := rec.Row
	fn.c.in.Add(1)
	fn.env.Rows[0] = r
	out := make(row.Row, len(fn.cols))
	for i, c := range fn.cols {
		out[i] = expr.Coerce(c(&fn.env), fn.types[i])
	}
	fn.c.out.Add(1)
	emit(Rec{Row: out, WM: rec.WM})
	return nil
}

// countFn passes rows through, counting them for a node (union, dead
// letters, late outputs).
type countFn struct {
	NodeRef
	c *nodeCounters
}

func (fn *countFn) Setup() error {
	_, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.c = Counters(n.Name)
	return nil
}

func (fn *countFn) ProcessElement(rec Rec, emit func(Rec)) error {
	fn.c.in.Add(1)
	fn.c.out.Add(1)
	emit(rec)
	return nil
}

// Filter applies a Filter node.
func Filter(s beam.Scope, ref NodeRef, in beam.PCollection) beam.PCollection {
	return beam.ParDo(s, &filterFn{NodeRef: ref}, in)
}

// Map applies a Map node.
func Map(s beam.Scope, ref NodeRef, in beam.PCollection) beam.PCollection {
	return beam.ParDo(s, &mapFn{NodeRef: ref}, in)
}

// Union merges the inputs of a Union node.
func Union(s beam.Scope, ref NodeRef, ins ...beam.PCollection) beam.PCollection {
	var merged beam.PCollection
	if len(ins) == 1 {
		merged = ins[0]
	} else {
		merged = beam.Flatten(s, ins...)
	}
	return beam.ParDo(s, &countFn{NodeRef: ref}, merged)
}
