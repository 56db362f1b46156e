package ir

import (
	"errors"
	"fmt"

	"rtsap.dev/rtsapc/compiler/rtype"
)

// Verify checks the structural invariants of a compiled program: dense IDs
// in topological order, inputs that name earlier nodes (hence no cycles),
// unique names, the port count of every operator, a typed Out on every
// node, typed expressions whose references fit their inputs, and side
// outputs (dead letters, late outputs) linked both ways. It returns every
// violation joined, or nil. Compiler passes run it after each pass when
// asked (tests always do); a violation is a compiler bug, not a user error.
func Verify(p *Program) error {
	if p == nil {
		return errors.New("nil program")
	}
	var errs []error
	names := map[string]bool{}
	for _, pl := range p.Pipelines {
		if names[pl.Name] {
			errs = append(errs, fmt.Errorf("pipeline %q declared twice", pl.Name))
		}
		names[pl.Name] = true
		if err := VerifyPipeline(pl, true); err != nil {
			errs = append(errs, err)
		}
	}
	for _, wf := range p.Workflows {
		seen := map[string]int{}
		for i, st := range wf.Steps {
			seen[st.Name] = i
		}
		for i, st := range wf.Steps {
			for _, d := range st.DependsOn {
				j, ok := seen[d]
				if !ok {
					errs = append(errs, fmt.Errorf("workflow %q: step %q depends on unknown step %q", wf.Name, st.Name, d))
				} else if j >= i {
					errs = append(errs, fmt.Errorf("workflow %q: step %q depends on later step %q (steps must be in topological order)", wf.Name, st.Name, d))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// inputs gives the number of inputs of each operator; -1 means one or more.
func arity(op Op) int {
	switch op.(type) {
	case *Source:
		return 0
	case *Join:
		return 2
	case *Union:
		return -1
	}
	return 1
}

// VerifyPipeline checks one pipeline. With typed false it skips the checks
// that need types (Out, expression types), for use between the passes that
// build the graph and the pass that infers types.
func VerifyPipeline(pl *Pipeline, typed bool) error {
	var errs []error
	bad := func(n *Node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("pipeline %q: node n%d %q: %s", pl.Name, n.ID, n.Name, fmt.Sprintf(format, args...)))
	}
	names := map[string]NodeID{}
	for i, n := range pl.Nodes {
		if n == nil {
			errs = append(errs, fmt.Errorf("pipeline %q: nil node at index %d", pl.Name, i))
			continue
		}
		if n.ID != NodeID(i+1) {
			bad(n, "ID %d at index %d (IDs must be dense and 1-based)", n.ID, i)
		}
		if prev, ok := names[n.Name]; ok {
			bad(n, "name already used by n%d", prev)
		}
		names[n.Name] = n.ID
		if n.Op == nil {
			bad(n, "no operator payload")
			continue
		}
		for _, in := range n.Inputs {
			if in < 1 || int(in) > len(pl.Nodes) || in >= n.ID {
				bad(n, "input n%d does not name an earlier node", in)
			}
		}
		switch a := arity(n.Op); {
		case a == -1 && len(n.Inputs) == 0:
			bad(n, "%s needs at least one input", opName(n.Op))
		case a >= 0 && len(n.Inputs) != a:
			bad(n, "%s has %d inputs, want %d", opName(n.Op), len(n.Inputs), a)
		}
		switch op := n.Op.(type) {
		case *Source:
			if op.DeadLetter != 0 {
				if d := node(pl, op.DeadLetter); d == nil {
					bad(n, "dead letter n%d does not exist", op.DeadLetter)
				} else if dl, ok := d.Op.(*DeadLetter); !ok || dl.Source != n.ID {
					bad(n, "dead letter n%d is not this source's dead-letter node", op.DeadLetter)
				}
			}
		case *DeadLetter:
			if len(n.Inputs) != 1 || n.Inputs[0] != op.Source {
				bad(n, "dead letter inputs %v, want [n%d]", n.Inputs, op.Source)
			}
		case *LateOutput:
			if len(n.Inputs) != 1 || n.Inputs[0] != op.Of {
				bad(n, "late output inputs %v, want [n%d]", n.Inputs, op.Of)
			} else if a, ok := node(pl, op.Of).Op.(*Aggregate); !ok || a.Late != n.ID {
				bad(n, "late output of n%d, which does not name it", op.Of)
			}
		case *Aggregate:
			if op.Late != 0 {
				if l := node(pl, op.Late); l == nil {
					bad(n, "late output n%d does not exist", op.Late)
				}
			}
		}
		if !typed {
			continue
		}
		if n.Out == nil {
			bad(n, "no output type")
			continue
		}
		if n.Out.Kind != rtype.Record && n.Out.Kind != rtype.Invalid {
			bad(n, "output type %s is not a record", n.Out)
		}
		if n.EventTime != "" && n.Out.Kind == rtype.Record {
			if _, ok := n.Out.Field(n.EventTime); !ok {
				bad(n, "event time %q is not a column of the output", n.EventTime)
			}
		}
		if n.Out.Kind == rtype.Invalid {
			continue // already reported to the user; payload may be partial
		}
		var inTypes []*rtype.Type
		for _, in := range n.Inputs {
			if m := node(pl, in); m != nil {
				inTypes = append(inTypes, m.Out)
			}
		}
		if lk, ok := n.Op.(*Lookup); ok {
			inTypes = append(inTypes, lk.Schema)
		}
		for _, e := range exprs(n.Op) {
			if err := verifyExpr(e, inTypes); err != nil {
				bad(n, "%v", err)
			}
		}
	}
	return errors.Join(errs...)
}

func node(pl *Pipeline, id NodeID) *Node {
	if id < 1 || int(id) > len(pl.Nodes) {
		return nil
	}
	return pl.Nodes[id-1]
}

// exprs lists every expression of an operator payload.
func exprs(op Op) []*Expr {
	var out []*Expr
	cols := func(cs []Column) {
		for _, c := range cs {
			out = append(out, c.Expr)
		}
	}
	switch op := op.(type) {
	case *Filter:
		out = append(out, op.Where)
	case *Map:
		cols(op.Columns)
	case *Aggregate:
		cols(op.Keys)
		cols(op.Columns)
		// Having reads the aggregate's own output: checked separately.
	case *Rolling:
		cols(op.Keys)
		cols(op.Columns)
	case *Join:
		if op.Where != nil {
			out = append(out, op.Where)
		}
		cols(op.Columns)
	case *Lookup:
		cols(op.Columns)
	case *Pattern:
		cols(op.PartitionBy)
		cols(op.Define)
		cols(op.Measures)
	case *Dedupe:
		cols(op.Keys)
	case *TopN:
		cols(op.Keys)
	}
	return out
}

// Exprs returns every expression of an operator payload, in a stable order
// (Aggregate.Having excluded: it reads the aggregate's output).
func Exprs(op Op) []*Expr { return exprs(op) }

func verifyExpr(e *Expr, inputs []*rtype.Type) error {
	var err error
	e.Walk(func(x *Expr) bool {
		if err != nil {
			return false
		}
		if x == nil {
			err = errors.New("nil expression")
			return false
		}
		if x.Type == nil {
			err = fmt.Errorf("expression %q has no type", x.Text)
			return false
		}
		switch x.Kind {
		case Ref:
			if x.Input < 0 || x.Input >= len(inputs) || inputs[x.Input] == nil {
				err = fmt.Errorf("reference %q reads input %d of %d", x.Text, x.Input, len(inputs))
				return false
			}
			t := inputs[x.Input]
			for _, p := range x.Path {
				if t.Kind == rtype.Invalid {
					break
				}
				f, ok := t.Field(p)
				if !ok {
					err = fmt.Errorf("reference %q: no field %q in %s", x.Text, p, t)
					return false
				}
				t = f.Type
			}
			if len(x.Path) == 0 {
				err = fmt.Errorf("reference %q has an empty path", x.Text)
			} else if t.Kind != rtype.Invalid && !rtype.Identical(t, x.Type) {
				err = fmt.Errorf("reference %q is typed %s but the field is %s", x.Text, x.Type, t)
			}
		case Call:
			if x.Fn == "" {
				err = fmt.Errorf("call %q without a function", x.Text)
			}
		case Lit, ListExpr:
		default:
			err = fmt.Errorf("expression %q of unknown kind %d", x.Text, x.Kind)
		}
		return err == nil
	})
	return err
}
