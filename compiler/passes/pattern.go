package passes

import (
	"sort"
	"strconv"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/spec"
)

// parsePattern parses a MATCH_RECOGNIZE sequence: variables separated by
// spaces, each with an optional quantifier + * ? {n} {n,} {n,m}, each
// quantifier optionally reluctant with a trailing ?. bad reports a problem
// at a byte offset of the text.
func parsePattern(e spec.Expr, bad func(off, n int, format string, args ...any)) ([]ir.PatternTerm, bool) {
	s := e.Text
	var terms []ir.PatternTerm
	i := 0
	ok := true
	isLetter := func(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	num := func() (int, bool) {
		j := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if j == i {
			return 0, false
		}
		v, err := strconv.Atoi(s[j:i])
		return v, err == nil && v <= 1_000_000
	}
	for i < len(s) {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		if c == '(' || c == ')' || c == '|' {
			bad(i, 1, "Groups and alternation (%q) are not supported in patterns yet: write a flat sequence of variables with quantifiers, e.g. \"A B+ C\", and express alternatives inside a variable's define (x || y).", string(c))
			return terms, false
		}
		if !isLetter(c) {
			bad(i, 1, "Unexpected %q in pattern %q: a pattern is variables (A, B, …) with quantifiers + * ? {n,m}, e.g. \"A B+ C\".", string(c), s)
			return terms, false
		}
		j := i
		for i < len(s) && (isLetter(s[i]) || isDigit(s[i])) {
			i++
		}
		t := ir.PatternTerm{Var: s[j:i], Quant: ir.Quantifier{Min: 1, Max: 1, Greedy: true}}
		if i < len(s) {
			switch s[i] {
			case '+':
				t.Quant.Max = -1
				i++
			case '*':
				t.Quant.Min, t.Quant.Max = 0, -1
				i++
			case '?':
				t.Quant.Min = 0
				i++
			case '{':
				start := i
				i++
				lo, okLo := num()
				if !okLo && i < len(s) && s[i] == ',' { // {,m}
					lo, okLo = 0, true
				}
				hi := lo
				if i < len(s) && s[i] == ',' {
					i++
					if i < len(s) && s[i] == '}' {
						hi = -1
					} else {
						var okHi bool
						hi, okHi = num()
						okLo = okLo && okHi
					}
				}
				if !okLo || i >= len(s) || s[i] != '}' {
					bad(start, i-start+1, "Bad quantifier in pattern %q: write {n}, {n,} or {n,m}.", s)
					return terms, false
				}
				i++
				if hi != -1 && hi < lo || hi == 0 {
					bad(start, i-start, "Bad quantifier in pattern %q: {%d,%d} matches nothing; the maximum must be ≥ the minimum and > 0.", s, lo, hi)
					ok = false
				}
				t.Quant.Min, t.Quant.Max = lo, hi
			}
			// A trailing ? after a quantifier makes it reluctant.
			if i < len(s) && s[i] == '?' && (t.Quant.Min != 1 || t.Quant.Max != 1) {
				t.Quant.Greedy = false
				i++
			}
		}
		terms = append(terms, t)
	}
	if len(terms) == 0 {
		bad(0, len(s), "The pattern is empty; write a sequence of variables such as \"A B+ C\".")
		return nil, false
	}
	return terms, ok
}

func sortOptions(os []ir.Option) {
	sort.SliceStable(os, func(i, j int) bool { return os[i].Key < os[j].Key })
}
