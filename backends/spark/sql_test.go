package spark

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// pyUnquote decodes a literal written by pyStr (the escapes it writes and
// nothing else), so a test reads program constants as Python would.
func pyUnquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", fmt.Errorf("not a literal: %s", s)
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			return "", fmt.Errorf("bare quote in %s", s)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("dangling backslash")
		}
		i++
		n := 0
		switch s[i] {
		case '"', '\\':
			b.WriteByte(s[i])
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x':
			n = 2
		case 'u':
			n = 4
		case 'U':
			n = 8
		default:
			return "", fmt.Errorf("escape \\%c", s[i])
		}
		if n > 0 {
			if i+1+n > len(s) {
				return "", fmt.Errorf("short escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
			if err != nil {
				return "", err
			}
			b.WriteRune(rune(v))
			i += n
		}
	}
	return b.String(), nil
}

var sqlConstRE = regexp.MustCompile(`(?m)^(N(\d+)_SQL) = \(\n((?:    "(?:[^"\\]|\\.)*"\n)+)\)\n`)

// programSQL returns the SELECT constants of a generated main.py in order,
// decoded, by node id, and checks that each is run by its node's function
// and that no other SQL runs.
func programSQL(t *testing.T, py string) ([]sqlStmt, error) {
	t.Helper()
	var out []sqlStmt
	for _, m := range sqlConstRE.FindAllStringSubmatch(py, -1) {
		var q strings.Builder
		for _, l := range strings.Split(strings.TrimSuffix(m[3], "\n"), "\n") {
			s, err := pyUnquote(strings.TrimPrefix(l, "    "))
			if err != nil {
				return nil, err
			}
			q.WriteString(s)
		}
		id, _ := strconv.Atoi(m[2])
		run := fmt.Sprintf("def n%d(wm):\n    # node %d", id, id)
		i := strings.Index(py, run)
		if i < 0 {
			return nil, fmt.Errorf("no function n%d", id)
		}
		end := strings.Index(py[i:], "\n\n\n")
		if end < 0 || !strings.HasSuffix(py[i:i+end+1], "\n    return spark.sql("+m[1]+")\n") {
			return nil, fmt.Errorf("n%d does not run %s", id, m[1])
		}
		out = append(out, sqlStmt{id: ir.NodeID(id), query: q.String()})
	}
	if got := strings.Count(py, "spark.sql("); got != len(out) {
		return nil, fmt.Errorf("%d spark.sql calls for %d statements", got, len(out))
	}
	return out, nil
}

// facetOf is the sql facet OpenLineage declares for pl.
func facetOf(t *testing.T, prog *ir.Program, pl *ir.Pipeline, opts *backends.Options) (string, string) {
	t.Helper()
	st, _ := openlineage.Build(prog, pl, opts)
	if f := st.Job.Job.Facets.SQL; f != nil {
		return f.Query, f.Dialect
	}
	return "", ""
}

// The sql facet is the program's SQL: the constants main.py runs, in node
// order, each as the view its node defines — for the feature pipelines, the
// examples and hostile names. The streaming pipeline has a dedupe Spark SQL
// cannot express, so it has no facet rather than a partial one.
func TestSQLFacetIsTheProgram(t *testing.T) {
	pls := []*ir.Pipeline{backtest(), streaming()}
	for _, name := range []string{"select", "back`tick", "O'Brien", "new\nline", "${HOME}", "--comment", "/*block*/", "rtl\u202eevil", "emoji_📈"} {
		pls = append(pls, hostilePipeline(name, "' OR '1'='1 ${env:X} \\u0000 \x00"))
	}
	for _, pl := range pls {
		prog := progOf(pl)
		set, ds := generateAll(t, prog, testOpts)
		if ds.HasErrors() {
			t.Fatalf("%q: %v", pl.Name, ds)
		}
		f := set.Get(Folder(pl) + "/spark/" + mainFile)
		if f == nil {
			t.Fatalf("%q: no main.py", pl.Name)
		}
		stmts, err := programSQL(t, string(f.Data))
		if err != nil {
			t.Fatalf("%q: %v", pl.Name, err)
		}
		if len(stmts) == 0 {
			t.Fatalf("%q: no SQL in the program", pl.Name)
		}
		want := (&program{sql: stmts}).script()
		q, dialect := facetOf(t, prog, pl, testOpts)
		if pl.Name == "stream-features" {
			// n10 (a streaming dedupe) is DataFrame code.
			if q != "" || !strings.Contains(string(f.Data), ".dropDuplicates(") {
				t.Errorf("streaming: a facet for a job that is not all SQL:\n%s", q)
			}
			continue
		}
		if q != want || dialect != "spark" {
			t.Errorf("%q: facet (%s)\n%s\nis not the program's SQL\n%s", pl.Name, dialect, q, want)
		}
		// Every transform node is a statement.
		n := 0
		for _, node := range pl.Nodes {
			switch node.Op.(type) {
			case *ir.Source, *ir.Sink, *ir.DeadLetter:
			default:
				n++
			}
		}
		if n != len(stmts) {
			t.Errorf("%q: %d statements for %d transform nodes", pl.Name, len(stmts), n)
		}
	}
}

// A pipeline with errors on Spark has no facet.
func TestSQLNoFacetOnErrors(t *testing.T) {
	pl := streaming()
	pl.Mode = ir.Batch
	for _, n := range pl.Nodes {
		if d, ok := n.Op.(*ir.Dedupe); ok {
			d.Within = 1
		}
	}
	if q, d := SQL(pl, testOpts); q != "" || d != "" {
		t.Errorf("facet for a pipeline Check rejects: %s", q)
	}
}

// hostilePipeline filters, maps and aggregates by a field called name,
// comparing with and appending the string s.
func hostilePipeline(name, s string) *ir.Pipeline {
	sch := rec(f(name, tStr), f("ts", tTS))
	b := newPipeline(name)
	src := b.add(name, kafkaSource("t", sch, "ts", 0), sch, "ts")
	flt := b.add(name+"_f", &ir.Filter{Where: call(ir.FnNe, tB, ref(name, tStr), litE(s, tStr))}, sch, "ts", src)
	mp := b.add(name+"_m", &ir.Map{Columns: []ir.Column{col(name, call(ir.FnAdd, tStr, ref(name, tStr), litE(s, tStr))), col("ts", ref("ts", tTS))}}, sch, "ts", flt)
	aggOut := windowed(f(name, tStr), f(name+"_n", tI64))
	agg := b.add(name+"_a", &ir.Aggregate{Keys: keyCols(sch, name), Window: &ir.Window{Kind: ir.Tumble, Size: time.Minute},
		Columns: []ir.Column{col(name+"_n", call(ir.FnCount, tI64))}, Having: call(ir.FnNe, tB, ref(name, tStr), litE(s, tStr))}, aggOut, ir.WindowEnd, mp)
	b.add(name+"_out", kafkaSink("out"), sch, "", mp)
	b.add(name+"_agg_out", kafkaSink("agg"), aggOut, "", agg)
	return b.pl
}

// sqlToken is a token of Spark SQL text: an identifier ("`…`" decoded), a
// string literal (decoded), or any other text.
type sqlToken struct {
	kind byte // 'i' back-quoted identifier, 's' string, 'o' other
	text string
}

// sparkTokens lexes SQL as Spark's lexer does for what rtsapc writes:
// back-quoted identifiers (“ for `), string literals with the escapes
// Spark unescapes (\\ \' \n \r \t \uXXXX, UTF-16 units); any comment,
// unterminated token or other escape is an error.
func sparkTokens(sql string) ([]sqlToken, error) {
	var out []sqlToken
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case strings.HasPrefix(sql[i:], "--") || strings.HasPrefix(sql[i:], "/*"):
			return nil, fmt.Errorf("comment at %d: %q", i, sql[i:])
		case c == '`':
			var b strings.Builder
			j := i + 1
			for ; ; j++ {
				if j >= len(sql) {
					return nil, fmt.Errorf("unterminated identifier at %d", i)
				}
				if sql[j] == '`' {
					if j+1 < len(sql) && sql[j+1] == '`' {
						b.WriteByte('`')
						j++
						continue
					}
					break
				}
				b.WriteByte(sql[j])
			}
			out = append(out, sqlToken{'i', b.String()})
			i = j + 1
		case c == '\'':
			var units []uint16
			j := i + 1
			for ; ; j++ {
				if j >= len(sql) {
					return nil, fmt.Errorf("unterminated string at %d", i)
				}
				if sql[j] == '\'' {
					break
				}
				if sql[j] != '\\' {
					r, n := utf8.DecodeRuneInString(sql[j:])
					if r >= 0x80 || r < 0x20 || strings.HasPrefix(sql[j:], "${") {
						return nil, fmt.Errorf("raw %q in a string literal", r)
					}
					units = append(units, utf16.Encode([]rune{r})...)
					j += n - 1
					continue
				}
				j++
				if j >= len(sql) {
					return nil, fmt.Errorf("dangling backslash")
				}
				switch sql[j] {
				case '\\', '\'':
					units = append(units, uint16(sql[j]))
				case 'n':
					units = append(units, '\n')
				case 'r':
					units = append(units, '\r')
				case 't':
					units = append(units, '\t')
				case 'u':
					if j+5 > len(sql) {
						return nil, fmt.Errorf("short \\u")
					}
					v, err := strconv.ParseUint(sql[j+1:j+5], 16, 16)
					if err != nil {
						return nil, err
					}
					units = append(units, uint16(v))
					j += 4
				default:
					return nil, fmt.Errorf("escape \\%c", sql[j])
				}
			}
			out = append(out, sqlToken{'s', string(utf16.Decode(units))})
			i = j + 1
		case c == ' ' || c == '\n':
			i++
		default:
			j := i
			for j < len(sql) && !strings.ContainsRune(" \n`'", rune(sql[j])) && !strings.HasPrefix(sql[j:], "--") && !strings.HasPrefix(sql[j:], "/*") {
				j++
			}
			out = append(out, sqlToken{'o', sql[i:j]})
			i = j
		}
	}
	return out, nil
}

// Hostile names and strings in Spark SQL: the facet of every hostile
// pipeline lexes (as Spark's lexer reads it) token for token as a plain
// one's (name "x", string "y"), with each identifier and string literal
// decoding to the spec's name or string in its place, and no comment, raw
// control or non-ASCII character, or "${" in a literal. The program disables
// ${…} substitution, the one rewrite Spark applies to SQL text before
// lexing (names may hold "${").
func TestHostileSQL(t *testing.T) {
	names := hostile(t, "names.json")
	strs := hostile(t, "strings.json")
	plainQ, _ := SQL(hostilePipeline("x", "y"), testOpts)
	plain, err := sparkTokens(plainQ)
	if err != nil || len(plain) == 0 {
		t.Fatalf("%v\n%s", err, plainQ)
	}
	for i, name := range names {
		for j, s := range strs {
			if j%5 != i%5 { // a spread of pairs keeps the test quick
				continue
			}
			q, d := SQL(hostilePipeline(name, s), testOpts)
			if q == "" || d != "spark" {
				t.Errorf("%q: no facet", name)
				continue
			}
			ts, err := sparkTokens(q)
			if err != nil {
				t.Errorf("%q, %q: %v\n%s", name, s, err, q)
				continue
			}
			if len(ts) != len(plain) {
				t.Errorf("%q, %q: %d tokens, want %d:\n%s", name, s, len(ts), len(plain), q)
				continue
			}
			for k, p := range plain {
				want := p
				switch {
				case p.kind == 'i' && strings.HasPrefix(p.text, "x"):
					want.text = name + p.text[1:]
				case p.kind == 's' && p.text == "y":
					want.text = s
				}
				if ts[k] != want {
					t.Errorf("%q, %q: token %d is %c %q, want %c %q", name, s, k, ts[k].kind, ts[k].text, want.kind, want.text)
					break
				}
			}
		}
	}
	pr := newProgram(hostilePipeline("x", "y"), testOpts)
	if py := pr.build(); !strings.Contains(py, `spark.conf.set("spark.sql.variable.substitute", "false")`) || strings.Index(py, "spark.sql.variable.substitute") > strings.Index(py, "def n1(") {
		t.Error("the program does not disable variable substitution before its SQL")
	}
}

func TestSQLStr(t *testing.T) {
	for s, want := range map[string]string{
		`it's`:          `'it\'s'`,
		`back\slash`:    `'back\\slash'`,
		"a\nb\r\tc":     `'a\nb\r\tc'`,
		"${env:SECRET}": `'\u0024{env:SECRET}'`,
		"\x00":          `'\u0000'`,
		"\u202e":        `'\u202E'`,
		"📈":             `'\uD83D\uDCC8'`,
		`\u0000`:        `'\\u0000'`,
		"--x/*y*/":      `'--x/*y*/'`,
		"$1 $":          `'$1 $'`,
	} {
		if got := sqlStr(s); got != want {
			t.Errorf("sqlStr(%q) = %s, want %s", s, got, want)
		}
	}
	if got := sqlIdent("a`b"); got != "`a``b`" {
		t.Errorf("sqlIdent = %s", got)
	}
}

// indent moves the lines of a query, not the line breaks inside a name.
func TestIndent(t *testing.T) {
	q := "SELECT `a\nb``\n`, 'it\\'s `\\\\'\nFROM n1"
	want := "  SELECT `a\nb``\n`, 'it\\'s `\\\\'\n  FROM n1"
	if got := indent(q); got != want {
		t.Errorf("indent(%q) = %q, want %q", q, got, want)
	}
}

// Columns equal but for case are rejected at the node: Spark would find
// either name ambiguous.
func TestCaseClash(t *testing.T) {
	sch := rec(f("price", tStr), f("Price", tStr), f("ts", tTS))
	b := newPipeline("clash")
	src := b.add("src", kafkaSource("t", sch, "ts", 0), sch, "ts")
	b.pl.Node(src).Pos = diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 4, Column: 3}}
	b.add("out", kafkaSink("o"), sch, "", src)
	var got []string
	for _, d := range Backend.Check(b.pl, nil) {
		if d.Severity == diag.Error {
			at := "?"
			if d.Subject != nil {
				at = d.Subject.String()
			}
			got = append(got, at+" "+d.Code.String())
		}
	}
	if strings.Join(got, ",") != "p.cue:4:3 RTS4004" {
		t.Errorf("got %v, want one RTS4004 at the source", got)
	}
	if q, _ := SQL(hostilePipeline("None", "x"), nil); q == "" {
		t.Error("a plain pipeline is rejected")
	}
}

// The Spark SQL form of each kind of expression.
func TestExprSQL(t *testing.T) {
	x, s, d := ref("x", tI64), ref("s", tStr), ref("d", tDec(18, 6))
	l := &ir.Expr{Kind: ir.Ref, Type: rtype.ListOf(tI64), Path: []string{"l"}}
	cases := []struct {
		e    *ir.Expr
		mode exprMode
		want string
	}{
		{litE(int64(-5), tI64), scalarMode, "CAST((-5) AS bigint)"},
		{litE(int64(7), tI32), scalarMode, "7"},
		{litE(-1.5, tF64), scalarMode, "(-1.5E+00)"},
		{litE(1e300, tF64), scalarMode, "1E+300"},
		{litE(math.NaN(), tF64), scalarMode, "CAST('NaN' AS double)"},
		{litE(ir.Decimal("-0.02"), tDec(18, 6)), scalarMode, "CAST((-0.02BD) AS decimal(18,6))"},
		{litE([]byte{0x0a, 0xff}, rtype.BytesType), scalarMode, "X'0AFF'"},
		{litE(nil, tI64), scalarMode, "CAST(NULL AS bigint)"},
		{litE(-90*time.Second, rtype.DurationType), scalarMode, "INTERVAL -90 seconds"},
		{call(ir.FnNeg, tI64, litE(int64(-5), tI32)), scalarMode, "(- (-5))"},
		{call(ir.FnSub, tI64, x, litE(int64(-5), tI32)), scalarMode, "(`x` - (-5))"},
		{call(ir.FnDiv, tI64, x, litE(int64(2), tI32)), scalarMode, "CAST((`x` DIV nullif(2, 0)) AS bigint)"},
		{call(ir.FnAdd, tStr, s, litE("${x}", tStr)), scalarMode, `concat(` + "`s`" + `, '\u0024{x}')`},
		{call(ir.FnIn, tB, s, &ir.Expr{Kind: ir.ListExpr, Type: rtype.ListOf(tStr)}), scalarMode, "FALSE"},
		{call(ir.FnIn, tB, s, &ir.Expr{Kind: ir.ListExpr, Type: rtype.ListOf(tStr), Args: []*ir.Expr{litE("a", tStr), litE("b", tStr)}}), scalarMode, "(`s` IN ('a', 'b'))"},
		{call(ir.FnIndex, tI64, l, litE(int64(0), tI64)), scalarMode, "try_element_at(`l`, (CAST(0 AS bigint) + 1))"},
		{call(ir.FnSubstring, tStr, s, litE(int64(1), tI64), litE(int64(3), tI64)), scalarMode, "substr(`s`, (CAST(1 AS bigint) + 1), (CAST(3 AS bigint) - CAST(1 AS bigint)))"},
		{call(ir.FnMatches, tB, s, litE(`^\d+$`, tStr)), scalarMode, "(`s` RLIKE '^\\\\d+$')"},
		{call(ir.FnGreatest, tI64, x, litE(int64(1), tI64)), scalarMode, "CASE WHEN (`x` IS NULL) OR (CAST(1 AS bigint) IS NULL) THEN NULL ELSE greatest(`x`, CAST(1 AS bigint)) END"},
		{call(ir.FnCond, tI64, call(ir.FnHas, tB, x), x, litE(int64(0), tI64)), scalarMode, "CASE WHEN (`x` IS NOT NULL) THEN `x` ELSE CAST(0 AS bigint) END"},
		{call(ir.FnRound, tF64, ref("f", tF64), litE(int64(-2), tI32)), scalarMode, "round(`f`, (-2))"},
		{call(ir.FnCount, tI64), groupMode, "count(1)"},
		{call(ir.FnSum, tDec(38, 6), d), overMode, "CAST(sum(`d`) OVER w AS decimal(38,6))"},
		{call(ir.FnAvg, tDec(38, 6), d), groupMode, "CAST((sum(`d`) / count(`d`)) AS decimal(38,6))"},
		{call(ir.FnStddev, tF64, ref("f", tF64)), groupMode, "stddev_samp(`f`)"},
		{call(ir.FnTop, rtype.ListOf(tI64), x, litE(int64(3), tI64)), overMode, "slice(sort_array(collect_list(`x`) OVER w, FALSE), 1, 3)"},
		{call(ir.FnCollect, rtype.ListOf(tI64), x), groupMode, "transform(array_sort(collect_list(CASE WHEN `x` IS NOT NULL THEN named_struct('t', `ts`, 'v', `x`) END)), e -> e.v)"},
	}
	for _, c := range cases {
		g := &exprGen{mode: c.mode, over: "w", timeCol: "ts"}
		if got := g.gen(c.e); got != c.want || g.diags.HasErrors() {
			t.Errorf("%s(%v): got %s (%v), want %s", c.e.Fn, c.e.Value, got, g.diags, c.want)
		}
	}
}
