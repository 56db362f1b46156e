package spark

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

// The transformations of a Spark program run as Spark SQL: each transform
// node's function registers its inputs' DataFrames as temporary views named
// after their nodes (n<ID>, never user text) and runs one SELECT over them,
// embedded in the program as a Python literal. The OpenLineage sql facet is
// the script of these statements, each as the view its node defines
// ("CREATE OR REPLACE TEMPORARY VIEW n<ID> AS <select>"), so the facet and
// the program come from the same strings. Sources (views n<ID> of the
// decoded, watermarked rows), dead letters, lookup tables (views
// n<ID>_table) and sinks stay DataFrame code: they are the job's I/O, which
// OpenLineage reports as datasets. A transformation Spark SQL cannot express
// (streaming deduplication) stays DataFrame code too, and then the job has
// no sql facet: a script that left it out would not be the job.

// sqlStmt is the SELECT of one transform node.
type sqlStmt struct {
	id    ir.NodeID
	query string
}

// sqlStr quotes a Spark SQL string literal. Spark unescapes backslash
// sequences in literals (spark.sql.parser.escapedStringLiterals is false by
// default), so \ and ' are escaped; line breaks and tabs are written \n, \r,
// \t; the '$' of "${" is written \u0024 so that no ${…} reaches variable
// substitution (which the program also disables);
// every other character outside printable ASCII is a \uXXXX escape (UTF-16
// units), so the statement text holds no control, invisible or
// direction-changing character.
func sqlStr(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i, r := range s {
		switch {
		case r == '$' && strings.HasPrefix(s[i+1:], "{"):
			b.WriteString(`\u0024`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\'':
			b.WriteString(`\'`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04X`, u)
			}
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// sqlCol is a column reference: `qual`.`a`.`b` (qual "" = none).
func sqlCol(qual string, path ...string) string {
	var parts []string
	if qual != "" {
		parts = append(parts, sqlIdent(qual))
	}
	for _, p := range path {
		parts = append(parts, sqlIdent(p))
	}
	return strings.Join(parts, ".")
}

// as is "expr AS `name`".
func as(expr, name string) string { return expr + " AS " + sqlIdent(name) }

// sqlInterval is a Spark SQL interval literal: INTERVAL 5 seconds.
func sqlInterval(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	return "INTERVAL " + sign + sparkDuration(d)
}

// selectList writes a SELECT list, one item a line.
func selectList(items []string) string {
	if len(items) == 0 {
		return "SELECT NULL"
	}
	return "SELECT\n  " + strings.Join(items, ",\n  ")
}

// indent indents every line of a subquery: the line breaks between
// tokens, not those inside a back-quoted identifier (a name may hold one;
// string literals never do, sqlStr escapes them).
func indent(q string) string {
	var b strings.Builder
	b.WriteString("  ")
	var in byte // the quote of the token being read: '`', '\'' or 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		b.WriteByte(c)
		switch {
		case in == '\'' && c == '\\' && i+1 < len(q):
			i++
			b.WriteByte(q[i])
		case in == 0 && (c == '`' || c == '\''):
			in = c
		case in != 0 && c == in:
			in = 0 // a doubled backtick closes and reopens
		case in == 0 && c == '\n':
			b.WriteString("  ")
		}
	}
	return b.String()
}

// sub is a subquery as a relation named alias.
func sub(q, alias string) string { return "(\n" + indent(q) + "\n) AS " + sqlIdent(alias) }

// fieldCols lists the columns of t (but skip), unqualified.
func fieldCols(t *rtype.Type, skip ...string) []string {
	var out []string
	if t == nil {
		return out
	}
next:
	for _, f := range t.Fields {
		for _, s := range skip {
			if f.Name == s {
				continue next
			}
		}
		out = append(out, sqlCol("", f.Name))
	}
	return out
}

// view is the name of a node's temporary view.
func view(id ir.NodeID) string { return fn(id) }

// createView is the facet form of a statement: the view its node defines.
func (s sqlStmt) createView() string {
	return "CREATE OR REPLACE TEMPORARY VIEW " + view(s.id) + " AS\n" + s.query + ";\n"
}

// sqlConst is the Python name of the constant holding a node's SELECT.
func sqlConst(id ir.NodeID) string { return strings.ToUpper(fn(id)) + "_SQL" }

// pyLines writes s as a parenthesized Python string, one literal per line
// of s (implicit concatenation keeps it exactly s).
func pyLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	b.WriteString("(\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		b.WriteString("    " + pyStr(l) + "\n")
	}
	b.WriteString(")")
	return b.String()
}

// viewDF is a temporary view a node's query reads: its name and the Python
// expression of its DataFrame.
type viewDF struct{ name, df string }

// inputView is the view of input node id, read with watermark delay wm (a
// Python expression).
func inputView(id ir.NodeID, wm string) viewDF { return viewDF{view(id), fn(id) + "(" + wm + ")"} }

// sqlDef defines node n as the SELECT query over views: the module
// constant holding the query, and n's function, which evaluates every view's
// DataFrame first (evaluating one registers the views its own query reads,
// possibly of the same node with another watermark delay), then registers
// them and runs the query. Spark analyzes the query at once (classic
// PySpark, as spark-submit runs main.py: spark.sql returns an analyzed
// Dataset), binding it to these DataFrames, so later registrations of the
// same names do not change it. PySpark formats the text only when spark.sql
// is given keyword arguments, which it never is, so braces in names are
// plain text.
func (p *program) sqlDef(n *ir.Node, query string, views ...viewDF) {
	p.sql = append(p.sql, sqlStmt{id: n.ID, query: query})
	p.defs = append(p.defs, "# Node "+fmt.Sprint(n.ID)+" in Spark SQL: view "+view(n.ID)+" of the OpenLineage sql facet.\n"+sqlConst(n.ID)+" = "+pyLines(query)+"\n")
	var body strings.Builder
	var names []string
	seen := map[string]bool{}
	for _, v := range views {
		if seen[v.name] {
			continue
		}
		seen[v.name] = true
		fmt.Fprintf(&body, "df_%s = %s\n", v.name, v.df)
		names = append(names, v.name)
	}
	for _, name := range names {
		fmt.Fprintf(&body, "df_%s.createOrReplaceTempView(%s)\n", name, pyStr(name))
	}
	body.WriteString("return spark.sql(" + sqlConst(n.ID) + ")")
	p.def(n, body.String())
}

// script is the facet form of the program's statements, in node order.
func (p *program) script() string {
	var b strings.Builder
	for i, s := range p.sql {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(s.createView())
	}
	return b.String()
}

// SQL returns the Spark SQL that computes pl's transformations, for the
// OpenLineage sql facet, with dialect "spark". It is "" for a pipeline with
// errors on Spark, without transformations, or with one that runs as
// DataFrame code (a streaming dedupe: Spark SQL has no dropDuplicates), for
// then the script would not be the whole job.
func SQL(pl *ir.Pipeline, opts *backends.Options) (query, dialect string) {
	if opts == nil {
		opts = &backends.Options{}
	}
	pr := newProgram(pl, opts)
	pr.build()
	if pr.diags.HasErrors() || pr.dataFrameOnly || len(pr.sql) == 0 {
		return "", ""
	}
	return pr.script(), "spark"
}
