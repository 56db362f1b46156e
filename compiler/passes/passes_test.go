package passes_test

import (
	"strings"
	"testing"

	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/expr"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/passes"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/cuespec"
	"rtsap.dev/rtsapc/lang/spec"
)

// optional lists the optimisation passes (every pass that may be disabled).
func optional() []string {
	var out []string
	for _, n := range passes.Names() {
		if !passes.Required(n) {
			out = append(out, n)
		}
	}
	return out
}

// TestPassGoldens compiles each testdata case twice: out/before with every
// optimisation disabled, out/ir with only the passes named on the
// archive's `#passes: a, b` line enabled.
func TestPassGoldens(t *testing.T) {
	golden.Run(t, "testdata", func(t *golden.T) {
		var enabled []string
		for _, line := range strings.Split(string(t.Archive.Comment), "\n") {
			if rest, ok := strings.CutPrefix(line, "#passes:"); ok {
				for _, p := range strings.Split(rest, ",") {
					enabled = append(enabled, strings.TrimSpace(p))
				}
			}
		}
		if len(enabled) == 0 {
			t.Fatal("case needs a #passes: line")
		}
		dir := t.WriteInputs()
		f, ds := cuespec.Load(&cuespec.Config{Dir: dir}, []string{"."})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		before, ds := compiler.Compile(f, &compiler.Config{Check: true, Disable: optional()})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		var disable []string
		for _, p := range optional() {
			on := false
			for _, e := range enabled {
				on = on || e == p
			}
			if !on {
				disable = append(disable, p)
			}
		}
		after, ds := compiler.Compile(f, &compiler.Config{Check: true, Disable: disable})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		if err := ir.Verify(after); err != nil {
			t.Fatal(err)
		}
		textsRecheck(t.T, after)
		b, a := ir.Sprint(before), ir.Sprint(after)
		if a == b && !strings.Contains(string(t.Archive.Comment), "#nochange") {
			t.Errorf("passes %v changed nothing (mark the case #nochange if that is the point)", enabled)
		}
		t.Out("before", []byte(b))
		t.Out("ir", []byte(a))
	})
}

// textsRecheck: every filter and map root's Text is CEL that lowers, over
// the node's current input, to the tree it carries — also after rewrites.
func textsRecheck(t *testing.T, p *ir.Program) {
	c := expr.NewChecker()
	for _, pl := range p.Pipelines {
		for _, n := range pl.Nodes {
			var es []*ir.Expr
			switch op := n.Op.(type) {
			case *ir.Filter:
				es = append(es, op.Where)
			case *ir.Map:
				for _, col := range op.Columns {
					es = append(es, col.Expr)
				}
			default:
				continue
			}
			in := pl.Node(n.Inputs[0]).Out
			for _, e := range es {
				got, _, ds := c.Check(spec.Expr{Text: e.Text}, &expr.Scope{Inputs: []expr.Input{{Type: in}}, Bare: 0})
				if len(ds) > 0 {
					t.Errorf("%s: Text %q does not check over the input: %v", n.Name, e.Text, ds)
					continue
				}
				if a, b := ir.ExprString(e), ir.ExprString(got); a != b {
					t.Errorf("%s: Text %q lowers to\n%s\nnot\n%s", n.Name, e.Text, b, a)
				}
			}
		}
	}
}

func TestPassTable(t *testing.T) {
	names := passes.Names()
	if names[0] != "resolve" || names[1] != "infer" || names[2] != "check" {
		t.Fatalf("required passes first: %v", names)
	}
	for _, n := range names[:3] {
		if !passes.Required(n) {
			t.Errorf("%s must be required", n)
		}
	}
	cfg := &passes.Config{Disable: []string{"infer", "fuse mapz"}}
	ds := cfg.Validate()
	if len(ds) != 2 || !strings.Contains(ds[0].Detail, "cannot disable required pass") || !strings.Contains(ds[1].Detail, `Did you mean "fuse maps"?`) {
		t.Fatalf("%v", ds)
	}
}
