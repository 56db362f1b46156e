package nifi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/cuespec"
)

// TestExamples builds every example with --target nifi: the integration
// pipelines (engine nifi) must yield valid flows; the others are skipped
// with a warning naming what NiFi cannot run. Cases: testdata/examples/<example>.txtar.
func TestExamples(t *testing.T) {
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
		set, gds := r.Generate(prog, []string{"nifi"}, &backends.Options{Version: "test"})
		t.Out("diagnostics", render(gds))
		for _, file := range set.Files {
			t.Out(file.Path, file.Data)
			if !strings.HasSuffix(file.Path, "/flow.json") {
				continue // lineage declarations: TestLineage
			}
			var snap Snapshot
			if err := json.Unmarshal(file.Data, &snap); err != nil {
				t.Fatalf("%s: %v", file.Path, err)
			}
			if errs := Validate(&snap); len(errs) > 0 {
				t.Errorf("%s: %s", file.Path, strings.Join(errs, "\n"))
			}
		}
	})
}
