package openlineage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/cuespec"
)

// compileExample compiles examples/<name> with environment env ("" none).
func compileExample(t *testing.T, name, env string) *ir.Program {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	f, ds := cuespec.Load(&cuespec.Config{Dir: dir, Env: env}, []string{"./" + name})
	if ds.HasErrors() {
		t.Fatalf("load %s: %v", name, ds)
	}
	prog, cds := compiler.Compile(f, &compiler.Config{Env: env, Check: true})
	if cds.HasErrors() {
		t.Fatalf("compile %s: %v", name, cds)
	}
	return prog
}

func exampleNames(t *testing.T) []string {
	entries, err := os.ReadDir(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Skipf("SKIP: no examples: %v", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// TestExamples: for every example (and each of its environments), every
// event validates against the official schemas, and the column lineage and
// the warnings match reviewed goldens in testdata/examples.
func TestExamples(t *testing.T) {
	v := oltest.New(t)
	for _, name := range exampleNames(t) {
		t.Run(name, func(t *testing.T) {
			prog := compileExample(t, name, "")
			envs := []string{""}
			for _, e := range prog.Environments {
				envs = append(envs, e.Name)
			}
			for _, env := range envs {
				if env != "" {
					prog = compileExample(t, name, env)
				}
				opts := &backends.Options{Version: "v0.1.0-test", Settings: map[string]string{}}
				for _, e := range prog.Environments {
					if e.Name == env {
						opts.Env = e
					}
				}
				set, ds := Backend.Generate(&backends.Gen{Program: prog, Pipelines: prog.Pipelines, Options: opts})
				if ds.HasErrors() {
					t.Fatal(ds)
				}
				for _, f := range set.Files {
					if err := v.Validate(f.Data); err != nil {
						t.Errorf("%s: %v", f.Path, err)
					}
				}
				var out strings.Builder
				var jobs []*ol.JobEvent
				for _, d := range ds {
					out.WriteString("warning: " + d.Code.String() + " " + d.Summary + ": " + d.Detail + "\n")
				}
				for _, p := range prog.Pipelines {
					var ev ol.JobEvent
					if err := json.Unmarshal(set.Get(artifact.PathSegment(p.Name)+"/openlineage/job.json").Data, &ev); err != nil {
						t.Fatal(err)
					}
					out.Write(Text(&ev))
					jobs = append(jobs, &ev)
				}
				file := name
				if env != "" {
					file += "." + env
				}
				golden.File(t, filepath.Join("testdata", "examples", file+".lineage"), []byte(out.String()))
				if name == "trades-quotes-spread" { // a join, a dedupe and an aggregate, drawn
					golden.File(t, filepath.Join("testdata", "examples", file+".dot"), DOT(jobs))
					golden.File(t, filepath.Join("testdata", "examples", file+".mmd"), Mermaid(jobs))
				}
			}
		})
	}
}
