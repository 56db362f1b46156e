package flink

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// A small Flink SQL reader for structural comparisons: enough to pull out
// window TVFs, GROUP BY sets, OVER clauses, MATCH_RECOGNIZE clauses, join
// conditions and ROW_NUMBER filters from both the generated SQL and the
// documented queries, so tests compare meaning-bearing structure, not text.

type tok struct {
	kind byte // 'w' word (lower-cased), 'i' quoted identifier, 's' string, 'n' number, 'v' interval, 'p' punctuation
	text string
	dur  time.Duration
}

func (t tok) String() string {
	switch t.kind {
	case 'v':
		return "interval:" + t.dur.String()
	case 's':
		return "'" + t.text + "'"
	}
	return t.text
}

// isName reports a bare or quoted identifier.
func (t tok) isName() bool { return t.kind == 'i' || t.kind == 'w' }

func (t tok) is(words ...string) bool {
	for _, w := range words {
		if (t.kind == 'w' || t.kind == 'p') && t.text == w {
			return true
		}
	}
	return false
}

var unitDur = map[string]time.Duration{
	"second": time.Second, "seconds": time.Second, "minute": time.Minute, "minutes": time.Minute,
	"hour": time.Hour, "hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// lex tokenizes SQL; comments are dropped; INTERVAL 'n' UNIT[(p)] becomes
// one interval token; U&'…' literals are decoded.
func lex(sql string) []tok {
	var out []tok
	r := []rune(sql)
	i := 0
	for i < len(r) {
		c := r[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '-' && i+1 < len(r) && r[i+1] == '-':
			for i < len(r) && r[i] != '\n' {
				i++
			}
		case c == '`':
			j := i + 1
			var b strings.Builder
			for j < len(r) {
				if r[j] == '`' {
					if j+1 < len(r) && r[j+1] == '`' {
						b.WriteRune('`')
						j += 2
						continue
					}
					break
				}
				b.WriteRune(r[j])
				j++
			}
			out = append(out, tok{kind: 'i', text: b.String()})
			i = j + 1
		case c == '\'' || ((c == 'U' || c == 'u') && i+2 < len(r) && r[i+1] == '&' && r[i+2] == '\''):
			uni := c != '\''
			if uni {
				i += 2
			}
			j := i + 1
			var b strings.Builder
			for j < len(r) {
				if r[j] == '\'' {
					if j+1 < len(r) && r[j+1] == '\'' {
						b.WriteRune('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteRune(r[j])
				j++
			}
			s := b.String()
			if uni {
				s = unescapeU(s)
			}
			out = append(out, tok{kind: 's', text: s})
			i = j + 1
		case unicode.IsDigit(c):
			j := i
			for j < len(r) && (unicode.IsDigit(r[j]) || r[j] == '.' || r[j] == 'E' || r[j] == 'e') {
				j++
			}
			out = append(out, tok{kind: 'n', text: string(r[i:j])})
			i = j
		case unicode.IsLetter(c) || c == '_':
			j := i
			for j < len(r) && (unicode.IsLetter(r[j]) || unicode.IsDigit(r[j]) || r[j] == '_' || r[j] == '$') {
				j++
			}
			out = append(out, tok{kind: 'w', text: strings.ToLower(string(r[i:j]))})
			i = j
		default:
			two := ""
			if i+1 < len(r) {
				two = string(r[i : i+2])
			}
			if two == "<=" || two == ">=" || two == "<>" || two == "||" || two == "=>" {
				out = append(out, tok{kind: 'p', text: two})
				i += 2
			} else {
				out = append(out, tok{kind: 'p', text: string(c)})
				i++
			}
		}
	}
	// Fold intervals.
	var res []tok
	for k := 0; k < len(out); k++ {
		t := out[k]
		if t.is("interval") && k+2 < len(out) && out[k+1].kind == 's' && out[k+2].kind == 'w' {
			if u, ok := unitDur[out[k+2].text]; ok {
				f, _ := strconv.ParseFloat(out[k+1].text, 64)
				res = append(res, tok{kind: 'v', dur: time.Duration(f * float64(u))})
				k += 2
				if k+1 < len(out) && out[k+1].is("(") { // precision
					for k < len(out) && !out[k].is(")") {
						k++
					}
				}
				continue
			}
		}
		res = append(res, t)
	}
	return res
}

func unescapeU(s string) string {
	var b strings.Builder
	var pending []uint16
	flush := func() {
		for len(pending) > 0 {
			r := rune(pending[0])
			if len(pending) > 1 && r >= 0xD800 && r < 0xDC00 {
				r = (r-0xD800)<<10 + (rune(pending[1]) - 0xDC00) + 0x10000
				pending = pending[2:]
			} else {
				pending = pending[1:]
			}
			b.WriteRune(r)
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '\\' {
			flush()
			b.WriteByte('\\')
			i++
			continue
		}
		if s[i] == '\\' && i+4 < len(s) {
			v, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err == nil {
				pending = append(pending, uint16(v))
				i += 4
				continue
			}
		}
		flush()
		b.WriteByte(s[i])
	}
	flush()
	return b.String()
}

// statements splits at top-level ';'.
func statements(ts []tok) [][]tok {
	var out [][]tok
	start := 0
	for i, t := range ts {
		if t.is(";") {
			if i > start {
				out = append(out, ts[start:i])
			}
			start = i + 1
		}
	}
	if start < len(ts) {
		out = append(out, ts[start:])
	}
	return out
}

// matching returns the index of the ')' closing the '(' at i.
func matching(ts []tok, i int) int {
	depth := 0
	for j := i; j < len(ts); j++ {
		switch {
		case ts[j].is("("):
			depth++
		case ts[j].is(")"):
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(ts) - 1
}

// splitTop splits ts at top-level commas.
func splitTop(ts []tok) [][]tok {
	var out [][]tok
	depth, start := 0, 0
	for i, t := range ts {
		switch {
		case t.is("("):
			depth++
		case t.is(")"):
			depth--
		case t.is(",") && depth == 0:
			out = append(out, ts[start:i])
			start = i + 1
		}
	}
	if start < len(ts) {
		out = append(out, ts[start:])
	}
	return out
}

// norm renders an expression for comparison: names without quotes or
// qualifiers other than pattern variables kept, parentheses dropped.
func norm(ts []tok) string {
	var parts []string
	for _, t := range ts {
		if t.is("(") || t.is(")") {
			continue
		}
		parts = append(parts, strings.ToLower(t.String()))
	}
	return strings.Join(parts, " ")
}

// tvfInfo is a window table function call.
type tvfInfo struct {
	Kind      string
	Partition []string
	TimeCol   string
	Args      []time.Duration
}

func (t tvfInfo) String() string {
	return fmt.Sprintf("%s(part=%v, time=%s, %v)", t.Kind, t.Partition, t.TimeCol, t.Args)
}

func findTVFs(ts []tok) []tvfInfo {
	var out []tvfInfo
	for i := 0; i+1 < len(ts); i++ {
		if !(ts[i].is("tumble", "hop", "cumulate", "session") && ts[i+1].is("(")) {
			continue
		}
		end := matching(ts, i+1)
		info := tvfInfo{Kind: ts[i].text}
		for _, arg := range splitTop(ts[i+2 : end]) {
			if len(arg) > 2 && arg[1].is("=>") {
				arg = arg[2:] // named parameter
			}
			switch {
			case len(arg) > 0 && arg[0].is("table"):
				for k := 0; k+1 < len(arg); k++ {
					if arg[k].is("partition") && arg[k+1].is("by") {
						keys := arg[k+2:]
						if len(keys) > 0 && keys[0].is("(") && matching(keys, 0) == len(keys)-1 {
							keys = keys[1 : len(keys)-1]
						}
						for _, p := range splitTop(keys) {
							info.Partition = append(info.Partition, norm(p))
						}
					}
				}
			case len(arg) > 0 && arg[0].is("descriptor"):
				info.TimeCol = norm(arg[1:])
			case len(arg) == 1 && arg[0].kind == 'v':
				info.Args = append(info.Args, arg[0].dur)
			}
		}
		sort.Strings(info.Partition)
		out = append(out, info)
	}
	return out
}

// clauseAfter returns the tokens after the words seq (at any depth) up to
// the first top-level token in stops, relative to the depth where seq
// appeared.
func clauseAfter(ts []tok, from int, stops []string, seq ...string) ([]tok, int) {
	for i := from; i+len(seq) <= len(ts); i++ {
		ok := true
		for k, w := range seq {
			if !ts[i+k].is(w) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		start := i + len(seq)
		depth := 0
		for j := start; j < len(ts); j++ {
			switch {
			case ts[j].is("("):
				depth++
			case ts[j].is(")"):
				if depth == 0 {
					return ts[start:j], j
				}
				depth--
			}
			if depth == 0 && (ts[j].is(stops...) || (ts[j].is(";"))) {
				return ts[start:j], j
			}
		}
		return ts[start:], len(ts)
	}
	return nil, -1
}

func nameSet(ts []tok) []string {
	var out []string
	for _, p := range splitTop(ts) {
		out = append(out, norm(p))
	}
	sort.Strings(out)
	return out
}

// mrInfo is the structure of a MATCH_RECOGNIZE clause.
type mrInfo struct {
	Partition, Order []string
	Measures         map[string]string // alias → expression
	Skip             string
	Pattern          string
	Within           time.Duration
	Define           map[string]string
}

func findMR(ts []tok) *mrInfo {
	for i := 0; i+1 < len(ts); i++ {
		if !(ts[i].is("match_recognize") && ts[i+1].is("(")) {
			continue
		}
		body := ts[i+2 : matching(ts, i+1)]
		stops := []string{"partition", "order", "measures", "one", "after", "pattern", "define", "within"}
		info := &mrInfo{Measures: map[string]string{}, Define: map[string]string{}}
		if c, _ := clauseAfter(body, 0, stops, "partition", "by"); c != nil {
			info.Partition = nameSet(c)
		}
		if c, _ := clauseAfter(body, 0, stops, "order", "by"); c != nil {
			info.Order = nameSet(c)
		}
		if c, _ := clauseAfter(body, 0, stops, "measures"); c != nil {
			for _, m := range splitTop(c) {
				n := len(m)
				if n >= 3 && m[n-2].is("as") {
					info.Measures[strings.ToLower(m[n-1].text)] = norm(m[:n-2])
				}
			}
		}
		if c, _ := clauseAfter(body, 0, []string{"pattern", "define"}, "after", "match", "skip"); c != nil {
			info.Skip = norm(c)
		}
		for k := 0; k+1 < len(body); k++ {
			if body[k].is("pattern") && body[k+1].is("(") {
				e := matching(body, k+1)
				var p []string
				for _, t := range body[k+2 : e] {
					p = append(p, strings.ToLower(t.text))
				}
				info.Pattern = strings.ReplaceAll(strings.Join(p, " "), " ", "")
				if e+2 < len(body) && body[e+1].is("within") && body[e+2].kind == 'v' {
					info.Within = body[e+2].dur
				}
			}
		}
		if c, _ := clauseAfter(body, 0, nil, "define"); c != nil {
			for _, d := range splitTop(c) {
				if len(d) >= 3 && d[1].is("as") {
					info.Define[strings.ToLower(d[0].text)] = norm(d[2:])
				}
			}
		}
		return info
	}
	return nil
}

// overInfo is an OVER window.
type overInfo struct {
	Partition, Order []string
	Frame            string
}

func findOvers(ts []tok) []overInfo {
	var out []overInfo
	add := func(body []tok) {
		stops := []string{"partition", "order", "range", "rows"}
		var o overInfo
		if c, _ := clauseAfter(body, 0, stops, "partition", "by"); c != nil {
			o.Partition = nameSet(c)
		}
		if c, _ := clauseAfter(body, 0, stops, "order", "by"); c != nil {
			o.Order = nameSet(c)
		}
		for k, t := range body {
			if t.is("range", "rows") {
				o.Frame = norm(body[k:])
			}
		}
		out = append(out, o)
	}
	for i := 0; i+1 < len(ts); i++ {
		if ts[i].is("over") && ts[i+1].is("(") {
			add(ts[i+2 : matching(ts, i+1)])
		}
		if ts[i].is("window") && i+3 < len(ts) && ts[i+2].is("as") && ts[i+3].is("(") {
			add(ts[i+4 : matching(ts, i+3)])
		}
	}
	return out
}

// colName strips a qualifier: o.id → id.
func colName(ts []tok) string {
	if len(ts) == 3 && ts[1].is(".") {
		return ts[2].text
	}
	return norm(ts)
}

// timeBound is "a − b ∈ [lo, hi]" over column names.
type timeBound struct {
	A, B   string
	Lo, Hi time.Duration
}

// parseOffset reads `x.col [± INTERVAL]`.
func parseOffset(ts []tok) (string, time.Duration) {
	for k, t := range ts {
		if (t.is("+") || t.is("-")) && k+1 < len(ts) && ts[k+1].kind == 'v' {
			d := ts[k+1].dur
			if t.is("-") {
				d = -d
			}
			return colName(ts[:k]), d
		}
	}
	return colName(ts), 0
}

// findBetween reads `a BETWEEN b ± i AND c ± j` into a normalized bound:
// a − base ∈ [i, j] where b and c name the same column.
func findBetween(ts []tok) *timeBound {
	for i, t := range ts {
		if !t.is("between") {
			continue
		}
		// Left operand: the qualified column before BETWEEN.
		a := colName(ts[max(0, i-3):i])
		rest := ts[i+1:]
		for k, x := range rest {
			if x.is("and") {
				b, lo := parseOffset(rest[:k])
				end := len(rest)
				for m := k + 1; m < len(rest); m++ {
					if rest[m].is("and", ")") || rest[m].is(";") {
						end = m
						break
					}
				}
				c, hi := parseOffset(rest[k+1 : end])
				if b != c {
					return nil
				}
				tb := &timeBound{A: a, B: b, Lo: lo, Hi: hi}
				if tb.A > tb.B { // normalize: b − a ∈ [−hi, −lo]
					tb = &timeBound{A: b, B: a, Lo: -hi, Hi: -lo}
				}
				return tb
			}
		}
	}
	return nil
}

// equalities lists `x.a = y.b` conditions as sorted "a=b" pairs.
func equalities(ts []tok) []string {
	var out []string
	for i := 3; i+3 < len(ts); i++ {
		if ts[i].is("=") && ts[i-2].is(".") && ts[i+2].is(".") && ts[i-1].isName() && ts[i+3].isName() {
			a, b := ts[i-1].text, ts[i+3].text
			if a > b {
				a, b = b, a
			}
			out = append(out, a+"="+b)
		}
	}
	sort.Strings(out)
	return dedupe(out)
}

func dedupe(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// rowFilter finds `WHERE <col> <op> <n>` on a ROW_NUMBER alias.
func rowFilter(ts []tok, alias string) string {
	for i := 0; i+3 < len(ts); i++ {
		if ts[i].is("where") && ts[i+1].text == alias {
			return ts[i+2].text + " " + ts[i+3].text
		}
	}
	return ""
}

// rowNumberAlias finds `ROW_NUMBER() OVER (…) AS alias`.
func rowNumberAlias(ts []tok) string {
	for i := 0; i+2 < len(ts); i++ {
		if ts[i].is("row_number") {
			for j := i; j+1 < len(ts); j++ {
				if ts[j].is("over") && j+1 < len(ts) && ts[j+1].is("(") {
					e := matching(ts, j+1)
					if e+2 < len(ts) && ts[e+1].is("as") {
						return ts[e+2].text
					}
				}
			}
		}
	}
	return ""
}
