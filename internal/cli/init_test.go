package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot walks up to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	d, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		p := filepath.Dir(d)
		if p == d {
			t.Fatal("no go.mod above the test directory")
		}
		d = p
	}
}

func runCLI(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Dir: dir, Getenv: func(string) string { return "" }}
	code := Run(context.Background(), env, args)
	return code, out.String(), errb.String()
}

// copyDir copies the .cue files of src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".cue") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInitWritesSchema(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, dir, "init", "specs")
	if code != ExitOK {
		t.Fatalf("init: exit %d: %s", code, errs)
	}
	for _, f := range []string{
		"specs/cue.mod/module.cue",
		"specs/cue.mod/pkg/rtsap.dev/rtsap/pipeline.cue",
		"specs/cue.mod/pkg/rtsap.dev/rtsap/finance/finance.cue",
		"specs/cue.mod/pkg/rtsap.dev/rtsap/connect/kafka/kafka.cue",
	} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if !strings.Contains(out, "wrote specs/cue.mod/module.cue") {
		t.Errorf("stdout: %q", out)
	}
	// A second run keeps the user's module.cue and replaces stale schema files.
	mod := filepath.Join(dir, "specs/cue.mod/module.cue")
	if err := os.WriteFile(mod, []byte("module: \"acme.example/markets\"\nlanguage: version: \"v0.17.0\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "specs/cue.mod/pkg/rtsap.dev/rtsap/old.cue")
	if err := os.WriteFile(stale, []byte("package rtsap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, filepath.Join(dir, "specs"), "init"); code != ExitOK {
		t.Fatalf("second init: %s", errs)
	}
	if b, _ := os.ReadFile(mod); !strings.Contains(string(b), "acme.example/markets") {
		t.Errorf("module.cue overwritten: %s", b)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale schema file kept")
	}
	if code, _, _ := runCLI(t, dir, "init", "a", "b"); code != ExitUsage {
		t.Errorf("two dirs: exit %d, want %d", code, ExitUsage)
	}
}

// TestInitServesCueVet builds the standard cue command from the module
// cache and checks that, in an init-ed folder, cue vet accepts every example
// and rejects a dangling from and a bad type string.
func TestInitServesCueVet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/cue")
	}
	root := repoRoot(t)
	tmp := t.TempDir()
	cue := filepath.Join(tmp, "cue")
	build := exec.Command("go", "build", "-o", cue, "cuelang.org/go/cmd/cue")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building cmd/cue: %v\n%s", err, out)
	}
	dir := filepath.Join(tmp, "specs")
	if code, _, errs := runCLI(t, tmp, "init", "specs"); code != ExitOK {
		t.Fatalf("init: %s", errs)
	}
	examples := filepath.Join(root, "examples")
	entries, err := os.ReadDir(examples)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			copyDir(t, filepath.Join(examples, e.Name()), filepath.Join(dir, e.Name()))
			n++
		}
	}
	if n < 6 {
		t.Fatalf("found %d examples", n)
	}
	vet := func(pkg string) (string, error) {
		cmd := exec.Command(cue, "vet", "-c", pkg)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CUE_REGISTRY=none", "CUE_CACHE_DIR="+filepath.Join(tmp, "cache"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := vet("./..."); err != nil {
		t.Fatalf("cue vet of the examples: %v\n%s", err, out)
	}
	// The schema module vets on its own too.
	self := exec.Command(cue, "vet", "./...")
	self.Dir = filepath.Join(root, "stdlib")
	self.Env = append(os.Environ(), "CUE_REGISTRY=none", "CUE_CACHE_DIR="+filepath.Join(tmp, "cache"))
	if out, err := self.CombinedOutput(); err != nil {
		t.Fatalf("cue vet in stdlib: %v\n%s", err, out)
	}

	src, err := os.ReadFile(filepath.Join(examples, "equities-vwap", "pipeline.cue"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"dangling", `from:  "trades"`, `from:  "tradez"`, `"tradez"`},
		{"badtype", `size:   "int64"`, `size:   "int46"`, `"int46"`},
	} {
		bad := strings.Replace(string(src), tc.old, tc.new, 1)
		if bad == string(src) {
			t.Fatalf("%s: %q not in the example", tc.name, tc.old)
		}
		d := filepath.Join(dir, "bad_"+tc.name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "pipeline.cue"), []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := vet("./bad_" + tc.name)
		if err == nil {
			t.Errorf("%s: cue vet accepted it", tc.name)
		} else if !strings.Contains(out, tc.want) {
			t.Errorf("%s: cue vet output lacks %s:\n%s", tc.name, tc.want, out)
		}
	}
}
