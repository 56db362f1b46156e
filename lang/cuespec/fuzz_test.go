package cuespec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/lang/diag"
)

// FuzzLoad feeds arbitrary file content through Load as a spec file. No
// input may panic (Load turns a panic into InternalError, which fails
// here) and every diagnostic must point inside the file or the schema.
// Seeds: testdata/fuzz/FuzzLoad (the examples and load cases).
func FuzzLoad(f *testing.F) {
	f.Add([]byte("package p\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "spec.cue"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		sf, ds := Load(&Config{Dir: dir}, []string{"."})
		if sf == nil {
			t.Fatal("nil file")
		}
		for _, d := range ds {
			if d.Code == diag.InternalError {
				t.Fatalf("internal error: %s", d.Error())
			}
			if d.Subject == nil || !d.Subject.IsValid() {
				continue
			}
			name := d.Subject.Filename
			if name != "spec.cue" && !strings.HasPrefix(name, "rtsap.dev/rtsap/") {
				t.Errorf("diagnostic in %q: %s", name, d.Error())
			}
			if b, ok := sf.Sources[name]; ok && d.Subject.Start.Byte > len(b) {
				t.Errorf("diagnostic past the end: %s", d.Error())
			}
		}
		checkExprs(t, sf)
	})
}

// TestExprColumns pins the columns of tokens inside CEL strings with
// escapes and a multi-line string (testdata/load/ok_strings.txtar).
func TestExprColumns(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\nimport (\n\t\"rtsap.dev/rtsap\"\n\t\"rtsap.dev/rtsap/connect/file\"\n)\n\n" +
		"pipelines: c: rtsap.#Pipeline & {\n" +
		"\tengine: \"beam\"\n" +
		"\tsources: s: file.#Source & {path: \"x\", schema: {a: \"string\", b: \"int64\"}}\n" +
		"\ttransforms: {\n" +
		"\t\tf: rtsap.#Filter & {from: \"s\", where: \"a == \\\"\\u00e9\\\" && b > 1\"}\n" + // line 12
		"\t\tg: rtsap.#Filter & {\n" +
		"\t\t\tfrom: \"f\"\n" +
		"\t\t\twhere: \"\"\"\n" +
		"\t\t\t\tb > 2 &&\n" + // line 16
		"\t\t\t\t  a != \"z\"\n" + // line 17
		"\t\t\t\t\"\"\"\n" +
		"\t\t}\n" +
		"\t}\n" +
		"\tsinks: o: file.#Sink & {from: \"g\", path: \"y\"}\n" +
		"}\n"
	if err := os.WriteFile(filepath.Join(dir, "c.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, ds := Load(&Config{Dir: dir}, nil)
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	nodes := f.Pipelines[0].Nodes
	where := nodes[1].Filter.Where
	// `where: "a == \"\u00e9\" && b > 1"`: the literal opens at column 41.
	if where.Range.Start.Line != 12 || where.Range.Start.Column != 41 {
		t.Errorf("range %v", where.Range)
	}
	for _, c := range []struct {
		tok       string
		line, col int
	}{
		{"a", 12, 42},
		{"==", 12, 44},
		{"\"", 12, 47}, // \" escape: its backslash
		{"é", 12, 49},  // \u00e9: its backslash
		{"&&", 12, 58}, // after three escapes
		{"b > 1", 12, 61},
	} {
		off := strings.Index(where.Text, c.tok)
		if off < 0 {
			t.Fatalf("%q not in %q", c.tok, where.Text)
		}
		if p := where.PosAt(off); p.Line != c.line || p.Column != c.col {
			t.Errorf("%q at %d:%d, want %d:%d", c.tok, p.Line, p.Column, c.line, c.col)
		}
	}
	multi := nodes[2].Filter.Where
	for _, c := range []struct {
		tok       string
		line, col int
	}{
		{"b > 2", 16, 5},
		{"a != ", 17, 7},
		{"\"z\"", 17, 12},
	} {
		off := strings.Index(multi.Text, c.tok)
		if p := multi.PosAt(off); p.Line != c.line || p.Column != c.col {
			t.Errorf("multi %q at %d:%d, want %d:%d", c.tok, p.Line, p.Column, c.line, c.col)
		}
	}
	if r := multi.RangeAt(strings.Index(multi.Text, "a != "), 1); r.End.Column != 8 {
		t.Errorf("RangeAt: %v", r)
	}
}
