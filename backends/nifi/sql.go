package nifi

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// QueryRecord runs Apache Calcite with Lex.MYSQL_ANSI (NiFi's CalciteDatabase
// and QueryRecord's SqlValidator): identifiers in double quotes, string
// literals in single quotes, each quote doubled inside; unquoted and quoted
// identifiers keep their case but are matched case-insensitively.
//
// The SQL is a property value with Expression Language and parameters, so
// "${" and "#{" must never appear in it. Identifiers and literals that hold
// one of them, a backslash or a character that is not printable are written
// in Calcite's Unicode form (U&"…" / U&'…' with \XXXX escapes), where '$',
// '#' and '{' become escapes and nothing NiFi could read as a reference is
// left.

// quoteIdent quotes a column name for Calcite.
func quoteIdent(s string) string { return quoteSQL(s, '"') }

// quoteString renders a SQL character literal.
func quoteString(s string) string { return quoteSQL(s, '\'') }

func quoteSQL(s string, q byte) string {
	plain := true
	for _, r := range s {
		if r == '\\' || r == '$' || r == '#' || r == '{' || r == '}' || !unicode.IsPrint(r) || r == utf8.RuneError {
			plain = false
			break
		}
	}
	qs := string(q)
	if plain {
		return qs + strings.ReplaceAll(s, qs, qs+qs) + qs
	}
	var b strings.Builder
	b.WriteString("U&")
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q):
			b.WriteByte(q)
			b.WriteByte(q)
		case r == '\\' || r == '$' || r == '#' || r == '{' || r == '}' || !unicode.IsPrint(r) || r > 0x7e:
			if r > 0xffff {
				// Calcite reads \+XXXXXX for code points beyond the BMP.
				fmt.Fprintf(&b, "\\+%06X", r)
			} else {
				fmt.Fprintf(&b, "\\%04X", r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// sqlError is an expression NiFi's SQL cannot express exactly.
type sqlError struct {
	code   diag.Code
	pos    diag.Range
	reason string
}

// exprSQL translates a checked expression over the single input of a filter
// or map into Calcite SQL.
func exprSQL(e *ir.Expr) (string, *sqlError) {
	t := &translator{}
	s := t.expr(e)
	return s, t.err
}

type translator struct{ err *sqlError }

func (t *translator) fail(code diag.Code, e *ir.Expr, format string, args ...any) string {
	if t.err == nil {
		t.err = &sqlError{code: code, pos: e.Pos, reason: fmt.Sprintf(format, args...)}
	}
	return "NULL"
}

func sqlType(ty *rtype.Type) (string, bool) {
	switch ty.Kind {
	case rtype.String:
		return "VARCHAR", true
	case rtype.Bool:
		return "BOOLEAN", true
	case rtype.Int32:
		return "INTEGER", true
	case rtype.Int64:
		return "BIGINT", true
	case rtype.Float32:
		return "REAL", true
	case rtype.Float64:
		return "DOUBLE", true
	case rtype.Decimal:
		return fmt.Sprintf("DECIMAL(%d, %d)", ty.Precision, ty.Scale), true
	case rtype.Timestamp:
		return "TIMESTAMP", true
	case rtype.Date:
		return "DATE", true
	}
	return "", false
}

func (t *translator) lit(e *ir.Expr) string {
	switch v := e.Value.(type) {
	case nil:
		return "NULL"
	case bool:
		if v {
			return "TRUE"
		}
		return "FALSE"
	case int64:
		if v < 0 {
			return "(" + strconv.FormatInt(v, 10) + ")"
		}
		return strconv.FormatInt(v, 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return t.fail(diag.UnsupportedFunction, e, "the literal %v has no Calcite SQL form", v)
		}
		// An exponent makes Calcite read a DOUBLE, not an exact DECIMAL.
		s := strconv.FormatFloat(v, 'E', -1, 64)
		if v < 0 {
			return "(" + s + ")"
		}
		return s
	case ir.Decimal:
		s := string(v)
		if strings.HasPrefix(s, "-") {
			return "(" + s + ")"
		}
		return s
	case string:
		return quoteString(v)
	case []byte:
		return "X'" + strings.ToUpper(hex.EncodeToString(v)) + "'"
	case time.Duration:
		return t.fail(diag.UnsupportedFunction, e, "a duration is only supported added to or subtracted from a timestamp")
	}
	return t.fail(diag.UnsupportedFunction, e, "literal of Go type %T", e.Value)
}

var rpathFns = map[rtype.Kind]string{
	rtype.String: "RPATH_STRING", rtype.Int32: "RPATH_INT", rtype.Int64: "RPATH_LONG",
	rtype.Float32: "RPATH_FLOAT", rtype.Float64: "RPATH_DOUBLE",
}

var binOps = map[ir.Fn]string{
	ir.FnMul: "*", ir.FnEq: "=", ir.FnNe: "<>", ir.FnLt: "<", ir.FnLe: "<=", ir.FnGt: ">", ir.FnGe: ">=",
	ir.FnAnd: "AND", ir.FnOr: "OR",
}

var plainFns = map[ir.Fn]string{
	ir.FnCoalesce: "COALESCE", ir.FnLower: "LOWER", ir.FnUpper: "UPPER", ir.FnReplace: "REPLACE",
	ir.FnAbs: "ABS", ir.FnSqrt: "SQRT", ir.FnLn: "LN", ir.FnLog10: "LOG10", ir.FnExp: "EXP", ir.FnPow: "POWER",
	ir.FnRound: "ROUND", ir.FnFloor: "FLOOR", ir.FnCeil: "CEIL",
}

func (t *translator) args(e *ir.Expr) []string {
	out := make([]string, len(e.Args))
	for i, a := range e.Args {
		out[i] = t.expr(a)
	}
	return out
}

func (t *translator) expr(e *ir.Expr) string {
	if e == nil {
		return "NULL"
	}
	switch e.Kind {
	case ir.Lit:
		return t.lit(e)
	case ir.Ref:
		if e.Input != 0 || e.Var != "" {
			return t.fail(diag.UnsupportedOperator, e, "a reference to another input or a pattern variable")
		}
		if len(e.Path) == 1 {
			return quoteIdent(e.Path[0])
		}
		// Nested fields: NiFi's RecordPath functions over the record column
		// (QueryRecord registers RPATH_STRING, RPATH_INT, RPATH_LONG,
		// RPATH_FLOAT, RPATH_DOUBLE); they return null when a step is
		// missing, as a null parent does in the IR.
		fn, ok := rpathFns[e.Type.Kind]
		if !ok {
			return t.fail(diag.UnsupportedFunction, e, "nested field %s of type %s: NiFi's RecordPath functions return only strings and numbers", strings.Join(e.Path, "."), e.Type)
		}
		return fn + "(" + quoteIdent(e.Path[0]) + ", " + quoteString("/"+strings.Join(e.Path[1:], "/")) + ")"
	case ir.ListExpr:
		return t.fail(diag.UnsupportedFunction, e, "a list value outside `in`")
	case ir.Call:
		return t.call(e)
	}
	return t.fail(diag.UnsupportedFunction, e, "expression kind %d", e.Kind)
}

func (t *translator) call(e *ir.Expr) string {
	if e.Fn.IsAggregate() {
		return t.fail(diag.UnsupportedFunction, e, "aggregate %s outside an aggregation", e.Fn)
	}
	if op, ok := binOps[e.Fn]; ok && len(e.Args) == 2 {
		a := t.args(e)
		return "(" + a[0] + " " + op + " " + a[1] + ")"
	}
	if fn, ok := plainFns[e.Fn]; ok {
		if e.Fn == ir.FnRound && len(e.Args) == 2 {
			a := t.args(e)
			return "ROUND(" + a[0] + ", " + a[1] + ")"
		}
		return fn + "(" + strings.Join(t.args(e), ", ") + ")"
	}
	switch e.Fn {
	case ir.FnAdd, ir.FnSub:
		if len(e.Args) != 2 {
			break
		}
		l, r := e.Args[0], e.Args[1]
		if l.Type.Kind == rtype.Timestamp && r.Kind == ir.Lit {
			if d, ok := r.Value.(time.Duration); ok {
				us := d.Microseconds()
				if e.Fn == ir.FnSub {
					us = -us
				}
				return "TIMESTAMPADD(MICROSECOND, " + strconv.FormatInt(us, 10) + ", " + t.expr(l) + ")"
			}
		}
		if l.Type.Kind == rtype.Timestamp || r.Type.Kind == rtype.Timestamp || l.Type.Kind == rtype.Duration || r.Type.Kind == rtype.Duration {
			return t.fail(diag.UnsupportedFunction, e, "timestamp arithmetic other than timestamp ± duration literal")
		}
		if e.Fn == ir.FnAdd && l.Type.Kind == rtype.String {
			return "(" + t.expr(l) + " || " + t.expr(r) + ")"
		}
		op := "+"
		if e.Fn == ir.FnSub {
			op = "-"
		}
		return "(" + t.expr(l) + " " + op + " " + t.expr(r) + ")"
	case ir.FnDiv, ir.FnMod:
		if len(e.Args) != 2 {
			break
		}
		// The IR defines x / 0 as null; Calcite throws, which would send
		// the whole FlowFile to failure.
		a := t.args(e)
		if e.Fn == ir.FnDiv {
			return "(" + a[0] + " / NULLIF(" + a[1] + ", 0))"
		}
		return "MOD(" + a[0] + ", NULLIF(" + a[1] + ", 0))"
	case ir.FnNeg:
		return "(- " + t.expr(e.Args[0]) + ")"
	case ir.FnNot:
		return "(NOT " + t.expr(e.Args[0]) + ")"
	case ir.FnCond:
		a := t.args(e)
		return "(CASE WHEN " + a[0] + " THEN " + a[1] + " ELSE " + a[2] + " END)"
	case ir.FnIn:
		if len(e.Args) != 2 || e.Args[1].Kind != ir.ListExpr {
			return t.fail(diag.UnsupportedFunction, e, "`in` needs a list literal on the right")
		}
		if len(e.Args[1].Args) == 0 {
			return "FALSE"
		}
		return "(" + t.expr(e.Args[0]) + " IN (" + strings.Join(t.args(e.Args[1]), ", ") + "))"
	case ir.FnHas:
		return "(" + t.expr(e.Args[0]) + " IS NOT NULL)"
	case ir.FnIsNull:
		return "(" + t.expr(e.Args[0]) + " IS NULL)"
	case ir.FnSize:
		if e.Args[0].Type.Kind == rtype.String {
			return "CHAR_LENGTH(" + t.expr(e.Args[0]) + ")"
		}
		return t.fail(diag.UnsupportedFunction, e, "size() of %s", e.Args[0].Type)
	case ir.FnContains:
		a := t.args(e)
		return "(POSITION(" + a[1] + " IN " + a[0] + ") > 0)"
	case ir.FnStartsWith:
		a := t.args(e)
		return "(SUBSTRING(" + a[0] + " FROM 1 FOR CHAR_LENGTH(" + a[1] + ")) = " + a[1] + ")"
	case ir.FnEndsWith:
		a := t.args(e)
		return "(CASE WHEN CHAR_LENGTH(" + a[1] + ") > CHAR_LENGTH(" + a[0] + ") THEN FALSE ELSE SUBSTRING(" + a[0] +
			" FROM CHAR_LENGTH(" + a[0] + ") - CHAR_LENGTH(" + a[1] + ") + 1) = " + a[1] + " END)"
	case ir.FnConcat:
		return "(" + strings.Join(t.args(e), " || ") + ")"
	case ir.FnSubstring:
		a := t.args(e)
		if len(a) == 2 {
			return "SUBSTRING(" + a[0] + " FROM " + a[1] + " + 1)"
		}
		if len(a) == 3 {
			return "SUBSTRING(" + a[0] + " FROM " + a[1] + " + 1 FOR " + a[2] + " - " + a[1] + ")"
		}
	case ir.FnGreatest, ir.FnLeast:
		// GREATEST/LEAST are not in Calcite's standard operator table; a
		// CASE gives SQL's meaning (null when any argument is null).
		op := ">="
		if e.Fn == ir.FnLeast {
			op = "<="
		}
		a := t.args(e)
		if len(a) == 0 {
			break
		}
		acc := a[0]
		for _, x := range a[1:] {
			acc = "(CASE WHEN " + acc + " IS NULL OR " + x + " IS NULL THEN NULL WHEN " + acc + " " + op + " " + x + " THEN " + acc + " ELSE " + x + " END)"
		}
		return acc
	case ir.FnToInt, ir.FnToDouble, ir.FnToDecimal:
		st, ok := sqlType(e.Type)
		if !ok {
			break
		}
		return "CAST(" + t.expr(e.Args[0]) + " AS " + st + ")"
	case ir.FnToString:
		switch e.Args[0].Type.Kind {
		case rtype.String:
			return t.expr(e.Args[0])
		case rtype.Int32, rtype.Int64:
			return "CAST(" + t.expr(e.Args[0]) + " AS VARCHAR)"
		}
		return t.fail(diag.UnsupportedFunction, e, "string() of %s: Java formats it differently from CEL", e.Args[0].Type)
	case ir.FnToTimestamp:
		if e.Args[0].Type.IsInteger() {
			return "TIMESTAMPADD(MILLISECOND, " + t.expr(e.Args[0]) + ", TIMESTAMP '1970-01-01 00:00:00')"
		}
		return t.fail(diag.UnsupportedFunction, e, "timestamp() of a string: Calcite does not read RFC 3339 text")
	case ir.FnEpochMillis:
		return "TIMESTAMPDIFF(MILLISECOND, TIMESTAMP '1970-01-01 00:00:00', " + t.expr(e.Args[0]) + ")"
	case ir.FnDateTrunc:
		if len(e.Args) == 2 && e.Args[0].Kind == ir.Lit {
			if u, ok := e.Args[0].Value.(string); ok {
				switch u {
				case "second", "minute", "hour", "day":
					return "FLOOR(" + t.expr(e.Args[1]) + " TO " + strings.ToUpper(u) + ")"
				}
			}
		}
		return t.fail(diag.UnsupportedFunction, e, "date_trunc needs a literal unit: second, minute, hour or day")
	case ir.FnHour:
		return "EXTRACT(HOUR FROM " + t.expr(e.Args[0]) + ")"
	case ir.FnDayOfWeek:
		return "EXTRACT(ISODOW FROM " + t.expr(e.Args[0]) + ")"
	case ir.FnMatches:
		return t.fail(diag.UnsupportedFunction, e, "matches() uses RE2; NiFi's SQL has no RE2 regular expressions")
	case ir.FnTrim:
		return t.fail(diag.UnsupportedFunction, e, "trim() removes all whitespace; SQL TRIM removes only spaces")
	case ir.FnIndex:
		return t.fail(diag.UnsupportedFunction, e, "indexing lists and maps is not translated to NiFi's SQL")
	}
	return t.fail(diag.UnsupportedFunction, e, "%s has no exact equivalent in NiFi's SQL (Apache Calcite)", e.Fn)
}
