package passes

import (
	"fmt"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/lang/spec"
)

func TestParsePattern(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"A B+ C", "A B+ C"},
		{"A B*? C{2} D{2,} E{,3} F{1,4}? G??", "A B*? C{2} D{2,} E{0,3} F{1,4}? G??"},
		{"  BLOCK X*? MOVE ", "BLOCK X*? MOVE"},
		{"A{0,1}", "A?"},
	} {
		terms, ok := parsePattern(spec.Expr{Text: tc.in}, func(off, n int, f string, a ...any) { t.Errorf("%q: %s", tc.in, fmt.Sprintf(f, a...)) })
		var got []string
		for _, x := range terms {
			got = append(got, x.String())
		}
		if !ok || strings.Join(got, " ") != tc.want {
			t.Errorf("%q → %q (ok=%v), want %q", tc.in, strings.Join(got, " "), ok, tc.want)
		}
	}
	for in, off := range map[string]int{"A {2,1}": 2, "A B{x}": 3, "(A B)": 0, "A | B": 2, "": 0, "A{3,1}": 1, "A{0}": 1} {
		at := -1
		parsePattern(spec.Expr{Text: in}, func(o, n int, f string, a ...any) {
			if at < 0 {
				at = o
			}
		})
		if at != off {
			t.Errorf("%q: error at %d, want %d", in, at, off)
		}
	}
}
