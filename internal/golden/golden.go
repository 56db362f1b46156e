// Package golden is the txtar golden-test harness; it is only imported by
// test files.
//
// A case is one .txtar archive: input files, then "out/<name>" sections
// holding expected outputs. A test records each output with [T.Out]; at the
// end the harness compares them with the archive. With -update (per
// package) or RTSAPC_UPDATE=1 (repo-wide) it rewrites the out/ sections and
// keeps the comment and inputs. An out/ section that nothing produced fails
// the test (or is removed on update), so stale goldens cannot pile up.
// RTSAPC_UPDATE=diff prints what would change without writing.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "rewrite golden files and txtar out/ sections with actual output")

// Update reports whether goldens should be rewritten. It is a function so
// that RTSAPC_UPDATE is read while a test runs and `go test` records it as a
// cache input.
func Update() bool {
	v := os.Getenv("RTSAPC_UPDATE")
	return *update || (v != "" && v != "0" && v != "diff")
}

// DiffOnly reports RTSAPC_UPDATE=diff.
func DiffOnly() bool { return os.Getenv("RTSAPC_UPDATE") == "diff" }

// T is one golden case.
type T struct {
	*testing.T
	Name    string
	Path    string
	Archive *txtar.Archive
	outs    map[string][]byte
}

// Run runs f for every *.txtar under dir (sorted), each as a subtest.
// Archive comments may contain "#skip" or "#todo" lines.
func Run(t *testing.T, dir string, f func(t *T)) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("golden: no .txtar cases in %s", dir)
	}
	sort.Strings(files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(tt *testing.T) {
			a, err := txtar.ParseFile(file)
			if err != nil {
				tt.Fatal(err)
			}
			c := string(a.Comment)
			if strings.Contains(c, "#skip") {
				tt.Skip("#skip in archive comment")
			}
			gt := &T{T: tt, Name: name, Path: file, Archive: a, outs: map[string][]byte{}}
			f(gt)
			if tt.Failed() && strings.Contains(c, "#todo") {
				tt.Skip("#todo: failure expected")
			}
			gt.finish()
		})
	}
}

// Inputs returns the archive's non-output files.
func (t *T) Inputs() map[string][]byte {
	m := map[string][]byte{}
	for _, f := range t.Archive.Files {
		if !strings.HasPrefix(f.Name, "out/") {
			m[f.Name] = f.Data
		}
	}
	return m
}

// WriteInputs writes the inputs into a fresh temporary directory and returns
// it.
func (t *T) WriteInputs() string {
	dir := t.TempDir()
	for name, data := range t.Inputs() {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Out records output section "out/<name>".
func (t *T) Out(name string, data []byte) {
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(append([]byte(nil), data...), '\n')
	}
	t.outs["out/"+name] = data
}

func (t *T) finish() {
	if t.Skipped() {
		return
	}
	want := map[string][]byte{}
	for _, f := range t.Archive.Files {
		if strings.HasPrefix(f.Name, "out/") {
			want[f.Name] = f.Data
		}
	}
	changed := false
	for name, got := range t.outs {
		w, ok := want[name]
		if ok && bytes.Equal(w, got) {
			continue
		}
		changed = true
		if DiffOnly() || !Update() {
			if !ok {
				t.Errorf("%s: no section %s in the archive; got:\n%s", t.Path, name, got)
			} else {
				t.Errorf("%s: %s differs (-want +got):\n%s", t.Path, name, cmp.Diff(string(w), string(got)))
			}
		}
	}
	for name := range want {
		if _, ok := t.outs[name]; !ok {
			changed = true
			if DiffOnly() || !Update() {
				t.Errorf("%s: section %s was produced by nothing (stale golden); run with -update to remove it", t.Path, name)
			}
		}
	}
	if !changed || !Update() {
		return
	}
	var files []txtar.File
	for _, f := range t.Archive.Files {
		if !strings.HasPrefix(f.Name, "out/") {
			files = append(files, f)
		}
	}
	var names []string
	for n := range t.outs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		files = append(files, txtar.File{Name: n, Data: t.outs[n]})
	}
	t.Archive.Files = files
	if err := os.WriteFile(t.Path, txtar.Format(t.Archive), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("updated %s", t.Path)
}

// File compares data with the golden file at path (outside txtar), or
// rewrites it under Update.
func File(t testing.TB, path string, data []byte) {
	t.Helper()
	if Update() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update to create it)", path, err)
	}
	if !bytes.Equal(want, data) {
		t.Errorf("golden %s differs (-want +got):\n%s", path, cmp.Diff(string(want), string(data)))
	}
}
