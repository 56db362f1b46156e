package spark

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

type exprMode int

const (
	scalarMode exprMode = iota
	groupMode           // select list of a GROUP BY query
	overMode            // aggregate OVER a named window
)

// exprGen translates ir.Expr trees to Spark SQL expressions. Every column
// is a back-quoted identifier and every string a literal escaped by
// sqlStr, so no user text is read as SQL. Each form is the Spark function
// the spec's meaning needs (the same expressions a DataFrame program would
// build: SQL and DataFrames share one analyzer).
type exprGen struct {
	mode exprMode
	// over is the name of the WINDOW clause in overMode.
	over string
	// timeCol is the event-time column for first/last by event time.
	timeCol string
	// qual maps an input port to a relation alias ("" = unqualified).
	qual  func(input int) string
	diags diag.Diagnostics
}

func (g *exprGen) errf(code diag.Code, e *ir.Expr, format string, args ...any) string {
	g.diags = g.diags.Append(diag.Errorf(code, e.Pos, "Unsupported on Spark", format, args...))
	return "NULL"
}

func (g *exprGen) gen(e *ir.Expr) string {
	if e == nil {
		return "NULL"
	}
	switch e.Kind {
	case ir.Lit:
		return g.literal(e)
	case ir.Ref:
		if e.Var != "" {
			return g.errf(diag.UnsupportedOperator, e, "pattern variables have no Spark equivalent: %s", e.Text)
		}
		q := ""
		if g.qual != nil {
			q = g.qual(e.Input)
		}
		return sqlCol(q, e.Path...)
	case ir.ListExpr:
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, g.gen(a))
		}
		return "array(" + strings.Join(parts, ", ") + ")"
	case ir.Call:
		return g.call(e)
	}
	return g.errf(diag.InternalError, e, "unknown expression kind %d", e.Kind)
}

// decimalLit is a decimal as Spark's BD literal reads it.
var decimalLit = regexp.MustCompile(`^(-?)([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// neg parenthesizes a negative number: "(-5)", so that no "--" (a SQL
// comment) can form with a preceding minus.
func neg(sign, s string) string {
	if sign == "" {
		return s
	}
	return "(-" + s + ")"
}

func (g *exprGen) literal(e *ir.Expr) string {
	switch v := e.Value.(type) {
	case nil:
		if e.Type != nil && castName(e.Type) != "" {
			return "CAST(NULL AS " + castName(e.Type) + ")"
		}
		return "NULL"
	case bool:
		if v {
			return "TRUE"
		}
		return "FALSE"
	case int64:
		s := strconv.FormatInt(v, 10)
		if v < 0 {
			s = neg("-", s[1:])
		}
		if e.Type != nil && e.Type.Kind == rtype.Int64 {
			return "CAST(" + s + " AS bigint)"
		}
		return s
	case float64:
		switch {
		case math.IsNaN(v):
			return "CAST('NaN' AS double)"
		case math.IsInf(v, 1):
			return "CAST('Infinity' AS double)"
		case math.IsInf(v, -1):
			return "CAST('-Infinity' AS double)"
		}
		// An exponent makes the literal a double.
		s := strconv.FormatFloat(math.Abs(v), 'E', -1, 64)
		if math.Signbit(v) {
			return neg("-", s)
		}
		return s
	case ir.Decimal:
		m := decimalLit.FindStringSubmatch(string(v))
		if m == nil {
			return g.errf(diag.UnsupportedType, e, "the decimal literal %q has no Spark form", string(v))
		}
		s := neg(m[1], strings.TrimPrefix(string(v), "-")+"BD")
		if e.Type != nil && e.Type.Kind == rtype.Decimal {
			s = "CAST(" + s + " AS " + castName(e.Type) + ")"
		}
		return s
	case string:
		return sqlStr(v)
	case []byte:
		if len(v) == 0 {
			return "CAST('' AS binary)"
		}
		return fmt.Sprintf("X'%X'", v)
	case time.Duration:
		return sqlInterval(v)
	}
	return g.errf(diag.UnsupportedType, e, "the literal %s has no Spark SQL form", e.Text)
}

func argType(e *ir.Expr, i int) *rtype.Type {
	if i < len(e.Args) && e.Args[i].Type != nil {
		return e.Args[i].Type
	}
	return rtype.InvalidType
}

var sqlBinops = map[ir.Fn]string{
	ir.FnMul: "*", ir.FnEq: "=", ir.FnNe: "!=", ir.FnLt: "<", ir.FnLe: "<=", ir.FnGt: ">", ir.FnGe: ">=",
	ir.FnAnd: "AND", ir.FnOr: "OR",
}

// sqlFns are IR functions that are Spark functions of the same arguments.
var sqlFns = map[ir.Fn]string{
	ir.FnCoalesce: "coalesce", ir.FnLower: "lower", ir.FnUpper: "upper", ir.FnConcat: "concat",
	ir.FnAbs: "abs", ir.FnSqrt: "sqrt", ir.FnLn: "ln", ir.FnLog10: "log10", ir.FnExp: "exp",
	ir.FnPow: "pow", ir.FnHour: "hour", ir.FnReplace: "replace", ir.FnEpochMillis: "unix_millis",
}

func cast(s string, t *rtype.Type) string {
	if t != nil && castName(t) != "" {
		return "CAST(" + s + " AS " + castName(t) + ")"
	}
	return s
}

func (g *exprGen) call(e *ir.Expr) string {
	if e.Fn.IsAggregate() {
		return g.aggregate(e)
	}
	a := make([]string, len(e.Args))
	for i, x := range e.Args {
		a[i] = g.gen(x)
	}
	need := func(n int) bool {
		if len(a) < n {
			g.errf(diag.InternalError, e, "%s needs %d arguments", e.Fn, n)
			return false
		}
		return true
	}
	if op, ok := sqlBinops[e.Fn]; ok {
		if !need(2) {
			return "NULL"
		}
		return "(" + a[0] + " " + op + " " + a[1] + ")"
	}
	if fn, ok := sqlFns[e.Fn]; ok {
		return fn + "(" + strings.Join(a, ", ") + ")"
	}
	switch e.Fn {
	case ir.FnAdd:
		if !need(2) {
			return "NULL"
		}
		if e.Type != nil && e.Type.Kind == rtype.String {
			return "concat(" + a[0] + ", " + a[1] + ")"
		}
		return "(" + a[0] + " + " + a[1] + ")"
	case ir.FnSub:
		if !need(2) {
			return "NULL"
		}
		if argType(e, 0).Kind == rtype.Timestamp && argType(e, 1).Kind == rtype.Timestamp {
			return g.errf(diag.UnsupportedFunction, e, "subtracting two timestamps yields a duration, which has no exact Spark form here: %s", e.Text)
		}
		return "(" + a[0] + " - " + a[1] + ")"
	case ir.FnDiv:
		if !need(2) {
			return "NULL"
		}
		den := "nullif(" + a[1] + ", 0)" // division by zero yields null
		if e.Type != nil && e.Type.IsInteger() {
			return "CAST((" + a[0] + " DIV " + den + ") AS " + castName(e.Type) + ")"
		}
		return cast("("+a[0]+" / "+den+")", e.Type)
	case ir.FnMod:
		if !need(2) {
			return "NULL"
		}
		return "(" + a[0] + " % nullif(" + a[1] + ", 0))"
	case ir.FnNeg:
		if !need(1) {
			return "NULL"
		}
		return "(- " + a[0] + ")"
	case ir.FnNot:
		if !need(1) {
			return "NULL"
		}
		return "(NOT " + a[0] + ")"
	case ir.FnCond:
		if !need(3) {
			return "NULL"
		}
		return "CASE WHEN " + a[0] + " THEN " + a[1] + " ELSE " + a[2] + " END"
	case ir.FnIn:
		if !need(2) {
			return "NULL"
		}
		l := e.Args[1]
		if l.Kind != ir.ListExpr {
			return g.errf(diag.UnsupportedFunction, e, "\"in\" needs a list literal on Spark: %s", e.Text)
		}
		if len(l.Args) == 0 {
			return "FALSE"
		}
		var items []string
		for _, x := range l.Args {
			items = append(items, g.gen(x))
		}
		return "(" + a[0] + " IN (" + strings.Join(items, ", ") + "))"
	case ir.FnIndex:
		if !need(2) {
			return "NULL"
		}
		if argType(e, 0).Kind == rtype.List {
			return "try_element_at(" + a[0] + ", (" + a[1] + " + 1))"
		}
		return "try_element_at(" + a[0] + ", " + a[1] + ")"
	case ir.FnHas:
		if !need(1) {
			return "NULL"
		}
		return "(" + a[0] + " IS NOT NULL)"
	case ir.FnIsNull:
		if !need(1) {
			return "NULL"
		}
		return "(" + a[0] + " IS NULL)"
	case ir.FnSize:
		if !need(1) {
			return "NULL"
		}
		switch argType(e, 0).Kind {
		case rtype.String:
			return "CAST(char_length(" + a[0] + ") AS bigint)"
		case rtype.Bytes:
			return "CAST(octet_length(" + a[0] + ") AS bigint)"
		case rtype.List, rtype.Map:
			return "CAST(size(" + a[0] + ") AS bigint)"
		}
		return g.errf(diag.UnsupportedFunction, e, "size() of %s: %s", argType(e, 0), e.Text)
	case ir.FnContains, ir.FnStartsWith, ir.FnEndsWith:
		if !need(2) {
			return "NULL"
		}
		fn := map[ir.Fn]string{ir.FnContains: "contains", ir.FnStartsWith: "startswith", ir.FnEndsWith: "endswith"}[e.Fn]
		return fn + "(" + a[0] + ", " + a[1] + ")"
	case ir.FnMatches:
		if !need(2) {
			return "NULL"
		}
		s, ok := e.Args[1].Value.(string)
		if e.Args[1].Kind != ir.Lit || !ok || strings.Contains(s, "(?P") || strings.Contains(s, `\C`) || strings.Contains(s, `\z`) {
			return g.errf(diag.UnsupportedFunction, e, "matches() on Spark needs a literal RE2 pattern that Java's regex engine reads the same way (no (?P<name>), \\C or \\z): %s", e.Text)
		}
		return "(" + a[0] + " RLIKE " + sqlStr(s) + ")"
	case ir.FnTrim:
		if !need(1) {
			return "NULL"
		}
		return "regexp_replace(" + a[0] + ", " + sqlStr(`(?U)^\s+|\s+$`) + ", '')"
	case ir.FnSubstring:
		if !need(2) {
			return "NULL"
		}
		if len(a) == 2 {
			return "substr(" + a[0] + ", (" + a[1] + " + 1))"
		}
		return "substr(" + a[0] + ", (" + a[1] + " + 1), (" + a[2] + " - " + a[1] + "))"
	case ir.FnRound:
		if !need(1) {
			return "NULL"
		}
		if len(e.Args) > 1 {
			d, ok := e.Args[1].Value.(int64)
			if e.Args[1].Kind != ir.Lit || !ok {
				return g.errf(diag.UnsupportedFunction, e, "round() on Spark needs literal digits: %s", e.Text)
			}
			return "round(" + a[0] + ", " + neg(map[bool]string{true: "-"}[d < 0], strconv.FormatInt(abs(d), 10)) + ")"
		}
		return "round(" + a[0] + ", 0)"
	case ir.FnFloor, ir.FnCeil:
		if !need(1) {
			return "NULL"
		}
		fn := "floor"
		if e.Fn == ir.FnCeil {
			fn = "ceil"
		}
		return cast(fn+"("+a[0]+")", e.Type)
	case ir.FnGreatest, ir.FnLeast:
		if !need(1) {
			return "NULL"
		}
		// Spark's greatest/least skip nulls; the IR's are null when any
		// argument is.
		fn := "greatest"
		if e.Fn == ir.FnLeast {
			fn = "least"
		}
		var nulls []string
		for _, x := range a {
			nulls = append(nulls, "("+x+" IS NULL)")
		}
		return "CASE WHEN " + strings.Join(nulls, " OR ") + " THEN NULL ELSE " + fn + "(" + strings.Join(a, ", ") + ") END"
	case ir.FnToInt, ir.FnToDouble, ir.FnToDecimal:
		if !need(1) {
			return "NULL"
		}
		if src := argType(e, 0); src.Kind == rtype.String || src.Kind == rtype.Timestamp {
			return g.errf(diag.UnsupportedFunction, e, "converting %s to %s has no exact Spark equivalent: %s", src, e.Type, e.Text)
		}
		if e.Type == nil || castName(e.Type) == "" {
			return g.errf(diag.UnsupportedFunction, e, "conversion to %s: %s", e.Type, e.Text)
		}
		return cast(a[0], e.Type)
	case ir.FnToString:
		if !need(1) {
			return "NULL"
		}
		switch argType(e, 0).Kind {
		case rtype.String, rtype.Int32, rtype.Int64, rtype.Decimal, rtype.Bool:
			return "CAST(" + a[0] + " AS string)"
		}
		return g.errf(diag.UnsupportedFunction, e, "string() of %s formats differently in Spark than in CEL: %s", argType(e, 0), e.Text)
	case ir.FnToTimestamp:
		if !need(1) {
			return "NULL"
		}
		if argType(e, 0).IsInteger() {
			return "timestamp_millis(" + a[0] + ")"
		}
		return g.errf(diag.UnsupportedFunction, e, "timestamp() from %s has no exact Spark equivalent; use epoch milliseconds: %s", argType(e, 0), e.Text)
	case ir.FnDateTrunc:
		if !need(2) {
			return "NULL"
		}
		u, _ := e.Args[0].Value.(string)
		switch u {
		case "second", "minute", "hour", "day":
		default:
			return g.errf(diag.UnsupportedFunction, e, "date_trunc needs a literal unit (second, minute, hour, day): %s", e.Text)
		}
		return "date_trunc(" + sqlStr(u) + ", " + a[1] + ")"
	case ir.FnDayOfWeek:
		if !need(1) {
			return "NULL"
		}
		return "CAST((weekday(" + a[0] + ") + 1) AS bigint)" // weekday: 0 = Monday
	}
	return g.errf(diag.UnsupportedFunction, e, "%s() has no exact Spark equivalent: %s", e.Fn, e.Text)
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func (g *exprGen) aggregate(e *ir.Expr) string {
	if g.mode == scalarMode {
		return g.errf(diag.InternalError, e, "aggregate %s() outside an aggregation", e.Fn)
	}
	a := make([]string, len(e.Args))
	for i, x := range e.Args {
		a[i] = g.gen(x)
	}
	arg := func() string {
		if len(a) == 0 {
			g.errf(diag.InternalError, e, "%s needs an argument", e.Fn)
			return "NULL"
		}
		return a[0]
	}
	t0 := argType(e, 0)
	// double is the argument as a double (avg and the deviations are
	// computed in floating point).
	double := func() string {
		if t0.Kind == rtype.Float64 {
			return arg()
		}
		return "CAST(" + arg() + " AS double)"
	}
	over := func(s string) string {
		if g.mode == overMode {
			return s + " OVER " + g.over
		}
		return s
	}
	var s string
	switch e.Fn {
	case ir.FnCount:
		if len(a) == 0 {
			s = over("count(1)")
		} else {
			s = over("count(" + a[0] + ")")
		}
	case ir.FnCountDistinct:
		s = over("count(DISTINCT " + arg() + ")")
	case ir.FnSum:
		s = cast(over("sum("+arg()+")"), e.Type)
	case ir.FnAvg:
		if t0.Kind == rtype.Decimal {
			// Spark's decimal avg keeps scale s+4; the IR's is
			// max(s, 6): divide the exact sum by the count instead.
			s = cast("("+over("sum("+arg()+")")+" / "+over("count("+arg()+")")+")", e.Type)
		} else {
			s = over("avg(" + double() + ")")
		}
	case ir.FnMin:
		s = over("min(" + arg() + ")")
	case ir.FnMax:
		s = over("max(" + arg() + ")")
	case ir.FnStddev, ir.FnStddevPop, ir.FnVariance, ir.FnVarPop:
		fn := map[ir.Fn]string{ir.FnStddev: "stddev_samp", ir.FnStddevPop: "stddev_pop", ir.FnVariance: "var_samp", ir.FnVarPop: "var_pop"}[e.Fn]
		s = over(fn + "(" + double() + ")")
	case ir.FnFirst, ir.FnLast:
		if len(a) > 1 {
			return g.errf(diag.UnsupportedFunction, e, "%s() with an offset is a pattern function: %s", e.Fn, e.Text)
		}
		if g.mode == overMode {
			// Rows of the window are ordered by event time; skip nulls.
			fn := "first"
			if e.Fn == ir.FnLast {
				fn = "last"
			}
			s = over(fn + "(" + arg() + ", TRUE)")
			break
		}
		if g.timeCol == "" {
			return g.errf(diag.UnsupportedFunction, e, "%s() is by event time, but the input has none: %s", e.Fn, e.Text)
		}
		// By event time: the value at the least / greatest timestamp.
		fn := "min_by"
		if e.Fn == ir.FnLast {
			fn = "max_by"
		}
		x := arg()
		s = fn + "(" + x + ", CASE WHEN " + x + " IS NOT NULL THEN " + sqlCol("", g.timeCol) + " END)"
	case ir.FnTop, ir.FnBottom:
		if len(e.Args) < 2 || e.Args[1].Kind != ir.Lit {
			return g.errf(diag.UnsupportedFunction, e, "%s() needs a literal count: %s", e.Fn, e.Text)
		}
		n, _ := e.Args[1].Value.(int64)
		asc := "FALSE"
		if e.Fn == ir.FnBottom {
			asc = "TRUE"
		}
		s = fmt.Sprintf("slice(sort_array(%s, %s), 1, %d)", over("collect_list("+a[0]+")"), asc, n)
	case ir.FnCollect:
		if g.timeCol == "" {
			return g.errf(diag.UnsupportedFunction, e, "collect() is in event-time order, but the input has no event time: %s", e.Text)
		}
		x := arg()
		// Pairs (t, v) sort by event time; the lambda keeps the values.
		s = "transform(array_sort(" + over("collect_list(CASE WHEN "+x+" IS NOT NULL THEN named_struct('t', "+sqlCol("", g.timeCol)+", 'v', "+x+") END)") + "), e -> e.v)"
	default:
		return g.errf(diag.UnsupportedFunction, e, "%s() has no exact Spark aggregate: %s", e.Fn, e.Text)
	}
	return s
}
