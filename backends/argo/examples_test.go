package argo

import (
	"os"
	"path/filepath"
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/cuespec"
)

// TestExamples builds every example with --target argo; each file written
// validated against both CRD sets inside Generate (an invalid one is an
// error in the diagnostics section). Cases: testdata/examples/<example>.txtar.
func TestExamples(t *testing.T) {
	dir := schemas(t)
	root, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Skipf("SKIPPING: no examples folder: %v", err)
	}
	golden.Run(t, filepath.Join("testdata", "examples"), func(t *golden.T) {
		f, ds := cuespec.Load(&cuespec.Config{Dir: root}, []string{"./" + t.Name})
		if ds.HasErrors() {
			t.Fatalf("loading example %s: %v", t.Name, ds)
		}
		prog, cds := compiler.Compile(f, &compiler.Config{})
		if cds.HasErrors() {
			t.Fatalf("compiling example %s: %v", t.Name, cds)
		}
		r := backends.NewRegistry()
		r.MustRegister(Backend)
		set, gds := r.Generate(prog, []string{"argo"}, &backends.Options{Version: "test"})
		t.Out("diagnostics", render(gds))
		for _, file := range set.Files {
			t.Out(file.Path, file.Data)
		}
		checkJobs(t.T, dir, set)
	})
}
