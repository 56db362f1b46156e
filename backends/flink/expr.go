package flink

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// sqlType maps a column type to Flink SQL. Nullability is not written: Flink
// does not enforce NOT NULL on sources, and the IR's nullability is carried
// by the values.
func sqlType(t *rtype.Type) (string, error) {
	if t == nil {
		return "", fmt.Errorf("missing type")
	}
	switch t.Kind {
	case rtype.String:
		return "STRING", nil
	case rtype.Bool:
		return "BOOLEAN", nil
	case rtype.Int32:
		return "INT", nil
	case rtype.Int64:
		return "BIGINT", nil
	case rtype.Float32:
		return "FLOAT", nil
	case rtype.Float64:
		return "DOUBLE", nil
	case rtype.Decimal:
		return fmt.Sprintf("DECIMAL(%d, %d)", t.Precision, t.Scale), nil
	case rtype.Timestamp:
		return fmt.Sprintf("TIMESTAMP(%d)", t.Precision), nil
	case rtype.Date:
		return "DATE", nil
	case rtype.Bytes:
		return "BYTES", nil
	case rtype.List:
		e, err := sqlType(t.Elem)
		return "ARRAY<" + e + ">", err
	case rtype.Map:
		e, err := sqlType(t.Elem)
		return "MAP<STRING, " + e + ">", err
	case rtype.Record:
		var parts []string
		for _, f := range t.Fields {
			ft, err := sqlType(f.Type)
			if err != nil {
				return "", err
			}
			parts = append(parts, ident(f.Name)+" "+ft)
		}
		return "ROW<" + strings.Join(parts, ", ") + ">", nil
	case rtype.Duration:
		return "INTERVAL DAY(9) TO SECOND(3)", nil
	}
	return "", fmt.Errorf("type %s has no Flink SQL equivalent", t)
}

// exprMode says where an expression appears, which decides what aggregate
// calls mean.
type exprMode int

const (
	scalarMode  exprMode = iota // no aggregates
	groupMode                   // GROUP BY aggregates (window or not)
	overMode                    // OVER aggregates: each call gets " OVER w"
	patternMode                 // MATCH_RECOGNIZE DEFINE / MEASURES
)

// exprGen translates ir.Expr trees to Flink SQL.
type exprGen struct {
	mode exprMode
	// over is the window clause appended to aggregate calls in overMode.
	over string
	// ref renders a field reference; nil means the bare quoted path.
	ref   func(e *ir.Expr) string
	diags diag.Diagnostics
	// what names the construct for messages ("filter", "aggregate").
	what string
}

func (g *exprGen) errf(code diag.Code, e *ir.Expr, summary, format string, args ...any) string {
	g.diags = g.diags.Append(diag.Errorf(code, e.Pos, summary, format, args...))
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
		if g.ref != nil {
			return g.ref(e)
		}
		if e.Var != "" {
			return path(append([]string{e.Var}, e.Path...)...)
		}
		return path(e.Path...)
	case ir.ListExpr:
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, g.gen(a))
		}
		return "ARRAY[" + strings.Join(parts, ", ") + "]"
	case ir.Call:
		return g.call(e)
	}
	return g.errf(diag.InternalError, e, "Unknown expression kind", "expression kind %d is not known to the flink backend", e.Kind)
}

func (g *exprGen) literal(e *ir.Expr) string {
	switch v := e.Value.(type) {
	case nil:
		if t, err := sqlType(e.Type); err == nil && e.Type.Kind != rtype.Invalid {
			return "CAST(NULL AS " + t + ")"
		}
		return "NULL"
	case bool:
		if v {
			return "TRUE"
		}
		return "FALSE"
	case int64:
		s := strconv.FormatInt(v, 10)
		if e.Type != nil && e.Type.Kind == rtype.Int64 && (v > math.MaxInt32 || v < math.MinInt32) {
			return s
		}
		if v < 0 {
			return "(" + s + ")"
		}
		return s
	case int:
		return strconv.Itoa(v)
	case float64:
		switch {
		case math.IsNaN(v):
			return "CAST('NaN' AS DOUBLE)"
		case math.IsInf(v, 1):
			return "CAST('Infinity' AS DOUBLE)"
		case math.IsInf(v, -1):
			return "CAST('-Infinity' AS DOUBLE)"
		}
		// An exponent makes Calcite read a DOUBLE, not a DECIMAL.
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
		if strings.ContainsAny(s, "eE") {
			if t, err := sqlType(e.Type); err == nil {
				return "CAST(" + lit(s) + " AS " + t + ")"
			}
		}
		return s
	case string:
		return lit(v)
	case []byte:
		return fmt.Sprintf("X'%X'", v)
	case time.Duration:
		return interval(v)
	}
	return g.errf(diag.UnsupportedType, e, "Unsupported literal", "the literal %s (%T) has no Flink SQL form", e.Text, e.Value)
}

var binops = map[ir.Fn]string{
	ir.FnMul: "*", ir.FnEq: "=", ir.FnNe: "<>", ir.FnLt: "<", ir.FnLe: "<=", ir.FnGt: ">", ir.FnGe: ">=",
	ir.FnAnd: "AND", ir.FnOr: "OR",
}

var simpleFns = map[ir.Fn]string{
	ir.FnCoalesce: "COALESCE", ir.FnLower: "LOWER", ir.FnUpper: "UPPER", ir.FnReplace: "REPLACE",
	ir.FnConcat: "CONCAT", ir.FnAbs: "ABS", ir.FnSqrt: "SQRT", ir.FnLn: "LN", ir.FnLog10: "LOG10",
	ir.FnExp: "EXP", ir.FnPow: "POWER", ir.FnFloor: "FLOOR", ir.FnCeil: "CEIL",
	ir.FnGreatest: "GREATEST", ir.FnLeast: "LEAST", ir.FnHour: "HOUR",
}

func (g *exprGen) args(e *ir.Expr) []string {
	out := make([]string, len(e.Args))
	for i, a := range e.Args {
		out[i] = g.gen(a)
	}
	return out
}

func argType(e *ir.Expr, i int) *rtype.Type {
	if i < len(e.Args) && e.Args[i].Type != nil {
		return e.Args[i].Type
	}
	return rtype.InvalidType
}

func (g *exprGen) call(e *ir.Expr) string {
	if e.Fn.IsAggregate() {
		return g.aggregate(e)
	}
	a := g.args(e)
	need := func(n int) bool {
		if len(a) < n {
			g.errf(diag.InternalError, e, "Malformed call", "%s needs %d arguments, has %d", e.Fn, n, len(a))
			return false
		}
		return true
	}
	if op, ok := binops[e.Fn]; ok {
		if !need(2) {
			return "NULL"
		}
		return "(" + a[0] + " " + op + " " + a[1] + ")"
	}
	if fn, ok := simpleFns[e.Fn]; ok {
		return fn + "(" + strings.Join(a, ", ") + ")"
	}
	switch e.Fn {
	case ir.FnAdd:
		if !need(2) {
			return "NULL"
		}
		if e.Type != nil && e.Type.Kind == rtype.String {
			return "(" + a[0] + " || " + a[1] + ")"
		}
		return "(" + a[0] + " + " + a[1] + ")"
	case ir.FnSub:
		if !need(2) {
			return "NULL"
		}
		if argType(e, 0).Kind == rtype.Timestamp && argType(e, 1).Kind == rtype.Timestamp {
			return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink",
				"Subtracting two timestamps (%s) yields a duration, which Flink SQL cannot compute exactly; compare the timestamps or use epoch values instead.", e.Text)
		}
		return "(" + a[0] + " - " + a[1] + ")"
	case ir.FnDiv, ir.FnMod:
		if !need(2) {
			return "NULL"
		}
		// Division by zero yields null (IR semantics); Flink would fail.
		var s string
		if e.Fn == ir.FnDiv {
			s = "(" + a[0] + " / NULLIF(" + a[1] + ", 0))"
		} else {
			s = "MOD(" + a[0] + ", NULLIF(" + a[1] + ", 0))"
		}
		if e.Type != nil && e.Type.Kind == rtype.Decimal {
			// Flink's decimal division picks its own scale; the IR's type
			// is the contract.
			t, _ := sqlType(e.Type)
			s = "CAST(" + s + " AS " + t + ")"
		}
		return s
	case ir.FnNeg:
		if !need(1) {
			return "NULL"
		}
		return "(-" + a[0] + ")"
	case ir.FnNot:
		if !need(1) {
			return "NULL"
		}
		return "(NOT " + a[0] + ")"
	case ir.FnCond:
		if !need(3) {
			return "NULL"
		}
		return "(CASE WHEN " + a[0] + " THEN " + a[1] + " ELSE " + a[2] + " END)"
	case ir.FnIn:
		if !need(2) {
			return "NULL"
		}
		l := e.Args[1]
		if l.Kind != ir.ListExpr {
			return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink", "\"in\" needs a list literal on Flink: %s", e.Text)
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
			// SQL arrays are 1-based.
			return a[0] + "[" + a[1] + " + 1]"
		}
		return a[0] + "[" + a[1] + "]"
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
			return "CHAR_LENGTH(" + a[0] + ")"
		case rtype.List, rtype.Map:
			return "CAST(CARDINALITY(" + a[0] + ") AS BIGINT)"
		}
		return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink", "size() of %s has no exact Flink SQL equivalent: %s", argType(e, 0), e.Text)
	case ir.FnContains:
		if !need(2) {
			return "NULL"
		}
		return "(POSITION(" + a[1] + " IN " + a[0] + ") > 0)"
	case ir.FnStartsWith:
		if !need(2) {
			return "NULL"
		}
		return "(LEFT(" + a[0] + ", CHAR_LENGTH(" + a[1] + ")) = " + a[1] + ")"
	case ir.FnEndsWith:
		if !need(2) {
			return "NULL"
		}
		return "(RIGHT(" + a[0] + ", CHAR_LENGTH(" + a[1] + ")) = " + a[1] + ")"
	case ir.FnMatches:
		if !need(2) {
			return "NULL"
		}
		re := e.Args[1]
		s, ok := re.Value.(string)
		if re.Kind != ir.Lit || !ok || strings.Contains(s, "(?P") || strings.Contains(s, `\C`) || strings.Contains(s, `\z`) {
			return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink",
				"matches() on Flink needs a literal RE2 pattern that Java's regex engine reads the same way (no (?P<name>), \\C or \\z): %s", e.Text)
		}
		return "REGEXP(" + a[0] + ", " + a[1] + ")"
	case ir.FnTrim:
		if !need(1) {
			return "NULL"
		}
		return "REGEXP_REPLACE(" + a[0] + ", " + lit(`(?U)^\s+|\s+$`) + ", '')"
	case ir.FnSubstring:
		if !need(2) {
			return "NULL"
		}
		if len(a) == 2 {
			return "SUBSTRING(" + a[0] + " FROM " + a[1] + " + 1)"
		}
		return "SUBSTRING(" + a[0] + " FROM " + a[1] + " + 1 FOR " + a[2] + " - " + a[1] + ")"
	case ir.FnRound:
		if !need(1) {
			return "NULL"
		}
		if len(a) == 1 {
			return "ROUND(" + a[0] + ", 0)"
		}
		return "ROUND(" + a[0] + ", " + a[1] + ")"
	case ir.FnToInt, ir.FnToDouble, ir.FnToDecimal:
		if !need(1) {
			return "NULL"
		}
		t, err := sqlType(e.Type)
		if err != nil {
			return g.errf(diag.UnsupportedType, e, "Unsupported type on Flink", "%v", err)
		}
		if src := argType(e, 0); src.Kind == rtype.String || src.Kind == rtype.Timestamp {
			return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink",
				"Converting %s to %s has no exact Flink SQL equivalent (parsing and rounding rules differ): %s", src, e.Type, e.Text)
		}
		return "CAST(" + a[0] + " AS " + t + ")"
	case ir.FnToString:
		if !need(1) {
			return "NULL"
		}
		switch argType(e, 0).Kind {
		case rtype.String, rtype.Int32, rtype.Int64, rtype.Decimal:
			return "CAST(" + a[0] + " AS STRING)"
		}
		return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink",
			"string() of %s formats differently in Flink SQL than in CEL: %s", argType(e, 0), e.Text)
	case ir.FnToTimestamp:
		if !need(1) {
			return "NULL"
		}
		if argType(e, 0).IsInteger() {
			// The script sets table.local-time-zone to UTC, so the LTZ
			// value converts to the same wall-clock instant.
			return fmt.Sprintf("CAST(TO_TIMESTAMP_LTZ(%s, 3) AS TIMESTAMP(3))", a[0])
		}
		return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink",
			"timestamp() from %s has no exact Flink SQL equivalent (RFC 3339 parsing); use epoch milliseconds: %s", argType(e, 0), e.Text)
	case ir.FnDateTrunc:
		if !need(2) {
			return "NULL"
		}
		u, _ := e.Args[0].Value.(string)
		unit := map[string]string{"second": "SECOND", "minute": "MINUTE", "hour": "HOUR", "day": "DAY"}[u]
		if e.Args[0].Kind != ir.Lit || unit == "" {
			return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink", "date_trunc needs a literal unit (second, minute, hour, day): %s", e.Text)
		}
		return "FLOOR(" + a[1] + " TO " + unit + ")"
	case ir.FnDayOfWeek:
		if !need(1) {
			return "NULL"
		}
		// DAYOFWEEK is 1 = Sunday … 7 = Saturday; ISO is 1 = Monday … 7 = Sunday.
		return "(MOD(DAYOFWEEK(" + a[0] + ") + 5, 7) + 1)"
	}
	return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink",
		"%s() has no exact Flink SQL equivalent: %s", e.Fn, e.Text)
}

func (g *exprGen) aggregate(e *ir.Expr) string {
	if g.mode == scalarMode {
		return g.errf(diag.InternalError, e, "Aggregate outside an aggregation", "%s() is not allowed here: %s", e.Fn, e.Text)
	}
	a := g.args(e)
	arg := func() string {
		if len(a) == 0 {
			g.errf(diag.InternalError, e, "Malformed call", "%s needs an argument", e.Fn)
			return "NULL"
		}
		return a[0]
	}
	t0 := argType(e, 0)
	var s string
	switch e.Fn {
	case ir.FnCount:
		if len(a) == 0 {
			s = "COUNT(*)"
		} else {
			s = "COUNT(" + a[0] + ")"
		}
	case ir.FnCountDistinct:
		if g.mode == patternMode {
			return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink", "MATCH_RECOGNIZE does not support DISTINCT aggregations: %s", e.Text)
		}
		s = "COUNT(DISTINCT " + arg() + ")"
	case ir.FnSum:
		x := arg()
		switch {
		case t0.Kind == rtype.Int32:
			x = "CAST(" + x + " AS BIGINT)" // sum of ints is int64
		case t0.Kind == rtype.Float32:
			x = "CAST(" + x + " AS DOUBLE)"
		}
		s = "SUM(" + x + ")"
	case ir.FnAvg:
		x := arg()
		if t0.IsInteger() || t0.IsFloat() {
			x = "CAST(" + x + " AS DOUBLE)" // Flink's AVG of ints is an int
		}
		s = "AVG(" + x + ")"
	case ir.FnMin:
		s = "MIN(" + arg() + ")"
	case ir.FnMax:
		s = "MAX(" + arg() + ")"
	case ir.FnStddev, ir.FnStddevPop, ir.FnVariance, ir.FnVarPop:
		fn := map[ir.Fn]string{ir.FnStddev: "STDDEV_SAMP", ir.FnStddevPop: "STDDEV_POP", ir.FnVariance: "VAR_SAMP", ir.FnVarPop: "VAR_POP"}[e.Fn]
		s = fn + "(CAST(" + arg() + " AS DOUBLE))"
	case ir.FnFirst, ir.FnLast:
		switch g.mode {
		case patternMode:
			fn := "FIRST"
			if e.Fn == ir.FnLast {
				fn = "LAST"
			}
			if len(a) > 1 {
				return fn + "(" + a[0] + ", " + a[1] + ")"
			}
			return fn + "(" + arg() + ")"
		case overMode:
			// OVER on an event-time attribute processes rows in time order,
			// so FIRST_VALUE/LAST_VALUE are by event time.
			fn := "FIRST_VALUE"
			if e.Fn == ir.FnLast {
				fn = "LAST_VALUE"
			}
			s = fn + "(" + arg() + ")"
		default:
			return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink",
				"%s() is by event time, but Flink's FIRST_VALUE/LAST_VALUE in a grouped or windowed aggregation take rows in arrival order, which differs when records arrive out of order: %s. Use min/max, a #Rolling, or another engine.", e.Fn, e.Text)
		}
	default:
		return g.errf(diag.UnsupportedFunction, e, "Unsupported function on Flink", "%s() has no exact Flink SQL aggregate: %s", e.Fn, e.Text)
	}
	if g.mode == overMode {
		s += " OVER " + g.over
	}
	return s
}
