package expr

import (
	"fmt"
	"strings"
	"time"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"

	"rtsap.dev/rtsapc/compiler/duration"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

var binOps = map[string]ir.Fn{
	operators.Add: ir.FnAdd, operators.Subtract: ir.FnSub, operators.Multiply: ir.FnMul,
	operators.Divide: ir.FnDiv, operators.Modulo: ir.FnMod,
}

var cmpOps = map[string]ir.Fn{
	operators.Equals: ir.FnEq, operators.NotEquals: ir.FnNe, operators.Less: ir.FnLt,
	operators.LessEquals: ir.FnLe, operators.Greater: ir.FnGt, operators.GreaterEquals: ir.FnGe,
}

// scalarFns maps CEL global function names to the vocabulary.
var scalarFns = map[string]ir.Fn{
	"ln": ir.FnLn, "log10": ir.FnLog10, "exp": ir.FnExp, "sqrt": ir.FnSqrt, "pow": ir.FnPow,
	"abs": ir.FnAbs, "round": ir.FnRound, "floor": ir.FnFloor, "ceil": ir.FnCeil,
	"greatest": ir.FnGreatest, "least": ir.FnLeast, "coalesce": ir.FnCoalesce,
	"lower": ir.FnLower, "upper": ir.FnUpper, "trim": ir.FnTrim, "replace": ir.FnReplace,
	"substring": ir.FnSubstring, "concat": ir.FnConcat, "epoch_millis": ir.FnEpochMillis,
	"date_trunc": ir.FnDateTrunc, "hour": ir.FnHour, "day_of_week": ir.FnDayOfWeek,
	"decimal": ir.FnToDecimal, "int": ir.FnToInt, "double": ir.FnToDouble, "string": ir.FnToString,
	"timestamp": ir.FnToTimestamp, "duration": ir.FnDuration, "size": ir.FnSize,
	"contains": ir.FnContains, "startsWith": ir.FnStartsWith, "endsWith": ir.FnEndsWith, "matches": ir.FnMatches,
}

// celAlternatives maps CEL standard functions outside the vocabulary to
// their equivalents, for the remedy.
var celAlternatives = map[string]string{
	"getHours": "hour(ts)", "getDayOfWeek": "day_of_week(ts) (1 = Monday)", "getMinutes": `date_trunc("minute", ts)`,
	"getFullYear": `date_trunc("day", ts)`, "lowerAscii": "lower(s)", "upperAscii": "upper(s)",
	"uint": "int(x)", "dyn": "the value itself", "bytes": "a bytes field", "type": "a typed field",
	"exists": "a #Filter or an aggregate", "all": "a #Filter or an aggregate", "math.greatest": "greatest(a, b)",
	"math.least": "least(a, b)",
}

// DateTruncUnits are the units date_trunc accepts.
var DateTruncUnits = []string{"second", "minute", "hour", "day"}

func (l *lowerer) args(x ast.Expr) ([]*ir.Expr, []bool, bool) {
	c := x.AsCall()
	var all []ast.Expr
	if c.IsMemberFunction() {
		all = append(all, c.Target())
	}
	all = append(all, c.Args()...)
	out := make([]*ir.Expr, len(all))
	nulls := make([]bool, len(all))
	ok := true
	for i, a := range all {
		e, n := l.lower(a)
		e = l.value(e, a)
		if e == nil {
			ok = false
			continue
		}
		out[i], nulls[i] = e, n
	}
	return out, nulls, ok
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}

func (l *lowerer) mk(x ast.Expr, fn ir.Fn, t *rtype.Type, args ...*ir.Expr) *ir.Expr {
	return l.node(x, &ir.Expr{Kind: ir.Call, Fn: fn, Type: t, Args: args})
}

func (l *lowerer) call(x ast.Expr) (*ir.Expr, bool) {
	c := x.AsCall()
	name := c.FunctionName()

	// row["name"] and record["name"]: a field read, not an index.
	if name == operators.Index {
		base, bnull := l.lower(c.Args()[0])
		if base == nil {
			return nil, false
		}
		if base.Type.Kind == rtype.Record {
			k := c.Args()[1]
			if k.Kind() == ast.LiteralKind {
				if s, ok := k.AsLiteral().Value().(string); ok {
					return l.field(x, base, bnull, s, k)
				}
			}
			l.errorf(diag.InvalidExpression, k, "Dynamic field name",
				"A record is indexed by a constant string, e.g. row[\"bid price\"]; %q is computed.", l.textOf(k))
			return nil, false
		}
		base = l.value(base, c.Args()[0])
		idx, _ := l.lower(c.Args()[1])
		if base == nil || l.value(idx, c.Args()[1]) == nil {
			return nil, false
		}
		var t *rtype.Type
		switch {
		case base.Type.Kind == rtype.List && idx.Type.IsInteger():
			t = base.Type.Elem
		case base.Type.Kind == rtype.Map && idx.Type.Kind == rtype.String:
			t = base.Type.Elem
		case base.Type.Kind == rtype.Invalid:
			t = rtype.InvalidType
		default:
			l.errorf(diag.InvalidExpression, x, "Bad index", "%s cannot be indexed by %s.", base.Type, idx.Type)
			return nil, false
		}
		// Out-of-range indexes and missing keys yield null.
		return l.mk(x, ir.FnIndex, t, base, idx), true
	}

	fnName := name
	if ir.Fn(fnName).IsAggregate() {
		return l.aggregate(x)
	}
	if fnName == "duration" && !c.IsMemberFunction() && len(c.Args()) == 1 && c.Args()[0].Kind() == ast.LiteralKind {
		if s, ok := c.Args()[0].AsLiteral().Value().(string); ok {
			d, err := duration.Parse(s)
			if err != nil {
				l.errorf(diag.BadDuration, c.Args()[0], "Bad duration", "%v. Write durations like \"250ms\", \"5s\", \"1m\", \"1h30m\" or \"1d\".", err)
				return nil, false
			}
			return l.node(x, &ir.Expr{Kind: ir.Lit, Value: d, Type: rtype.DurationType}), false
		}
	}
	args, nulls, ok := l.args(x)
	if !ok {
		return nil, false
	}
	null := anyTrue(nulls)

	if fn, ok := binOps[name]; ok {
		if len(args) == 2 {
			l.promoteLits(args[0], args[1])
		}
		t := Arith(fn, args[0].Type, args[1].Type)
		if t == nil {
			l.errorf(diag.InvalidExpression, x, "Mismatched types",
				"%s is not defined for %s and %s. %s", displayFn(name), args[0].Type, args[1].Type, remedy(name))
			return nil, false
		}
		// Division (and mod) by zero yields null.
		return l.mk(x, fn, t, args...), null || fn == ir.FnDiv || fn == ir.FnMod
	}
	if fn, ok := cmpOps[name]; ok {
		a, b := args[0], args[1]
		if fn == ir.FnEq || fn == ir.FnNe {
			if isNullLit(b) || isNullLit(a) {
				v := a
				if isNullLit(a) {
					v = b
				}
				e := l.mk(x, ir.FnIsNull, rtype.BoolType, v)
				if fn == ir.FnNe {
					e = l.mk(x, ir.FnNot, rtype.BoolType, e)
				}
				return e, false
			}
		}
		l.promoteLits(a, b)
		if Common(a.Type, b.Type) == nil {
			l.errorf(diag.InvalidExpression, x, "Mismatched types", "%s cannot compare %s with %s. %s",
				displayFn(name), a.Type, b.Type, remedy(name))
			return nil, false
		}
		return l.mk(x, fn, rtype.BoolType, a, b), null
	}
	switch name {
	case operators.LogicalAnd, operators.LogicalOr:
		fn := ir.FnAnd
		if name == operators.LogicalOr {
			fn = ir.FnOr
		}
		for i, a := range args {
			if a.Type.Kind != rtype.Bool && a.Type.Kind != rtype.Invalid {
				l.errorf(diag.InvalidExpression, c.Args()[i], "Mismatched types", "%s needs bool operands; %q is %s. %s",
					displayFn(name), a.Text, a.Type, remedy(name))
				return nil, false
			}
		}
		return l.mk(x, fn, rtype.BoolType, args...), null
	case operators.LogicalNot:
		if args[0].Type.Kind != rtype.Bool {
			l.errorf(diag.InvalidExpression, x, "Mismatched types", "! needs a bool; %q is %s.", args[0].Text, args[0].Type)
			return nil, false
		}
		return l.mk(x, ir.FnNot, rtype.BoolType, args...), null
	case operators.Negate:
		if !args[0].Type.IsNumeric() && args[0].Type.Kind != rtype.Duration {
			l.errorf(diag.InvalidExpression, x, "Mismatched types", "unary - needs a number; %q is %s.", args[0].Text, args[0].Type)
			return nil, false
		}
		if args[0].Kind == ir.Lit { // fold -5 into a literal
			switch v := args[0].Value.(type) {
			case int64:
				return l.node(x, &ir.Expr{Kind: ir.Lit, Value: -v, Type: args[0].Type}), false
			case float64:
				return l.node(x, &ir.Expr{Kind: ir.Lit, Value: -v, Type: args[0].Type}), false
			}
		}
		return l.mk(x, ir.FnNeg, args[0].Type, args...), null
	case operators.Conditional:
		if args[0].Type.Kind != rtype.Bool {
			l.errorf(diag.NonBooleanCondition, c.Args()[0], "Non-boolean condition", "The condition of ?: must be bool; %q is %s.", args[0].Text, args[0].Type)
			return nil, false
		}
		l.nullAs(args[1], args[2].Type)
		l.nullAs(args[2], args[1].Type)
		l.promoteLits(args[1], args[2])
		t := Common(args[1].Type, args[2].Type)
		if t == nil {
			l.errorf(diag.InvalidExpression, x, "Mismatched types", "The branches of ?: have different types: %s and %s.", args[1].Type, args[2].Type)
			return nil, false
		}
		return l.mk(x, ir.FnCond, t, args...), nulls[1] || nulls[2]
	case operators.In:
		if args[1].Type.Kind != rtype.List && args[1].Type.Kind != rtype.Map {
			l.errorf(diag.InvalidExpression, x, "Mismatched types", "in needs a list on the right, e.g. venue in ['XNAS', 'XNYS']; %q is %s.", args[1].Text, args[1].Type)
			return nil, false
		}
		if args[1].Kind == ir.ListExpr {
			for _, el := range args[1].Args {
				l.promoteLits(args[0], el)
			}
		}
		return l.mk(x, ir.FnIn, rtype.BoolType, args...), nulls[0]
	}

	fn, ok := scalarFns[name]
	if !ok {
		hint := diag.DidYouMean(name, vocabulary())
		if alt, ok := celAlternatives[name]; ok {
			hint = " Use " + alt + " instead."
		}
		l.errorf(diag.InvalidExpression, x, "Unknown function",
			"%s() is not in the expression vocabulary, which every engine implements.%s", name, hint)
		return nil, false
	}
	t := l.scalarType(x, fn, args)
	if t == nil {
		return nil, false
	}
	switch fn {
	case ir.FnCoalesce:
		null = true
		for i, n := range nulls {
			if !n && !isNullLit(args[i]) {
				null = false
			}
		}
	case ir.FnToDecimal:
		args = args[:1] // precision and scale are in the type
	case ir.FnToTimestamp:
		if lit, ok := args[0].Value.(string); ok && args[0].Kind == ir.Lit {
			if _, err := time.Parse(time.RFC3339Nano, lit); err != nil {
				l.errorf(diag.InvalidExpression, x.AsCall().Args()[0], "Bad timestamp",
					"%q is not an RFC 3339 timestamp such as \"2024-01-02T15:04:05Z\".", lit)
				return nil, false
			}
		} else {
			null = null || args[0].Type.Kind == rtype.String // unparsable strings yield null
		}
	case ir.FnToInt, ir.FnToDouble:
		null = null || args[0].Type.Kind == rtype.String // unparsable strings yield null
	}
	return l.mk(x, fn, t, args...), null
}

func vocabulary() []string {
	var out []string
	for k := range scalarFns {
		out = append(out, k)
	}
	for _, f := range ir.AggregateFns() {
		out = append(out, string(f))
	}
	return sortedNames(toSet(out))
}

func toSet(s []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

func isNullLit(e *ir.Expr) bool { return e != nil && e.Kind == ir.Lit && e.Value == nil }

// nullAs types a null literal like the other operand.
func (l *lowerer) nullAs(e *ir.Expr, t *rtype.Type) {
	if isNullLit(e) {
		e.Type = t
	}
}

// promoteLits makes a numeric literal meeting a decimal an exact decimal
// literal of the precision written ("0.02" → decimal(2,2), 100 →
// decimal(3,0)), so `price * 2` stays decimal and `price > 0.02` is exact.
func (l *lowerer) promoteLits(a, b *ir.Expr) {
	l.nullAs(a, b.Type)
	l.nullAs(b, a.Type)
	lit := func(x, other *ir.Expr) {
		if x.Kind != ir.Lit || other.Type.Kind != rtype.Decimal {
			return
		}
		switch x.Value.(type) {
		case int64, float64:
			if t := DecimalLit(strings.TrimSpace(x.Text)); t != nil {
				x.Value, x.Type = ir.Decimal(strings.TrimSpace(x.Text)), t
			}
		}
	}
	lit(a, b)
	lit(b, a)
}

func (l *lowerer) scalarType(x ast.Expr, fn ir.Fn, args []*ir.Expr) *rtype.Type {
	bad := func(format string, a ...any) *rtype.Type {
		l.errorf(diag.InvalidExpression, x, "Mismatched types", "%s", fmt.Sprintf(format, a...))
		return nil
	}
	arg := func(i int) *rtype.Type {
		if i < len(args) {
			return args[i].Type
		}
		return rtype.InvalidType
	}
	numeric := func() bool {
		for _, a := range args {
			if !a.Type.IsNumeric() && a.Type.Kind != rtype.Invalid {
				bad("%s() needs numbers; %q is %s.", fn, a.Text, a.Type)
				return false
			}
		}
		return true
	}
	switch fn {
	case ir.FnLn, ir.FnLog10, ir.FnExp, ir.FnSqrt, ir.FnPow:
		if !numeric() {
			return nil
		}
		return rtype.Float64Type
	case ir.FnAbs:
		if !numeric() {
			return nil
		}
		return arg(0)
	case ir.FnRound, ir.FnFloor, ir.FnCeil:
		if !numeric() {
			return nil
		}
		t := arg(0)
		if t.Kind == rtype.Decimal {
			s := 0
			if fn == ir.FnRound && len(args) == 2 {
				if d, ok := args[1].Value.(int64); ok && args[1].Kind == ir.Lit {
					s = min(int(max(d, 0)), t.Scale)
				} else {
					s = t.Scale
				}
			}
			return decimal(t.Precision-t.Scale+s+1, s)
		}
		return t
	case ir.FnGreatest, ir.FnLeast, ir.FnCoalesce:
		for i := range args {
			for j := range args {
				if i != j {
					l.nullAs(args[i], args[j].Type)
				}
			}
		}
		t := args[0].Type
		for _, a := range args[1:] {
			l.promoteLits(args[0], a)
		}
		for _, a := range args[1:] {
			if t = Common(t, a.Type); t == nil {
				return bad("The arguments of %s() must share one type; %q is %s.", fn, a.Text, a.Type)
			}
		}
		return t
	case ir.FnLower, ir.FnUpper, ir.FnTrim, ir.FnReplace, ir.FnSubstring, ir.FnConcat, ir.FnToString:
		return rtype.StringType
	case ir.FnSize, ir.FnEpochMillis, ir.FnHour, ir.FnDayOfWeek, ir.FnToInt:
		return rtype.Int64Type
	case ir.FnContains, ir.FnStartsWith, ir.FnEndsWith, ir.FnMatches:
		return rtype.BoolType
	case ir.FnToDouble:
		return rtype.Float64Type
	case ir.FnToTimestamp:
		return rtype.TimestampMillis
	case ir.FnDuration:
		return rtype.DurationType
	case ir.FnDateTrunc:
		u, ok := args[0].Value.(string)
		if args[0].Kind != ir.Lit || !ok || !contains(DateTruncUnits, u) {
			l.errorf(diag.InvalidExpression, x.AsCall().Args()[0], "Bad date_trunc unit",
				"The unit of date_trunc must be a literal, one of %s.", list(DateTruncUnits))
			return nil
		}
		return arg(1)
	case ir.FnToDecimal:
		p, pok := intLit(args, 1)
		s, sok := intLit(args, 2)
		if !pok || !sok || p < 1 || p > MaxPrecision || s < 0 || s > p {
			l.errorf(diag.InvalidExpression, x, "Bad decimal cast",
				"decimal(x, p, s) needs literal precision 1 ≤ p ≤ 38 and scale 0 ≤ s ≤ p, e.g. decimal(price, 18, 6).")
			return nil
		}
		return rtype.DecimalOf(int(p), int(s))
	}
	return bad("%s() is not supported here.", fn)
}

func intLit(args []*ir.Expr, i int) (int64, bool) {
	if i >= len(args) || args[i].Kind != ir.Lit {
		return 0, false
	}
	v, ok := args[i].Value.(int64)
	return v, ok
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func (l *lowerer) aggregate(x ast.Expr) (*ir.Expr, bool) {
	c := x.AsCall()
	fn := ir.Fn(c.FunctionName())
	if !l.sc.Aggregates {
		l.errorf(diag.MisplacedAggregate, x, "Misplaced aggregate",
			"%s() aggregates over a group of rows and is allowed only in #Aggregate select, #Rolling select and #Pattern define and measures. Here each row is computed on its own: use the field itself, or aggregate upstream.", fn)
		return nil, false
	}
	if l.agg > 0 {
		l.errorf(diag.MisplacedAggregate, x, "Nested aggregate",
			"%s() is inside another aggregate; aggregates cannot nest. Compute the inner value in a #Map upstream or in a second #Aggregate.", fn)
		return nil, false
	}
	l.agg++
	args, nulls, ok := l.args(x)
	l.agg--
	if !ok {
		return nil, false
	}
	var at *rtype.Type
	if len(args) > 0 {
		at = args[0].Type
	}
	switch fn {
	case ir.FnSum, ir.FnAvg, ir.FnStddev, ir.FnStddevPop, ir.FnVariance, ir.FnVarPop:
		if at != nil && !at.IsNumeric() && at.Kind != rtype.Invalid {
			l.errorf(diag.InvalidExpression, x, "Mismatched types", "%s() needs a number; %q is %s.", fn, args[0].Text, at)
			return nil, false
		}
	case ir.FnTop, ir.FnBottom:
		if n, ok := intLit(args, 1); !ok || n < 1 {
			l.errorf(diag.InvalidExpression, x, "Bad count", "%s(x, n) needs a literal n ≥ 1.", fn)
			return nil, false
		}
	case ir.FnLast:
		if len(args) == 2 {
			if n, ok := intLit(args, 1); !ok || n < 0 {
				l.errorf(diag.InvalidExpression, x, "Bad offset", "last(x, n) needs a literal n ≥ 0.")
				return nil, false
			}
		}
	}
	null := fn != ir.FnCount && fn != ir.FnCountDistinct && (len(nulls) == 0 || nulls[0] || fn == ir.FnLast && len(args) == 2)
	// An aggregate over only null values is null; stddev of one row is null.
	if fn == ir.FnStddev || fn == ir.FnVariance {
		null = true
	}
	return l.mk(x, fn, AggResult(fn, at), args...), null
}
