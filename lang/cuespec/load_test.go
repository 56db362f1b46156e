package cuespec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// TestLoad runs the cases in testdata/load: each archive holds spec files;
// out/diagnostics is every diagnostic (file:line:col, code, summary,
// detail), out/spec the decoded model when the comment says #spec. The
// comment may also hold "env=NAME" and "args=a b".
func TestLoad(t *testing.T) {
	golden.Run(t, "testdata/load", func(t *golden.T) {
		dir := t.WriteInputs()
		cfg := &Config{Dir: dir}
		args := []string{"./..."}
		comment := string(t.Archive.Comment)
		for _, line := range strings.Split(comment, "\n") {
			if v, ok := strings.CutPrefix(line, "env="); ok {
				cfg.Env = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "args="); ok {
				args = strings.Fields(v)
			}
		}
		f, ds := Load(cfg, args)
		var b strings.Builder
		for _, d := range ds.Sort() {
			b.WriteString(strings.ReplaceAll(d.Error(), dir, "$DIR"))
			b.WriteByte('\n')
		}
		if b.Len() == 0 {
			b.WriteString("(none)\n")
		}
		t.Out("diagnostics", []byte(b.String()))
		if strings.Contains(comment, "#spec") {
			t.Out("spec", []byte(dump(f)))
		}
		checkRanges(t.T, f, ds)
		checkExprs(t.T, f)
	})
}

// checkRanges asserts that every diagnostic with a subject in a user file
// points inside that file.
func checkRanges(t *testing.T, f *spec.File, ds diag.Diagnostics) {
	t.Helper()
	for _, d := range ds {
		if d.Subject == nil || !d.Subject.IsValid() {
			continue
		}
		src, ok := f.Sources[d.Subject.Filename]
		if !ok {
			if !strings.HasPrefix(d.Subject.Filename, "rtsap.dev/rtsap/") {
				t.Errorf("diagnostic in unknown file %q: %s", d.Subject.Filename, d.Error())
			}
			continue
		}
		checkPos(t, src, d.Subject.Start, d.Error())
	}
}

// checkPos asserts that p's line and column agree with its byte offset.
func checkPos(t *testing.T, src []byte, p diag.Pos, what string) {
	t.Helper()
	if p.Byte < 0 || p.Byte > len(src) {
		t.Errorf("%s: byte %d outside the file", what, p.Byte)
		return
	}
	line := 1 + strings.Count(string(src[:p.Byte]), "\n")
	col := p.Byte - strings.LastIndex(string(src[:p.Byte]), "\n")
	if line != p.Line || col != p.Column {
		t.Errorf("%s: pos %d:%d but byte %d is %d:%d", what, p.Line, p.Column, p.Byte, line, col)
	}
}

// checkExprs asserts, for every expression in a user file, that each byte
// of the text maps to the same byte in the file, or to the backslash of the
// escape that produced it.
func checkExprs(t *testing.T, f *spec.File) {
	t.Helper()
	forExprs(f, func(e spec.Expr) {
		src, ok := f.Sources[e.Range.Filename]
		if !ok {
			return
		}
		for i := 0; i < len(e.Text); i++ {
			p := e.PosAt(i)
			checkPos(t, src, p, e.Text)
			if p.Byte >= len(src) {
				return
			}
			if p == e.Range.Start {
				continue // an unmappable literal points at its opening quote
			}
			if c := src[p.Byte]; c != e.Text[i] && c != '\\' {
				t.Errorf("%q: byte %d (%q) maps to %d:%d which holds %q", e.Text, i, e.Text[i], p.Line, p.Column, c)
				return
			}
		}
	})
}

// forExprs calls fn for every expression of f.
func forExprs(f *spec.File, fn func(spec.Expr)) {
	named := func(ns []spec.Named) {
		for _, n := range ns {
			fn(n.Expr)
		}
	}
	for _, p := range f.Pipelines {
		for _, n := range p.Nodes {
			switch {
			case n.Filter != nil:
				fn(n.Filter.Where)
			case n.Map != nil:
				named(n.Map.Select)
			case n.Aggregate != nil:
				named(n.Aggregate.Select)
				if n.Aggregate.Having != nil {
					fn(*n.Aggregate.Having)
				}
			case n.Rolling != nil:
				named(n.Rolling.Select)
			case n.Join != nil:
				named(n.Join.Select)
				if n.Join.Where != nil {
					fn(*n.Join.Where)
				}
			case n.Lookup != nil:
				named(n.Lookup.Select)
			case n.Pattern != nil:
				fn(n.Pattern.Pattern)
				named(n.Pattern.Define)
				named(n.Pattern.Measures)
			}
		}
	}
}

// TestExamplesExprPositions runs the position checks over the examples.
func TestExamplesExprPositions(t *testing.T) {
	dir, _ := filepath.Abs("../../examples")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no examples")
	}
	f, ds := Load(&Config{Dir: dir}, []string{"./..."})
	if len(ds) > 0 {
		t.Fatalf("examples: %v", ds)
	}
	n := 0
	forExprs(f, func(spec.Expr) { n++ })
	if n < 50 {
		t.Errorf("only %d expressions in the examples", n)
	}
	checkExprs(t, f)
}
