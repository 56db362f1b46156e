package cep

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/expr"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/spec"
	"rtsap.dev/rtsapc/runtime/row"
)

// ticker is the input of Flink's MATCH_RECOGNIZE documentation.
var ticker = rtype.RecordOf(
	rtype.Field{Name: "symbol", Type: rtype.StringType},
	rtype.Field{Name: "price", Type: rtype.Int64Type},
	rtype.Field{Name: "tax", Type: rtype.Int64Type},
	rtype.Field{Name: "rowtime", Type: rtype.TimestampMillis},
)

var checker = expr.NewChecker()

// terms parses "A B+? C{2,3}" (the compiler's grammar, enough of it).
func terms(t testing.TB, s string) []ir.PatternTerm {
	var out []ir.PatternTerm
	for _, w := range strings.Fields(s) {
		i := 0
		for i < len(w) && (w[i] == '_' || w[i] >= 'A' && w[i] <= 'Z' || w[i] >= 'a' && w[i] <= 'z' || w[i] >= '0' && w[i] <= '9') {
			i++
		}
		pt := ir.PatternTerm{Var: w[:i], Quant: ir.Quantifier{Min: 1, Max: 1, Greedy: true}}
		q := w[i:]
		if strings.HasSuffix(q, "?") && len(q) > 1 {
			pt.Quant.Greedy = false
			q = q[:len(q)-1]
		}
		switch {
		case q == "":
		case q == "+":
			pt.Quant.Max = -1
		case q == "*":
			pt.Quant.Min, pt.Quant.Max = 0, -1
		case q == "?":
			pt.Quant.Min = 0
		case strings.HasPrefix(q, "{"):
			lo, hi, comma := strings.Cut(strings.Trim(q, "{}"), ",")
			pt.Quant.Min, _ = strconv.Atoi(lo)
			pt.Quant.Max = pt.Quant.Min
			if comma {
				pt.Quant.Max = -1
				if hi != "" {
					pt.Quant.Max, _ = strconv.Atoi(hi)
				}
			}
		default:
			t.Fatalf("bad quantifier %q", w)
		}
		out = append(out, pt)
	}
	return out
}

type pat struct {
	pattern  string
	define   [][2]string
	measures [][2]string
	skip     ir.SkipStrategy
	to       string
	within   time.Duration
}

func compile(t testing.TB, in *rtype.Type, p pat) *Matcher {
	t.Helper()
	op := &ir.Pattern{Terms: terms(t, p.pattern), Text: p.pattern, Skip: p.skip, SkipTo: p.to, Within: p.within}
	if op.Skip == "" {
		op.Skip = ir.SkipPastLastRow
	}
	var vars []string
	for _, x := range op.Terms {
		vars = append(vars, x.Var)
	}
	sc := &expr.Scope{Inputs: []expr.Input{{Type: in, Desc: "input"}}, Bare: 0, Vars: vars, Aggregates: true}
	check := func(text string) *ir.Expr {
		x, _, ds := checker.Check(spec.Expr{Text: text, QuoteLen: 1}, sc)
		if len(ds) > 0 {
			t.Fatalf("%q: %v", text, ds)
		}
		return x
	}
	op.PartitionBy = []ir.Column{{Name: "symbol", Expr: &ir.Expr{Kind: ir.Ref, Path: []string{"symbol"}, Type: rtype.StringType}}}
	for _, d := range p.define {
		op.Define = append(op.Define, ir.Column{Name: d[0], Expr: check(d[1])})
	}
	for _, m := range p.measures {
		op.Measures = append(op.Measures, ir.Column{Name: m[0], Expr: check(m[1])})
	}
	m, err := Compile(op, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var base = time.Date(2018, 9, 17, 10, 0, 0, 0, time.UTC)

// rows makes ticker rows: prices at 10:00:01, :02, …
func rows(prices ...int64) []row.Row {
	var out []row.Row
	for i, p := range prices {
		out = append(out, row.Row{"XYZ", p, int64(1), base.Add(time.Duration(i+1) * time.Second)})
	}
	return out
}

func show(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.Format("15:04:05")
	}
	return fmt.Sprint(v)
}

// run feeds rows (ts from rowtime) and returns the results as strings; a
// round trip through Marshal/Unmarshal after every row checks the codec.
func run(t testing.TB, m *Matcher, rs []row.Row) ([]string, error) {
	s := m.NewState()
	var out []string
	emit := func(res []Result) {
		for _, r := range res {
			var f []string
			for _, v := range r.Row {
				f = append(f, show(v))
			}
			out = append(out, strings.Join(f, " "))
		}
	}
	for _, r := range rs {
		ts := r[3].(time.Time).UnixMilli()
		res, ok, err := m.Process(s, r, ts)
		if err != nil {
			return out, err
		}
		if !ok {
			out = append(out, "late")
		}
		emit(res)
		b := m.Marshal(s)
		s2, err := m.Unmarshal(b)
		if err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		if b2 := m.Marshal(s2); string(b2) != string(b) {
			t.Fatalf("codec round trip differs")
		}
		s = s2
	}
	res, err := m.Advance(s, 1<<62)
	emit(res)
	return out, err
}

var skipCase = pat{
	pattern:  "A+ C",
	define:   [][2]string{{"A", "sum(A.price) < 30"}},
	measures: [][2]string{{"sumPrice", "sum(A.price)"}, {"startTime", "first(rowtime)"}, {"endTime", "last(rowtime)"}},
}

func withSkip(p pat, s ir.SkipStrategy, to string) pat { p.skip, p.to = s, to; return p }

func TestFlinkDocs(t *testing.T) {
	docRows := rows(7, 9, 10, 5, 10, 7, 14)
	for _, tc := range []struct {
		name string
		p    pat
		in   []row.Row
		want []string
	}{
		{"greedy", pat{pattern: "A B* C",
			define:   [][2]string{{"A", "A.price > 10"}, {"B", "B.price < 15"}, {"C", "C.price > 12"}},
			measures: [][2]string{{"lastPrice", "C.price"}}},
			rows(10, 11, 12, 13, 14, 16), []string{"XYZ 16"}},
		{"reluctant", pat{pattern: "A B*? C",
			define:   [][2]string{{"A", "A.price > 10"}, {"B", "B.price < 15"}, {"C", "C.price > 12"}},
			measures: [][2]string{{"lastPrice", "C.price"}}},
			// After the first match (skip past last row), 14 starts another.
			rows(10, 11, 12, 13, 14, 16), []string{"XYZ 13", "XYZ 16"}},
		{"skip past last row", skipCase, docRows,
			[]string{"XYZ 26 10:00:01 10:00:04", "XYZ 17 10:00:05 10:00:07"}},
		{"skip to next row", withSkip(skipCase, ir.SkipToNextRow, ""), docRows,
			[]string{"XYZ 26 10:00:01 10:00:04", "XYZ 24 10:00:02 10:00:05", "XYZ 25 10:00:03 10:00:06",
				"XYZ 22 10:00:04 10:00:07", "XYZ 17 10:00:05 10:00:07"}},
		{"skip to last A", withSkip(skipCase, ir.SkipToLast, "A"), docRows,
			[]string{"XYZ 26 10:00:01 10:00:04", "XYZ 25 10:00:03 10:00:06", "XYZ 17 10:00:05 10:00:07"}},
		{"ticker decreasing", pat{pattern: "START_ROW PRICE_DOWN+ PRICE_UP",
			define: [][2]string{
				// (LAST(PRICE_DOWN.price, 1) IS NULL AND PRICE_DOWN.price <
				// START_ROW.price) OR PRICE_DOWN.price < LAST(PRICE_DOWN.price, 1)
				{"PRICE_DOWN", "PRICE_DOWN.price < coalesce(last(PRICE_DOWN.price, 1), START_ROW.price)"},
				{"PRICE_UP", "PRICE_UP.price > last(PRICE_DOWN.price, 1)"}},
			measures: [][2]string{{"start", "START_ROW.rowtime"}, {"bottom", "last(PRICE_DOWN.rowtime)"}, {"end", "last(PRICE_UP.rowtime)"}},
			skip:     ir.SkipToLast, to: "PRICE_UP"},
			func() []row.Row {
				rs := rows(12, 17, 19, 21, 25, 18, 15, 14, 24, 25, 19)
				for i := range rs { // the doc's rows start at 10:00:00
					rs[i][3] = rs[i][3].(time.Time).Add(-time.Second)
				}
				return rs
			}(), []string{"XYZ 10:00:04 10:00:07 10:00:08"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := run(t, compile(t, ticker, tc.p), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestSemantics covers the NFA's shapes and Flink's choices one by one.
func TestSemantics(t *testing.T) {
	gt := func(v string, n int) [2]string { return [2]string{v, fmt.Sprintf("price > %d", n)} }
	lt := func(v string, n int) [2]string { return [2]string{v, fmt.Sprintf("price < %d", n)} }
	all := [][2]string{{"n", "count()"}, {"first", "first(price)"}, {"last", "last(price)"}}
	for _, tc := range []struct {
		name string
		p    pat
		in   []int64
		want string // matches separated by |: "n first last"
	}{
		// Quantifiers.
		{"plus greedy", pat{pattern: "A+ B", define: [][2]string{gt("A", 5), lt("B", 5)}}, []int64{6, 7, 8, 1}, "4 6 1"},
		{"plus reluctant", pat{pattern: "A+? B", define: [][2]string{gt("A", 5), lt("B", 9)}}, []int64{6, 7, 8, 1}, "2 6 7|2 8 1"},
		{"times", pat{pattern: "A{2} B", define: [][2]string{gt("A", 5), lt("B", 5)}}, []int64{6, 7, 8, 1}, "3 7 1"},
		{"times range greedy", pat{pattern: "A{1,2} B", define: [][2]string{gt("A", 5), lt("B", 9)}}, []int64{6, 7, 8, 1}, "3 7 1"}, // Flink: B also needs not-A once A{1,2} is full, so 6 7 8 dies
		{"times range reluctant", pat{pattern: "A{1,2}? B", define: [][2]string{gt("A", 5), lt("B", 9)}}, []int64{6, 7, 8, 1}, "2 6 7|2 8 1"},
		{"times or more", pat{pattern: "A{2,} B", define: [][2]string{gt("A", 5), lt("B", 5)}}, []int64{6, 1, 7, 8, 9, 1}, "4 7 1"},
		{"zero or more greedy", pat{pattern: "S A* B", define: [][2]string{lt("S", 3), gt("A", 5), lt("B", 5)}}, []int64{2, 4, 2, 6, 7, 1}, "2 2 4|4 2 1"},
		{"optional", pat{pattern: "S A? B", define: [][2]string{lt("S", 3), gt("A", 5), gt("B", 5)}}, []int64{2, 6, 7}, "2 2 6"},
		{"zero times range", pat{pattern: "S A{0,2} B", define: [][2]string{lt("S", 3), gt("A", 5), lt("B", 5)}}, []int64{2, 6, 7, 1}, "4 2 1"},
		{"reluctant last", pat{pattern: "A B+?", define: [][2]string{lt("A", 3), gt("B", 5)}}, []int64{2, 6, 7}, "2 2 6"},
		{"strict contiguity", pat{pattern: "A B", define: [][2]string{lt("A", 3), gt("B", 5)}}, []int64{2, 4, 6, 2, 6}, "2 2 6"},
		// Flink's greedy condition: a variable without DEFINE (always
		// true) followed greedily blocks the next variable for good.
		{"greedy always true", pat{pattern: "A B* C", define: [][2]string{lt("A", 3), gt("C", 5)}}, []int64{2, 4, 6, 7}, ""},
		{"greedy always true reluctant", pat{pattern: "A B*? C", define: [][2]string{lt("A", 3), gt("C", 5)}}, []int64{2, 4, 6, 7}, "3 2 6"},
		// A later match waits for an earlier partial match and is pruned
		// when that one completes (skip past last row).
		{"earlier partial wins", pat{pattern: "A B*? C", define: [][2]string{lt("A", 3), {"C", "price > A.price + 7"}}}, []int64{2, 1, 9, 10}, "4 2 10"},
		{"earlier partial wins 2", pat{pattern: "A B C", define: [][2]string{lt("A", 5), gt("C", 8)}}, []int64{1, 2, 9, 9}, "3 1 9"},
		// Aggregates in DEFINE include the row tried.
		{"running sum", pat{pattern: "A+ B", define: [][2]string{{"A", "sum(A.price) <= 10"}, {"B", "true"}}}, []int64{4, 4, 4, 4}, "3 4 4"},
		{"nulls are false", pat{pattern: "A B", define: [][2]string{{"A", "last(A.price, 1) > 0"}, {"B", "true"}}}, []int64{4, 4}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.measures = all
			var rs []row.Row
			for i, p := range tc.in {
				rs = append(rs, row.Row{"XYZ", p, int64(0), base.Add(time.Duration(i) * time.Second)})
			}
			got, err := run(t, compile(t, ticker, tc.p), rs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i] = strings.TrimPrefix(got[i], "XYZ ")
			}
			if g := strings.Join(got, "|"); g != tc.want {
				t.Errorf("got %q, want %q", g, tc.want)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	p := pat{pattern: "A B*? C", define: [][2]string{{"A", "price < 3"}, {"C", "price > 5"}},
		measures: [][2]string{{"a", "A.rowtime"}, {"c", "C.rowtime"}}, within: 3 * time.Second}
	m := compile(t, ticker, p)
	// C at +3s from A is not within 3s (Flink: timestamp - start >= within
	// times out); the A at :03 matches C at :05.
	got, err := run(t, m, rows(1, 4, 2, 9, 9))
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(got, "|"); g != "XYZ 10:00:03 10:00:04" {
		t.Errorf("got %q", g)
	}
	// A match held behind an earlier partial match is released when that
	// one times out.
	m = compile(t, ticker, pat{pattern: "A B+? C", define: [][2]string{{"A", "price < 3"}, {"C", "price > A.price + 5"}},
		measures: [][2]string{{"a", "A.rowtime"}}, within: 5 * time.Second})
	s := m.NewState()
	var out []Result
	for _, r := range rows(2, 1, 4, 7) { // A=1 B=4 C=7 completes; A=2 is still open
		res, _, err := m.Process(s, r, r[3].(time.Time).UnixMilli())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res...)
	}
	if len(out) != 0 {
		t.Fatalf("emitted %v before the earlier partial match timed out", out)
	}
	if d, ok := m.Deadline(s); !ok || d != base.Add(6*time.Second).UnixMilli() {
		t.Fatalf("deadline %d %v", d, ok)
	}
	res, err := m.Advance(s, base.Add(6*time.Second).UnixMilli())
	if err != nil || len(res) != 1 || show(res[0].Row[1]) != "10:00:02" {
		t.Fatalf("released %v %v", res, err)
	}
}

// TestUntracked: a variable no expression reads keeps no rows, only its
// count, and the state still round-trips.
func TestUntracked(t *testing.T) {
	m := compile(t, ticker, pat{pattern: "A M*? B", define: [][2]string{{"A", "price < 3"}, {"B", "price > A.price + 50"}},
		measures: [][2]string{{"a", "A.price"}, {"b", "B.price"}, {"t", "rowtime"}}})
	if m.tracked[m.varIdx["M"]] || !m.tracked[m.varIdx["A"]] {
		t.Fatalf("tracked %v", m.tracked)
	}
	var ps []int64
	for i := 0; i < 100; i++ {
		ps = append(ps, 10+int64(i%7))
	}
	ps[3] = 1
	ps = append(ps, 99)
	got, err := run(t, m, rows(ps...))
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(got, "|"); g != "XYZ 1 99 10:01:41" {
		t.Errorf("got %q", g)
	}
}

func TestSkipErrors(t *testing.T) {
	// Skipping to a variable absent from the match fails like Flink.
	m := compile(t, ticker, pat{pattern: "A B? C", define: [][2]string{{"A", "price < 3"}, {"B", "price == 4"}, {"C", "price > 5"}},
		measures: [][2]string{{"a", "A.price"}}, skip: ir.SkipToLast, to: "B"})
	if _, err := run(t, m, rows(1, 9)); err == nil || !strings.Contains(err.Error(), "could not skip to B") {
		t.Errorf("err %v", err)
	}
	op := &ir.Pattern{Terms: terms(t, "A B+ C"), Skip: ir.SkipToFirst, SkipTo: "A"}
	if len(Unsupported(op)) == 0 {
		t.Error("skip to first of the first variable accepted")
	}
	for _, s := range []string{"A B*", "A B??", "A*", "A? B*?", "A A"} {
		if len(Unsupported(&ir.Pattern{Terms: terms(t, s), Skip: ir.SkipPastLastRow})) == 0 {
			t.Errorf("%q accepted", s)
		}
	}
	for _, s := range []string{"A B* C", "A B+?", "A{2,} B{3}", "A? B"} {
		if why := Unsupported(&ir.Pattern{Terms: terms(t, s), Skip: ir.SkipPastLastRow}); len(why) > 0 {
			t.Errorf("%q rejected: %v", s, why)
		}
	}
}

func TestLateAndCorrupt(t *testing.T) {
	m := compile(t, ticker, skipCase)
	s := m.NewState()
	rs := rows(1, 2)
	if _, ok, _ := m.Process(s, rs[1], 2000); !ok {
		t.Fatal("first row dropped")
	}
	if _, ok, _ := m.Process(s, rs[0], 1000); ok {
		t.Fatal("late row accepted")
	}
	for _, b := range [][]byte{{0}, {1}, {1, 2, 3}, {9, 9, 9, 9}, m.Marshal(s)[:5]} {
		if _, err := m.Unmarshal(b); err == nil {
			t.Errorf("corrupt state %v accepted", b)
		}
	}
}
