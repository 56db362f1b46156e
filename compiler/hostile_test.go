package compiler

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/compiler/expr"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// hostileNames reads ../shared/hostile/names.json relative to the repo root.
func hostileNames(t *testing.T) []string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("HOSTILE CORPUS NOT FOUND: no go.mod above the test directory")
		}
		dir = parent
	}
	data, err := os.ReadFile(filepath.Join(dir, "..", "shared", "hostile", "names.json"))
	if err != nil {
		t.Skipf("HOSTILE CORPUS NOT FOUND (%v): ../shared/hostile/names.json is needed for this test", err)
	}
	var names []string
	if err := json.Unmarshal(data, &names); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestHostileNames: every hostile name works as a field (read through
// row["…"] or bare when it is an identifier), a map column and a node name;
// the IR verifies and the printed form quotes it, so no name can break a
// line of the golden text.
func TestHostileNames(t *testing.T) {
	for _, name := range hostileNames(t) {
		f := vwapSpec()
		p := &pos{}
		src := f.Pipelines[0].Nodes[0].Source
		src.Schema.Fields = append(src.Schema.Fields, &spec.Field{Name: name, Type: p.s("int64"), Range: p.r()})
		read := `row[` + celString(name) + `]`
		if expr.IsIdent(name) {
			read = name
		}
		lit := f.Pipelines[0].Nodes[1]
		lit.Name.Value = name
		f.Pipelines[0].Nodes[2].From[0].Value = name
		lit.Filter.Where = p.e(read + " > 0 && venue != " + celString(name))
		bars := f.Pipelines[0].Nodes[2].Aggregate
		bars.Select = append(bars.Select, p.named(name, "sum("+read+")"))
		prog, ds := Compile(f, &Config{Check: true})
		for _, d := range ds {
			if d.Severity == diag.Error {
				t.Errorf("%q: %v", name, d)
			}
		}
		if err := ir.Verify(prog); err != nil {
			t.Errorf("%q: %v", name, err)
		}
		out := ir.Sprint(prog)
		for _, line := range strings.Split(out, "\n") {
			if line != "" && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "pipeline ") {
				t.Errorf("%q broke a line of the printed IR: %q", name, line)
			}
		}
		// The aggregate column's name is in the output record.
		if _, ok := prog.Pipelines[0].Lookup("bars").Out.Field(name); !ok {
			t.Errorf("%q: column missing from the aggregate's output", name)
		}
	}
}

// celString quotes s as a CEL string literal.
func celString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(strings.ToUpper(string("0123456789abcdef"[r>>4]) + string("0123456789abcdef"[r&15])))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
