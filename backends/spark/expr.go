package spark

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

type exprMode int

const (
	scalarMode exprMode = iota
	groupMode           // groupBy().agg()
	overMode            // aggregate over a Window spec
)

// exprGen translates ir.Expr trees to PySpark Column expressions.
type exprGen struct {
	mode exprMode
	// over is the Python name of the WindowSpec in overMode.
	over string
	// timeCol is the event-time column for first/last by event time.
	timeCol string
	// qual maps an input port to a DataFrame alias ("" = unqualified).
	qual  func(input int) string
	diags diag.Diagnostics
}

func (g *exprGen) errf(code diag.Code, e *ir.Expr, format string, args ...any) string {
	g.diags = g.diags.Append(diag.Errorf(code, e.Pos, "Unsupported on Spark", format, args...))
	return "F.lit(None)"
}

func (g *exprGen) gen(e *ir.Expr) string {
	if e == nil {
		return "F.lit(None)"
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
		return colExpr(q, e.Path...)
	case ir.ListExpr:
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, g.gen(a))
		}
		return "F.array(" + strings.Join(parts, ", ") + ")"
	case ir.Call:
		return g.call(e)
	}
	return g.errf(diag.InternalError, e, "unknown expression kind %d", e.Kind)
}

func (g *exprGen) literal(e *ir.Expr) string {
	switch v := e.Value.(type) {
	case nil:
		if e.Type != nil && castName(e.Type) != "" {
			return "F.lit(None).cast(" + pyStr(castName(e.Type)) + ")"
		}
		return "F.lit(None)"
	case bool:
		return "F.lit(" + pyBool(v) + ")"
	case int64:
		s := "F.lit(" + strconv.FormatInt(v, 10) + ")"
		if e.Type != nil && e.Type.Kind == rtype.Int64 {
			s += ".cast(\"bigint\")"
		}
		return s
	case float64:
		switch {
		case math.IsNaN(v):
			return "F.lit(float(\"nan\"))"
		case math.IsInf(v, 1):
			return "F.lit(float(\"inf\"))"
		case math.IsInf(v, -1):
			return "F.lit(float(\"-inf\"))"
		}
		return "F.lit(" + strconv.FormatFloat(v, 'g', -1, 64) + "e0)"
	case ir.Decimal:
		s := "F.lit(decimal.Decimal(" + pyStr(string(v)) + "))"
		if e.Type != nil && e.Type.Kind == rtype.Decimal {
			s += ".cast(" + pyStr(castName(e.Type)) + ")"
		}
		return s
	case string:
		return "F.lit(" + pyStr(v) + ")"
	case []byte:
		return "F.lit(bytearray(bytes.fromhex(" + pyStr(fmt.Sprintf("%x", v)) + ")))"
	case time.Duration:
		return interval(v)
	}
	return g.errf(diag.UnsupportedType, e, "the literal %s has no PySpark form", e.Text)
}

func argType(e *ir.Expr, i int) *rtype.Type {
	if i < len(e.Args) && e.Args[i].Type != nil {
		return e.Args[i].Type
	}
	return rtype.InvalidType
}

var pyBinops = map[ir.Fn]string{
	ir.FnMul: "*", ir.FnEq: "==", ir.FnNe: "!=", ir.FnLt: "<", ir.FnLe: "<=", ir.FnGt: ">", ir.FnGe: ">=",
	ir.FnAnd: "&", ir.FnOr: "|",
}

var pyFns = map[ir.Fn]string{
	ir.FnCoalesce: "F.coalesce", ir.FnLower: "F.lower", ir.FnUpper: "F.upper", ir.FnConcat: "F.concat",
	ir.FnAbs: "F.abs", ir.FnSqrt: "F.sqrt", ir.FnLn: "F.ln", ir.FnLog10: "F.log10", ir.FnExp: "F.exp",
	ir.FnPow: "F.pow", ir.FnHour: "F.hour", ir.FnReplace: "F.replace", ir.FnEpochMillis: "F.unix_millis",
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
	if op, ok := pyBinops[e.Fn]; ok {
		if !need(2) {
			return "F.lit(None)"
		}
		return "(" + a[0] + " " + op + " " + a[1] + ")"
	}
	if fn, ok := pyFns[e.Fn]; ok {
		return fn + "(" + strings.Join(a, ", ") + ")"
	}
	switch e.Fn {
	case ir.FnAdd:
		if !need(2) {
			return "F.lit(None)"
		}
		if e.Type != nil && e.Type.Kind == rtype.String {
			return "F.concat(" + a[0] + ", " + a[1] + ")"
		}
		return "(" + a[0] + " + " + a[1] + ")"
	case ir.FnSub:
		if !need(2) {
			return "F.lit(None)"
		}
		if argType(e, 0).Kind == rtype.Timestamp && argType(e, 1).Kind == rtype.Timestamp {
			return g.errf(diag.UnsupportedFunction, e, "subtracting two timestamps yields a duration, which has no exact Spark column form here: %s", e.Text)
		}
		return "(" + a[0] + " - " + a[1] + ")"
	case ir.FnDiv:
		if !need(2) {
			return "F.lit(None)"
		}
		den := "F.nullif(" + a[1] + ", F.lit(0))" // division by zero yields null
		if e.Type != nil && e.Type.IsInteger() {
			return "F.call_function(\"div\", " + a[0] + ", " + den + ").cast(" + pyStr(castName(e.Type)) + ")"
		}
		s := "(" + a[0] + " / " + den + ")"
		if e.Type != nil && castName(e.Type) != "" {
			s += ".cast(" + pyStr(castName(e.Type)) + ")"
		}
		return s
	case ir.FnMod:
		if !need(2) {
			return "F.lit(None)"
		}
		return "(" + a[0] + " % F.nullif(" + a[1] + ", F.lit(0)))"
	case ir.FnNeg:
		if !need(1) {
			return "F.lit(None)"
		}
		return "(-" + a[0] + ")"
	case ir.FnNot:
		if !need(1) {
			return "F.lit(None)"
		}
		return "(~" + a[0] + ")"
	case ir.FnCond:
		if !need(3) {
			return "F.lit(None)"
		}
		return "F.when(" + a[0] + ", " + a[1] + ").otherwise(" + a[2] + ")"
	case ir.FnIn:
		if !need(2) {
			return "F.lit(None)"
		}
		l := e.Args[1]
		if l.Kind != ir.ListExpr {
			return g.errf(diag.UnsupportedFunction, e, "\"in\" needs a list literal on Spark: %s", e.Text)
		}
		var items []string
		for _, x := range l.Args {
			items = append(items, g.gen(x))
		}
		return a[0] + ".isin([" + strings.Join(items, ", ") + "])"
	case ir.FnIndex:
		if !need(2) {
			return "F.lit(None)"
		}
		if argType(e, 0).Kind == rtype.List {
			return "F.try_element_at(" + a[0] + ", " + a[1] + " + F.lit(1))"
		}
		return "F.try_element_at(" + a[0] + ", " + a[1] + ")"
	case ir.FnHas:
		if !need(1) {
			return "F.lit(None)"
		}
		return a[0] + ".isNotNull()"
	case ir.FnIsNull:
		if !need(1) {
			return "F.lit(None)"
		}
		return a[0] + ".isNull()"
	case ir.FnSize:
		if !need(1) {
			return "F.lit(None)"
		}
		switch argType(e, 0).Kind {
		case rtype.String:
			return "F.char_length(" + a[0] + ").cast(\"bigint\")"
		case rtype.Bytes:
			return "F.octet_length(" + a[0] + ").cast(\"bigint\")"
		case rtype.List, rtype.Map:
			return "F.size(" + a[0] + ").cast(\"bigint\")"
		}
		return g.errf(diag.UnsupportedFunction, e, "size() of %s: %s", argType(e, 0), e.Text)
	case ir.FnContains:
		if !need(2) {
			return "F.lit(None)"
		}
		return a[0] + ".contains(" + a[1] + ")"
	case ir.FnStartsWith:
		if !need(2) {
			return "F.lit(None)"
		}
		return a[0] + ".startswith(" + a[1] + ")"
	case ir.FnEndsWith:
		if !need(2) {
			return "F.lit(None)"
		}
		return a[0] + ".endswith(" + a[1] + ")"
	case ir.FnMatches:
		if !need(2) {
			return "F.lit(None)"
		}
		s, ok := e.Args[1].Value.(string)
		if e.Args[1].Kind != ir.Lit || !ok || strings.Contains(s, "(?P") || strings.Contains(s, `\C`) || strings.Contains(s, `\z`) {
			return g.errf(diag.UnsupportedFunction, e, "matches() on Spark needs a literal RE2 pattern that Java's regex engine reads the same way (no (?P<name>), \\C or \\z): %s", e.Text)
		}
		return a[0] + ".rlike(" + pyStr(s) + ")"
	case ir.FnTrim:
		if !need(1) {
			return "F.lit(None)"
		}
		return "F.regexp_replace(" + a[0] + ", " + pyStr(`(?U)^\s+|\s+$`) + ", \"\")"
	case ir.FnSubstring:
		if !need(2) {
			return "F.lit(None)"
		}
		if len(a) == 2 {
			return "F.substr(" + a[0] + ", " + a[1] + " + F.lit(1))"
		}
		return "F.substr(" + a[0] + ", " + a[1] + " + F.lit(1), " + a[2] + " - " + a[1] + ")"
	case ir.FnRound:
		if !need(1) {
			return "F.lit(None)"
		}
		if len(e.Args) > 1 {
			d, ok := e.Args[1].Value.(int64)
			if e.Args[1].Kind != ir.Lit || !ok {
				return g.errf(diag.UnsupportedFunction, e, "round() on Spark needs literal digits: %s", e.Text)
			}
			return "F.round(" + a[0] + ", " + strconv.FormatInt(d, 10) + ")"
		}
		return "F.round(" + a[0] + ", 0)"
	case ir.FnFloor, ir.FnCeil:
		if !need(1) {
			return "F.lit(None)"
		}
		fn := "F.floor"
		if e.Fn == ir.FnCeil {
			fn = "F.ceil"
		}
		s := fn + "(" + a[0] + ")"
		if e.Type != nil && castName(e.Type) != "" {
			s += ".cast(" + pyStr(castName(e.Type)) + ")"
		}
		return s
	case ir.FnGreatest, ir.FnLeast:
		// Spark's greatest/least skip nulls; the IR's are null when any
		// argument is.
		fn := "F.greatest"
		if e.Fn == ir.FnLeast {
			fn = "F.least"
		}
		var nulls []string
		for _, x := range a {
			nulls = append(nulls, x+".isNull()")
		}
		return "F.when(" + strings.Join(nulls, " | ") + ", F.lit(None)).otherwise(" + fn + "(" + strings.Join(a, ", ") + "))"
	case ir.FnToInt, ir.FnToDouble, ir.FnToDecimal:
		if !need(1) {
			return "F.lit(None)"
		}
		if src := argType(e, 0); src.Kind == rtype.String || src.Kind == rtype.Timestamp {
			return g.errf(diag.UnsupportedFunction, e, "converting %s to %s has no exact Spark equivalent: %s", src, e.Type, e.Text)
		}
		return a[0] + ".cast(" + pyStr(castName(e.Type)) + ")"
	case ir.FnToString:
		if !need(1) {
			return "F.lit(None)"
		}
		switch argType(e, 0).Kind {
		case rtype.String, rtype.Int32, rtype.Int64, rtype.Decimal, rtype.Bool:
			return a[0] + ".cast(\"string\")"
		}
		return g.errf(diag.UnsupportedFunction, e, "string() of %s formats differently in Spark than in CEL: %s", argType(e, 0), e.Text)
	case ir.FnToTimestamp:
		if !need(1) {
			return "F.lit(None)"
		}
		if argType(e, 0).IsInteger() {
			return "F.timestamp_millis(" + a[0] + ")"
		}
		return g.errf(diag.UnsupportedFunction, e, "timestamp() from %s has no exact Spark equivalent; use epoch milliseconds: %s", argType(e, 0), e.Text)
	case ir.FnDateTrunc:
		if !need(2) {
			return "F.lit(None)"
		}
		u, _ := e.Args[0].Value.(string)
		switch u {
		case "second", "minute", "hour", "day":
		default:
			return g.errf(diag.UnsupportedFunction, e, "date_trunc needs a literal unit (second, minute, hour, day): %s", e.Text)
		}
		return "F.date_trunc(" + pyStr(u) + ", " + a[1] + ")"
	case ir.FnDayOfWeek:
		if !need(1) {
			return "F.lit(None)"
		}
		return "(F.weekday(" + a[0] + ") + F.lit(1)).cast(\"bigint\")" // weekday: 0 = Monday
	}
	return g.errf(diag.UnsupportedFunction, e, "%s() has no exact Spark equivalent: %s", e.Fn, e.Text)
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
			return "F.lit(None)"
		}
		return a[0]
	}
	t0 := argType(e, 0)
	over := func(s string) string {
		if g.mode == overMode {
			return s + ".over(" + g.over + ")"
		}
		return s
	}
	cast := func(s string) string {
		if e.Type != nil && castName(e.Type) != "" {
			return s + ".cast(" + pyStr(castName(e.Type)) + ")"
		}
		return s
	}
	var s string
	switch e.Fn {
	case ir.FnCount:
		if len(a) == 0 {
			s = "F.count(F.lit(1))"
		} else {
			s = "F.count(" + a[0] + ")"
		}
	case ir.FnCountDistinct:
		s = "F.count_distinct(" + arg() + ")"
	case ir.FnSum:
		s = cast(over("F.sum(" + arg() + ")"))
	case ir.FnAvg:
		if t0.Kind == rtype.Decimal {
			// Spark's decimal avg keeps scale s+4; the IR's is
			// max(s, 6): divide the exact sum by the count instead.
			s = cast("(" + over("F.sum("+arg()+")") + " / " + over("F.count("+arg()+")") + ")")
		} else {
			s = "F.avg(" + arg() + ".cast(\"double\"))"
		}
	case ir.FnMin:
		s = "F.min(" + arg() + ")"
	case ir.FnMax:
		s = "F.max(" + arg() + ")"
	case ir.FnStddev, ir.FnStddevPop, ir.FnVariance, ir.FnVarPop:
		fn := map[ir.Fn]string{ir.FnStddev: "F.stddev_samp", ir.FnStddevPop: "F.stddev_pop", ir.FnVariance: "F.var_samp", ir.FnVarPop: "F.var_pop"}[e.Fn]
		s = fn + "(" + arg() + ".cast(\"double\"))"
	case ir.FnFirst, ir.FnLast:
		if len(a) > 1 {
			return g.errf(diag.UnsupportedFunction, e, "%s() with an offset is a pattern function: %s", e.Fn, e.Text)
		}
		if g.mode == overMode {
			// Rows of the window are ordered by event time.
			fn := "F.first"
			if e.Fn == ir.FnLast {
				fn = "F.last"
			}
			s = fn + "(" + arg() + ", ignorenulls=True)"
			break
		}
		if g.timeCol == "" {
			return g.errf(diag.UnsupportedFunction, e, "%s() is by event time, but the input has none: %s", e.Fn, e.Text)
		}
		// By event time: the value at the least / greatest timestamp.
		fn := "F.min_by"
		if e.Fn == ir.FnLast {
			fn = "F.max_by"
		}
		x := arg()
		s = fn + "(" + x + ", F.when(" + x + ".isNotNull(), " + colExpr("", g.timeCol) + "))"
	case ir.FnTop, ir.FnBottom:
		if len(e.Args) < 2 || e.Args[1].Kind != ir.Lit {
			return g.errf(diag.UnsupportedFunction, e, "%s() needs a literal count: %s", e.Fn, e.Text)
		}
		n, _ := e.Args[1].Value.(int64)
		asc := pyBool(e.Fn == ir.FnBottom)
		s = fmt.Sprintf("F.slice(F.sort_array(F.collect_list(%s), asc=%s), 1, %d)", a[0], asc, n)
	case ir.FnCollect:
		if g.timeCol == "" {
			return g.errf(diag.UnsupportedFunction, e, "collect() is in event-time order, but the input has no event time: %s", e.Text)
		}
		x := arg()
		s = "F.transform(F.array_sort(F.collect_list(F.when(" + x + ".isNotNull(), F.struct(" + colExpr("", g.timeCol) + ".alias(\"t\"), " + x + ".alias(\"v\"))))), lambda e: e[\"v\"])"
	default:
		return g.errf(diag.UnsupportedFunction, e, "%s() has no exact Spark aggregate: %s", e.Fn, e.Text)
	}
	if g.mode == overMode && e.Fn != ir.FnSum && !(e.Fn == ir.FnAvg && t0.Kind == rtype.Decimal) {
		s += ".over(" + g.over + ")"
	}
	return s
}
