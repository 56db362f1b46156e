package nifi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/diag"
)

// rejected holds one pipeline per operator NiFi cannot run.
func rejected() *ir.Pipeline {
	bars := rtype.RecordOf(rtype.Field{Name: "window_start", Type: ts3}, rtype.Field{Name: "window_end", Type: ts3},
		rtype.Field{Name: "symbol", Type: str}, rtype.Field{Name: "volume", Type: i64})
	src := &ir.Source{Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{opt("brokers", "k:9092"), opt("topic", "t")}},
		Schema: tradeType, OnError: ir.SkipOnError}
	return pipeline("rejected",
		node("trades", src, tradeType, 3),
		node("bars", &ir.Aggregate{Keys: []ir.Column{{Name: "symbol", Expr: ref("symbol", str)}},
			Window:  &ir.Window{Kind: ir.Tumble, Size: time.Minute},
			Columns: []ir.Column{{Name: "volume", Expr: call(ir.FnSum, i64, ref("size", i64))}}}, bars, 7, 1),
		node("pairs", &ir.Join{Type: ir.Inner, On: []ir.KeyPair{{Left: "symbol", Right: "symbol"}}, Upper: time.Second}, tradeType, 11, 1, 1),
		node("spikes", &ir.Pattern{Text: "A B+"}, tradeType, 15, 1),
		node("regex", &ir.Filter{Where: withPos(call(ir.FnMatches, bl, ref("symbol", str), litE("^A", str)), at(19, 30))}, tradeType, 19, 1),
		node("wide", &ir.Sink{Connector: ir.Connector{Kind: "hbase", Options: []ir.Option{opt("table", "t")}}}, tradeType, 23, 1),
		node("cols", &ir.Sink{Connector: ir.Connector{Kind: "cassandra", Options: []ir.Option{opt("table", "t")}}}, tradeType, 25, 1),
		node("plain", &ir.Sink{Connector: ir.Connector{Kind: "postgres", Options: []ir.Option{opt("url", "postgres://db/x"), opt("table", "t"),
			{Key: "password", Value: "hunter2", Pos: at(27, 40)}}}}, tradeType, 27, 1),
	)
}

var cases = map[string]func() *ir.Pipeline{
	"equities-lit": equitiesToTimescale,
	"news-ingest":  newsIngest,
	"rejected":     rejected,
}

func render(ds diag.Diagnostics) []byte {
	var b strings.Builder
	for _, d := range ds.Sort() {
		b.WriteString(d.Error())
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func TestGolden(t *testing.T) {
	golden.Run(t, "testdata", func(t *golden.T) {
		mk, ok := cases[t.Name]
		if !ok {
			t.Fatalf("no IR builder for case %s", t.Name)
		}
		prog := &ir.Program{Pipelines: []*ir.Pipeline{mk()}}
		r := backends.NewRegistry()
		r.MustRegister(Backend)
		set, ds := r.Generate(prog, []string{"nifi"}, &backends.Options{})
		t.Out("diagnostics", render(ds))
		for _, f := range set.Files {
			t.Out(f.Path, f.Data)
			if !strings.HasSuffix(f.Path, "/flow.json") {
				continue // lineage declarations: TestLineage
			}
			var snap Snapshot
			if err := json.Unmarshal(f.Data, &snap); err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			if errs := Validate(&snap); len(errs) > 0 {
				t.Errorf("%s: %s", f.Path, strings.Join(errs, "\n"))
			}
		}
	})
}

// TestCapabilityPositions asserts each rejection's code and position, so a
// capability error can never lose its place in the spec.
func TestCapabilityPositions(t *testing.T) {
	ds := Backend.Check(rejected(), &backends.Options{})
	want := map[string]diag.Code{
		"spec.cue:7:3":   diag.UnsupportedOperator,  // window aggregate
		"spec.cue:11:3":  diag.UnsupportedOperator,  // join
		"spec.cue:15:3":  diag.UnsupportedOperator,  // pattern
		"spec.cue:19:30": diag.UnsupportedFunction,  // matches()
		"spec.cue:23:3":  diag.UnsupportedConnector, // hbase
		"spec.cue:25:3":  diag.UnsupportedConnector, // cassandra
		"spec.cue:27:40": diag.NiFiLiteralSecret,    // password literal
	}
	got := map[string]diag.Code{}
	for _, d := range ds {
		if d.Subject == nil {
			t.Errorf("unpositioned: %v", d)
			continue
		}
		got[d.Subject.String()] = d.Code
	}
	for pos, code := range want {
		if got[pos] != code {
			t.Errorf("at %s: got %v, want %v (all: %v)", pos, got[pos], code, ds)
		}
	}
	if !ds.HasErrors() {
		t.Fatal("no errors")
	}
}

func TestLiteral(t *testing.T) {
	for _, c := range []struct{ in, el, noEL string }{
		{"plain", "plain", "plain"},
		{"${HOME}", "$${HOME}", "${HOME}"},
		{"#{param}", "##{param}", "##{param}"},
		{"$${x}", "$$$${x}", "$${x}"},
		{"${5 no close", "${5 no close", "${5 no close"},
		{"a#{b}${c}", "a##{b}$${c}", "a##{b}${c}"},
		{"I owe you $5", "I owe you $5", "I owe you $5"},
	} {
		if got := Literal(c.in, true); got != c.el {
			t.Errorf("Literal(%q, el) = %q, want %q", c.in, got, c.el)
		}
		if got := Literal(c.in, false); got != c.noEL {
			t.Errorf("Literal(%q, no el) = %q, want %q", c.in, got, c.noEL)
		}
		for _, el := range []bool{true, false} {
			if back := Unliteral(Literal(c.in, el), el); back != c.in {
				t.Errorf("round trip %q (el %v): %q", c.in, el, back)
			}
			if HasReference(Literal(c.in, el), el) {
				t.Errorf("Literal(%q) still holds a reference", c.in)
			}
		}
	}
	if !HasReference("#{x}", false) || !HasReference("${x}", true) || HasReference("${x}", false) {
		t.Error("HasReference misreads plain references")
	}
}

func TestQuoteSQL(t *testing.T) {
	for in, want := range map[string]string{
		"price":           `"price"`,
		`quote"d`:         `"quote""d"`,
		"${HOME}":         `U&"\0024\007BHOME\007D"`,
		"tab\there":       `U&"tab\0009here"`,
		"emoji_📈":         `"emoji_📈"`,
		"zero\u200bwidth": `U&"zero\200Bwidth"`,
		"a📈\n":            `U&"a\+01F4C8\000A"`,
		"it's":            `"it's"`,
		"价格":              `"价格"`,
		"back\\path":      `U&"back\005Cpath"`,
	} {
		if got := quoteIdent(in); got != want {
			t.Errorf("quoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
	if got := quoteString("' OR '1'='1"); got != `''' OR ''1''=''1'` {
		t.Errorf("quoteString = %s", got)
	}
}

// hostile returns the corpus of ../shared/hostile, or skips.
func hostile(t *testing.T, file string) []string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
	data, err := os.ReadFile(filepath.Join(dir, "..", "shared", "hostile", file))
	if err != nil {
		t.Skipf("SKIPPING: hostile corpus not found (%v); tests of hostile names need ../shared/hostile", err)
	}
	var out []string
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostile feeds every hostile name and string through every place the
// backend writes one: pipeline, node, topic, table, bucket, prefix, URL,
// filter literal. The flow must be valid JSON, structurally valid, and each
// value must read back (as NiFi reads properties) as exactly what was given.
func TestHostile(t *testing.T) {
	values := append(hostile(t, "names.json"), hostile(t, "strings.json")...)
	for _, v := range values {
		where := call(ir.FnEq, bl, ref("venue", str), litE(v, str))
		p := pipeline(v,
			node(v, &ir.Source{Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{
				opt("brokers", "k:9092"), opt("topic", v), opt("group", v)}}, Schema: tradeType, OnError: ir.SkipOnError}, tradeType, 3),
			node(v+" filter", &ir.Filter{Where: where}, tradeType, 5, 1),
			node(v+" sink", &ir.Sink{Connector: ir.Connector{Kind: "postgres", Options: []ir.Option{
				opt("host", "db"), opt("database", v), opt("table", v)}}}, tradeType, 7, 2),
			node(v+" s3", &ir.Sink{Connector: ir.Connector{Kind: "s3", Options: []ir.Option{
				opt("bucket", v), opt("path", v)}}}, tradeType, 8, 2),
		)
		p.Description = v
		if ds := Backend.Check(p, &backends.Options{}); ds.HasErrors() {
			t.Errorf("%q: %v", v, ds)
			continue
		}
		snap, ds := Flow(p, &backends.Options{})
		if ds.HasErrors() {
			t.Errorf("%q: %v", v, ds)
			continue
		}
		data, err := Encode(snap)
		if err != nil {
			t.Fatal(err)
		}
		var back Snapshot
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("%q: invalid JSON: %v", v, err)
		}
		if !reflect.DeepEqual(&back, snap) {
			t.Errorf("%q: JSON does not load to the same flow", v)
		}
		if errs := Validate(&back); len(errs) > 0 {
			t.Errorf("%q: %v", v, errs)
		}
		g := back.FlowContents
		if g.Name != v || g.Comments != v {
			t.Errorf("%q: group name/comments changed: %q %q", v, g.Name, g.Comments)
		}
		for _, pr := range g.Processors {
			for k, val := range pr.Properties {
				d := pr.PropertyDescriptors[k]
				el := d != nil && (d.Dynamic || map[string]bool{"Topics": true, "Group ID": true, "Table Name": true, "Bucket": true, "Object Key": true}[k])
				if k == "Object Key" {
					val = strings.TrimSuffix(val, "${filename}.json")
				}
				if HasReference(val, el) {
					t.Errorf("%q: processor %q property %q = %q holds a reference", v, pr.Name, k, val)
				}
				switch k {
				case "Topics", "Group ID":
					if Unliteral(val, true) != v {
						t.Errorf("%q: %s reads back as %q", v, k, Unliteral(val, true))
					}
				case "Bucket":
					if Unliteral(val, true) != v {
						t.Errorf("%q: Bucket reads back as %q", v, Unliteral(val, true))
					}
				case relSelected:
					if strings.Contains(val, "${") || strings.Contains(val, "#{") {
						t.Errorf("%q: SQL holds a reference: %s", v, val)
					}
				}
			}
		}
	}
}
