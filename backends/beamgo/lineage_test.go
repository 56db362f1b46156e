package beamgo_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/beamgo"
	"rtsap.dev/rtsapc/backends/openlineage"
)

// TestEmbeddedLineageIsTheDeclaration: the job a generated program
// reports at run time is, byte for byte once compacted, the job.json the
// openlineage backend writes for the same build (same --env, --set and
// spec digest), so the runtime's events name what `rtsapc lineage` names.
func TestEmbeddedLineageIsTheDeclaration(t *testing.T) {
	root := repoRoot(t)
	prog := compile(t, filepath.Join(root, "examples", "equities-vwap"))
	opts := &backends.Options{Version: "test", Settings: map[string]string{openlineage.SetNamespace: "md-ns"}}
	gen := &backends.Gen{Program: prog, Pipelines: prog.Pipelines, Options: opts}
	beam, ds := beamgo.Backend.Generate(gen)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	decl, ds := openlineage.Backend.Generate(gen)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	for _, pl := range prog.Pipelines {
		main := beam.Get(pl.Name + "/beam/main.go")
		want := decl.Get(artifact.PathSegment(pl.Name) + "/openlineage/job.json")
		if main == nil || want == nil {
			t.Fatalf("%s: main.go %v, job.json %v", pl.Name, main != nil, want != nil)
		}
		got := embeddedString(t, main.Data, "lineageJob")
		var a, b bytes.Buffer
		if err := json.Compact(&a, []byte(got)); err != nil {
			t.Fatal(err)
		}
		if err := json.Compact(&b, want.Data); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: embedded job differs from job.json:\n%s\n%s", pl.Name, a.Bytes(), b.Bytes())
		}
	}
}

// embeddedString returns the string literal in `var name = []byte("…")`.
func embeddedString(t *testing.T, src []byte, name string) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, s := range g.Specs {
			vs, ok := s.(*ast.ValueSpec)
			if !ok || len(vs.Names) != 1 || vs.Names[0].Name != name || len(vs.Values) != 1 {
				continue
			}
			call, ok := vs.Values[0].(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				continue
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok {
				continue
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no var %s in the generated program", name)
	return ""
}
