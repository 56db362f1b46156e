package compiler

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/passes"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

func codes(ds diag.Diagnostics) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Code.String()+"@"+d.Subject.String())
	}
	return out
}

// The CUE schema rejects dangling `from` names before the compiler runs;
// other front-ends may not, so the compiler checks them too.
func TestUnknownFromAndCascade(t *testing.T) {
	f := vwapSpec()
	nodes := f.Pipelines[0].Nodes
	lit := nodes[1]
	lit.From[0].Value = "tradez"
	_, ds := Compile(f, &Config{Check: true})
	if len(ds) != 1 || ds[0].Code != diag.UnknownNode || *ds[0].Subject != lit.From[0].Range ||
		!strings.Contains(ds[0].Detail, `Did you mean "trades"?`) {
		t.Fatalf("want one UnknownNode at the from; got %v", codes(ds))
	}
}

func TestDuplicateNames(t *testing.T) {
	f := vwapSpec()
	nodes := f.Pipelines[0].Nodes
	nodes[4].Name.Value = "store" // two sinks named store
	_, ds := Compile(f, &Config{Check: true})
	if len(ds) != 1 || ds[0].Code != diag.DuplicateName || *ds[0].Subject != nodes[4].Name.Range ||
		len(ds[0].Related) != 1 || ds[0].Related[0].Range != nodes[3].Name.Range {
		t.Fatalf("got %v", ds)
	}
	f = vwapSpec()
	f.Pipelines = append(f.Pipelines, vwapSpec().Pipelines[0])
	_, ds = Compile(f, &Config{Check: true})
	if len(ds) != 1 || ds[0].Code != diag.DuplicateName || !strings.Contains(ds[0].Summary, "pipeline") {
		t.Fatalf("got %v", ds)
	}
}

func TestCyclePath(t *testing.T) {
	f := vwapSpec()
	nodes := f.Pipelines[0].Nodes
	nodes[1].From[0].Value = "bars" // lit ← bars ← lit
	prog, ds := Compile(f, &Config{Check: true})
	if len(ds) != 1 || ds[0].Code != diag.CyclicPipeline || !strings.Contains(ds[0].Detail, `"lit" → "bars" → "lit"`) {
		t.Fatalf("got %v", ds)
	}
	if err := ir.Verify(prog); err != nil {
		t.Fatalf("partial program must still verify: %v", err)
	}
}

func TestWorkflows(t *testing.T) {
	f := vwapSpec()
	p := &pos{}
	f.Workflows = []*spec.Workflow{{Name: p.s("eod"), Range: p.r(), Steps: []*spec.Step{
		{Name: p.s("a"), Pipeline: p.s("equities-vwapp"), DependsOn: []spec.String{p.s("c")}},
		{Name: p.s("b"), Pipeline: p.s("equities-vwap"), DependsOn: []spec.String{p.s("a")}},
		{Name: p.s("c"), Pipeline: p.s("equities-vwap"), DependsOn: []spec.String{p.s("b")}},
		{Name: p.s("d"), Pipeline: p.s("equities-vwap"), DependsOn: []spec.String{p.s("x")}},
	}}}
	prog, all := Compile(f, &Config{Check: true})
	if len(all)-len(all.Errs()) != 3 || !strings.Contains(all[0].Summary+all[1].Summary+all[2].Summary+all[3].Summary, "Streaming pipeline in a workflow") {
		t.Errorf("want a warning per step running a streaming pipeline: %v", all)
	}
	ds := all.Errs()
	want := []diag.Code{diag.UnknownPipeline, diag.CyclicWorkflow, diag.UnknownNode}
	var got []diag.Code
	for _, d := range ds {
		got = append(got, d.Code)
	}
	if len(got) != 3 {
		t.Fatalf("got %v", ds)
	}
	for _, c := range want {
		found := false
		for _, g := range got {
			found = found || g == c
		}
		if !found {
			t.Errorf("missing %s in %v", c, ds)
		}
	}
	for _, d := range ds {
		if d.Code == diag.CyclicWorkflow && !strings.Contains(d.Detail, `"a" → "b" → "c" → "a"`) {
			t.Errorf("cycle path: %v", d)
		}
		if d.Code == diag.UnknownPipeline && !strings.Contains(d.Detail, `Did you mean "equities-vwap"?`) {
			t.Errorf("suggestion: %v", d)
		}
	}
	if err := ir.Verify(prog); err != nil {
		t.Fatal(err)
	}
}

func TestDisableRequiredPass(t *testing.T) {
	_, ds := Compile(vwapSpec(), &Config{Disable: []string{"resolve"}})
	if len(ds) == 0 || !strings.Contains(ds[0].Detail, "cannot disable required pass") {
		t.Fatalf("got %v", ds)
	}
}

func TestVerifyCatches(t *testing.T) {
	prog, ds := Compile(vwapSpec(), &Config{Check: true})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	pl := prog.Pipelines[0]
	pl.Nodes[2].Inputs = []ir.NodeID{pl.Nodes[2].ID} // a self loop
	pl.Nodes[3].Out = nil
	pl.Nodes[1].Name = pl.Nodes[0].Name
	err := ir.Verify(prog)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"does not name an earlier node", "no output type", "name already used"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

// TestInternalErrorRecovered: a pass that panics is reported as an internal
// error naming the pass, not a crash.
func TestInternalErrorRecovered(t *testing.T) {
	f := vwapSpec()
	f.Pipelines[0].Nodes[2].Aggregate = nil // a node with no payload of its kind
	f.Pipelines[0].Nodes[2].Filter = &spec.Filter{}
	_, ds := Compile(f, &Config{Check: true})
	for _, d := range ds {
		if d.Code == diag.InternalError {
			t.Fatalf("internal error: %v", d)
		}
	}
	u := passes.NewUnit(&spec.Pipeline{Nodes: []*spec.Node{nil}}, &ir.Pipeline{Name: "x"}, nil)
	passes.Run(u, &passes.Config{Check: true})
	if len(u.Diags) != 1 || u.Diags[0].Code != diag.InternalError || !strings.Contains(u.Diags[0].Detail, `internal error during pass "resolve"`) {
		t.Fatalf("got %v", u.Diags)
	}
}

// TestEveryCodeRegistered scans the compiler's sources for diag.X
// identifiers that are codes and checks each is registered, so that no
// error-severity diagnostic can carry an unnamed code.
func TestEveryCodeRegistered(t *testing.T) {
	registered := map[string]bool{}
	for _, n := range diag.Codes() {
		registered[n] = true
	}
	notCodes := map[string]bool{"Errorf": true, "Warningf": true, "Range": true, "Pos": true, "Diagnostic": true,
		"Diagnostics": true, "Related": true, "Error": true, "Warning": true, "Sources": true, "Suggest": true,
		"DidYouMean": true, "Code": true, "Severity": true, "Codes": true, "Attribute": true, "Library": true}
	seen := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "diag" && !notCodes[sel.Sel.Name] {
				seen++
				if !registered[sel.Sel.Name] {
					t.Errorf("%s: diag.%s is not a registered code", path, sel.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Fatalf("only %d code uses found; is the scan broken?", seen)
	}
}
