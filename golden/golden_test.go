// Package golden_test is the end-to-end golden corpus: every
// testdata/*.txtar holds a spec (CUE files) and its expected outputs, run
// through the CUE front-end and the compiler in one process.
//
// Sections:
//
//	out/ir           ir.Fprint of the compiled program (only when it loads)
//	out/diagnostics  every diagnostic, sorted, one per line (+ related)
//
// The archive comment may assert diagnostics independently of the golden
// text, so that -update cannot silently move them:
//
//	#want RTS2003 pipeline.cue:12:30   a diagnostic with this code there
//	#exact                             no error other than the #want ones
//	#clean                             no error-severity diagnostic
//	#args ./a ./b                      load these instead of "."
//	#env prod                          compile with an environment
//
// As in `rtsapc vet`, the compiler runs on the front-end's partial model
// even when loading reported errors (nodes with errors of their own are
// marked Invalid and not checked again); out/ir is written only for a spec
// that loads clean.
//
// Invalid specs are named err_*.txtar and must carry at least one #want.
// Most are generated from one table by gen/cases.py, which computes each
// #want from a marker placed in the spec text (so the expected position is
// written once, where the mistake is); hand-written cases sit beside them.
// Update with `go test ./golden -update` (or RTSAPC_UPDATE=1) and review
// the diff: the out/ sections are goldens, the #want lines are assertions.
package golden_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/cuespec"
	"rtsap.dev/rtsapc/lang/diag"
)

func TestGolden(t *testing.T) {
	golden.Run(t, "testdata", func(t *golden.T) {
		var wants []string
		clean, exact := false, false
		args := []string{"."}
		env := ""
		for _, line := range strings.Split(string(t.Archive.Comment), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			switch f[0] {
			case "#want":
				if len(f) != 3 {
					t.Fatalf("bad #want line %q: want `#want RTSnnnn file:line:col`", line)
				}
				wants = append(wants, f[1]+" "+f[2])
			case "#clean":
				clean = true
			case "#exact":
				exact = true
			case "#args":
				args = f[1:]
			case "#env":
				env = f[1]
			}
		}
		if strings.HasPrefix(t.Name, "err_") && len(wants) == 0 {
			t.Fatalf("%s: invalid-spec cases must assert at least one #want", t.Name)
		}
		dir := t.WriteInputs()
		f, ds := cuespec.Load(&cuespec.Config{Dir: dir, Env: env}, args)
		if f != nil && ds.HasErrors() {
			_, cds := compiler.Compile(f, &compiler.Config{Env: env})
			ds = ds.Extend(cds)
		} else if f != nil {
			prog, cds := compiler.Compile(f, &compiler.Config{Check: true, Env: env})
			ds = ds.Extend(cds)
			out := ir.Sprint(prog)
			t.Out("ir", []byte(out))
			// Deterministic: a second compilation prints the same bytes and
			// the same diagnostics.
			prog2, cds2 := compiler.Compile(f, &compiler.Config{Check: true, Env: env})
			if ir.Sprint(prog2) != out || render(cds2.Sort(), dir) != render(cds.Sort(), dir) {
				t.Errorf("compiling twice gave different results")
			}
		}
		ds = ds.Sort()
		if len(ds) > 0 {
			t.Out("diagnostics", []byte(render(ds, dir)))
		}
		got := map[string]bool{}
		for _, d := range ds {
			if d.Subject != nil {
				got[d.Code.String()+" "+rel(d.Subject.String(), dir)] = true
			}
			if d.Severity == diag.Error && d.Code == 0 {
				t.Errorf("error without a code: %v", d)
			}
			if d.Severity == diag.Error && d.Code.Name() == "" {
				t.Errorf("error with an unregistered code: %v", d)
			}
			if d.Code == diag.InternalError {
				t.Errorf("internal error: %v", d)
			}
		}
		for _, w := range wants {
			if !got[w] {
				t.Errorf("missing diagnostic %s; got:\n%s", w, render(ds, dir))
			}
		}
		if exact {
			want := map[string]bool{}
			for _, w := range wants {
				want[w] = true
			}
			for _, d := range ds.Errs() {
				if d.Subject == nil || !want[d.Code.String()+" "+rel(d.Subject.String(), dir)] {
					t.Errorf("#exact: unexpected diagnostic %s", rel(d.Error(), dir))
				}
			}
			if n := len(ds.Errs()); n != len(wants) {
				t.Errorf("#exact: %d errors, want %d:\n%s", n, len(wants), render(ds, dir))
			}
		}
		if clean && ds.HasErrors() {
			t.Errorf("#clean case has errors:\n%s", render(ds, dir))
		}
	})
}

func rel(s, dir string) string {
	s = strings.ReplaceAll(s, dir+string(filepath.Separator), "")
	return strings.ReplaceAll(s, dir, ".")
}

func render(ds diag.Diagnostics, dir string) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintln(&b, rel(d.Error(), dir))
		for _, r := range d.Related {
			fmt.Fprintf(&b, "\t%s: %s\n", rel(r.Range.String(), dir), r.Message)
		}
	}
	return b.String()
}
