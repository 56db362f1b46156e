package diag

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func rng(file string, line, col int) Range {
	return Range{Filename: file, Start: Pos{line, col, 0}, End: Pos{line, col + 6, 0}}
}

func TestSortDedupe(t *testing.T) {
	a := Errorf(UnknownNode, rng("b.cue", 3, 9), "Unknown node", "x")
	b := Errorf(UnknownField, rng("a.cue", 10, 2), "Unknown field", "y")
	c := Errorf(UnknownNode, rng("b.cue", 3, 9), "Unknown node", "x") // duplicate of a
	d := Errorf(FailedLoad, Range{}, "Cannot load", "z")
	got := Diagnostics{a, b, c, d}.Sort()
	if len(got) != 3 {
		t.Fatalf("want 3 after dedupe, got %d: %v", len(got), got)
	}
	if got[0] != d || got[1] != b || got[2] != a {
		t.Errorf("wrong order: %v", got)
	}
}

func TestTextWriterSnippet(t *testing.T) {
	src := Sources{"p/pipeline.cue": []byte("package p\n\tfrom: \"tradez\"\n")}
	d := Errorf(UnknownNode, Range{Filename: "p/pipeline.cue", Start: Pos{2, 8, 16}, End: Pos{2, 16, 24}},
		"Unknown node", "No node named %q.%s", "tradez", DidYouMean("tradez", []string{"trades", "quotes"}))
	var b bytes.Buffer
	if err := (&TextWriter{W: &b, Sources: src}).Write(Diagnostics{d}); err != nil {
		t.Fatal(err)
	}
	want := "p/pipeline.cue:2:8: error[RTS2000]: Unknown node\n" +
		"  2 |     from: \"tradez\"\n" +
		"    |           ^^^^^^^^\n" +
		"  No node named \"tradez\". Did you mean \"trades\"?\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestJSON(t *testing.T) {
	d := Errorf(UnknownField, rng("a.cue", 1, 3), "Unknown field", "d")
	w := Warningf(UnknownField, rng("a.cue", 2, 1), "W", "")
	var b bytes.Buffer
	if err := WriteJSON(&b, Diagnostics{d, w}, Sources{"a.cue": []byte("x: 1\n")}); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Diagnostics []JSON
		Errors      int
		Warnings    int
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Errors != 1 || out.Warnings != 1 || out.Diagnostics[0].Code != "RTS2003" || out.Diagnostics[0].Name != "UnknownField" {
		t.Errorf("unexpected JSON: %s", b.String())
	}
	if out.Diagnostics[0].Snippet == nil || out.Diagnostics[0].Snippet.Code != "x: 1" {
		t.Errorf("missing snippet: %s", b.String())
	}
}

func TestSuggest(t *testing.T) {
	if s := Suggest("tradez", []string{"quotes", "trades"}); s != "trades" {
		t.Errorf("got %q", s)
	}
	if s := Suggest("volume", []string{"price", "size"}); s != "" {
		t.Errorf("got %q for a far name", s)
	}
}

func TestCodesHaveNames(t *testing.T) {
	for c, n := range Codes() {
		if n == "" || strings.ContainsAny(n, " -") {
			t.Errorf("code %s has bad name %q", c, n)
		}
		if c < 1000 || c > 9999 {
			t.Errorf("code %d outside RTS1000–9999", c)
		}
	}
}
