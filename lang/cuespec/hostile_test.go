package cuespec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue/literal"

	"rtsap.dev/rtsapc/lang/diag"
)

// hostileNames reads ../shared/hostile/names.json relative to the repo root.
func hostileNames(t *testing.T) []string {
	t.Helper()
	d, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			break
		}
		p := filepath.Dir(d)
		if p == d {
			t.Fatal("no go.mod")
		}
		d = p
	}
	b, err := os.ReadFile(filepath.Join(d, "..", "shared", "hostile", "names.json"))
	if err != nil {
		t.Skipf("HOSTILE NAMES MISSING: %v (expected ../shared/hostile/names.json next to the repo)", err)
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestHostileNames uses every hostile name as a node name, a reference and
// a record field: each comes back exactly, references to them resolve, and
// a misspelt one is reported under its own name.
func TestHostileNames(t *testing.T) {
	names := hostileNames(t)
	q := literal.String.Quote
	var b strings.Builder
	b.WriteString("package p\n\nimport (\n\t\"rtsap.dev/rtsap\"\n\t\"rtsap.dev/rtsap/connect/file\"\n\t\"rtsap.dev/rtsap/connect/stdout\"\n)\n\n")
	b.WriteString("pipelines: " + q("hostile") + ": rtsap.#Pipeline & {\n\tengine: \"beam\"\n")
	b.WriteString("\tsources: src: file.#Source & {path: \"in.jsonl\", schema: {\n")
	for _, n := range names {
		b.WriteString("\t\t" + q(n) + ": \"string\"\n")
	}
	b.WriteString("\t}}\n\ttransforms: {\n")
	prev := "src"
	for _, n := range names {
		b.WriteString("\t\t" + q(n) + ": rtsap.#Filter & {from: " + q(prev) + ", where: " + q("row["+q(n)+"] != ''") + "}\n")
		prev = n
	}
	b.WriteString("\t}\n\tsinks: out: stdout.#Sink & {from: " + q(prev) + "}\n}\n")
	dir := t.TempDir()
	file := filepath.Join(dir, "h.cue")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, ds := Load(&Config{Dir: dir}, nil)
	if len(ds) > 0 {
		t.Fatalf("diagnostics: %v", ds)
	}
	p := f.Pipelines[0]
	if got := len(p.Nodes[0].Source.Schema.Fields); got != len(names) {
		t.Fatalf("%d record fields, want %d", got, len(names))
	}
	for i, n := range names {
		if got := p.Nodes[0].Source.Schema.Fields[i].Name; got != n {
			t.Errorf("field %d: %q, want %q", i, got, n)
		}
		node := p.Nodes[1+i]
		if node.Name.Value != n {
			t.Errorf("node %d: %q, want %q", i, node.Name.Value, n)
		}
		if want := "row[" + q(n) + "] != ''"; node.Filter.Where.Text != want {
			t.Errorf("where %d: %q, want %q", i, node.Filter.Where.Text, want)
		}
	}
	checkExprs(t, f)

	// A reference to a hostile name with one byte changed is unknown.
	bad := strings.Replace(b.String(), "from: "+q("dot.ted"), "from: "+q("dotXted"), 1)
	if bad == b.String() {
		t.Fatal("no reference to dot.ted")
	}
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, ds = Load(&Config{Dir: dir}, nil)
	if len(ds) != 1 || ds[0].Code != diag.UnknownNode || !strings.Contains(ds[0].Detail, `"dotXted"`) ||
		!strings.Contains(ds[0].Detail, `Did you mean "dot.ted"?`) {
		t.Errorf("want one UnknownNode for dotXted, got %v", ds)
	}

	// A problem inside a node with a hostile name quotes the name.
	bad = strings.Replace(b.String(), "where: "+q("row["+q("new\nline")+"] != ''"), "wher: \"x\"", 1)
	if bad == b.String() {
		t.Fatal("no where of new\\nline")
	}
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, ds = Load(&Config{Dir: dir}, nil)
	if len(ds) == 0 {
		t.Fatal("no diagnostic for wher")
	}
	for _, d := range ds {
		if strings.Contains(d.Detail, "new\nline") || !strings.Contains(d.Detail, `"new\nline"`) {
			t.Errorf("name not quoted: %q", d.Detail)
		}
	}
}
