package ir

import (
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// ExprKind is the kind of an expression node.
type ExprKind uint8

const (
	// Lit is a literal: Value is nil (null), bool, int64, float64, string,
	// []byte, or Decimal (exact decimals written in the spec), time.Duration
	// for duration literals.
	Lit ExprKind = iota + 1
	// Ref reads a field: Input selects the input port (join: 0 left, 1
	// right; lookup: 1 the table), Var a pattern variable ("" = current row),
	// Path the field and any nested fields.
	Ref
	// Call applies Fn to Args.
	Call
	// ListExpr builds a list of Args.
	ListExpr
)

// Decimal is an exact decimal literal kept as written ("0.02").
type Decimal string

// Expr is a checked expression. Type is always set; Pos is the range of this
// subexpression inside the spec file (inside the CEL string).
type Expr struct {
	Kind  ExprKind
	Type  *rtype.Type
	Value any
	Input int
	Var   string
	Path  []string
	Fn    Fn
	Args  []*Expr
	Pos   diag.Range
	// Text is the CEL source of this expression as written (the whole string
	// for the root, the substring for subexpressions).
	Text string
}

// Field returns the top-level field a Ref reads.
func (e *Expr) Field() string {
	if e.Kind != Ref || len(e.Path) == 0 {
		return ""
	}
	return e.Path[0]
}

// Walk calls f for e and every subexpression, parents first; f returning
// false skips the children.
func (e *Expr) Walk(f func(*Expr) bool) {
	if e == nil || !f(e) {
		return
	}
	for _, a := range e.Args {
		a.Walk(f)
	}
}

// Refs returns every Ref in e, in order.
func (e *Expr) Refs() []*Expr {
	var out []*Expr
	e.Walk(func(x *Expr) bool {
		if x.Kind == Ref {
			out = append(out, x)
		}
		return true
	})
	return out
}

// HasAggregate reports whether e calls an aggregate function.
func (e *Expr) HasAggregate() bool {
	found := false
	e.Walk(func(x *Expr) bool {
		if x.Kind == Call && x.Fn.IsAggregate() {
			found = true
		}
		return !found
	})
	return found
}

// Fn is a function of the closed expression vocabulary. Backends must handle
// every Fn or reject it with a positioned UnsupportedFunction diagnostic.
//
// Semantics follow SQL where CEL and SQL differ: arithmetic on null yields
// null; comparisons with null are null (false in a filter); && and || are
// three-valued; aggregates skip nulls.
type Fn string

// Operators (CEL syntax → Fn).
const (
	FnAdd   Fn = "add" // + (numbers; timestamp + duration; string concatenation)
	FnSub   Fn = "sub" // - (numbers; timestamp - duration → timestamp; timestamp - timestamp → duration)
	FnMul   Fn = "mul"
	FnDiv   Fn = "div" // integer division truncates; division by zero yields null
	FnMod   Fn = "mod"
	FnNeg   Fn = "neg"
	FnEq    Fn = "eq"
	FnNe    Fn = "ne"
	FnLt    Fn = "lt"
	FnLe    Fn = "le"
	FnGt    Fn = "gt"
	FnGe    Fn = "ge"
	FnAnd   Fn = "and"
	FnOr    Fn = "or"
	FnNot   Fn = "not"
	FnCond  Fn = "cond"  // c ? a : b
	FnIn    Fn = "in"    // x in [list literal]
	FnIndex Fn = "index" // list[i] (0-based), map["k"]
)

// Scalar functions.
const (
	FnHas        Fn = "has"         // has(field): the nullable field is not null
	FnIsNull     Fn = "is_null"     // x == null
	FnCoalesce   Fn = "coalesce"    // first non-null argument
	FnSize       Fn = "size"        // length of string (characters), bytes, list, map
	FnContains   Fn = "contains"    // s.contains(t)
	FnStartsWith Fn = "starts_with" // s.startsWith(t)
	FnEndsWith   Fn = "ends_with"   // s.endsWith(t)
	FnMatches    Fn = "matches"     // s.matches(re) — RE2 syntax
	FnLower      Fn = "lower"
	FnUpper      Fn = "upper"
	FnTrim       Fn = "trim"
	FnReplace    Fn = "replace"   // replace(s, old, new): all occurrences
	FnSubstring  Fn = "substring" // substring(s, start[, end]): 0-based, by character
	FnConcat     Fn = "concat"    // concat(a, b, ...)
	FnAbs        Fn = "abs"
	FnSqrt       Fn = "sqrt"
	FnLn         Fn = "ln"
	FnLog10      Fn = "log10"
	FnExp        Fn = "exp"
	FnPow        Fn = "pow"
	FnRound      Fn = "round" // round(x[, digits]) half away from zero
	FnFloor      Fn = "floor"
	FnCeil       Fn = "ceil"
	FnGreatest   Fn = "greatest"
	FnLeast      Fn = "least"
	// Casts; the target type is Expr.Type.
	FnToInt       Fn = "int"
	FnToDouble    Fn = "double"
	FnToDecimal   Fn = "decimal" // decimal(x, p, s)
	FnToString    Fn = "string"
	FnToTimestamp Fn = "timestamp" // from string (RFC 3339) or epoch millis
	FnDuration    Fn = "duration"  // duration("5m") literal folded to Lit time.Duration
	// Time.
	FnEpochMillis Fn = "epoch_millis" // timestamp → int64 milliseconds since the epoch
	FnDateTrunc   Fn = "date_trunc"   // date_trunc(unit, ts): unit one of second minute hour day
	FnHour        Fn = "hour"
	FnDayOfWeek   Fn = "day_of_week" // 1 = Monday … 7 = Sunday (ISO)
)

// Aggregate functions (only where the operator aggregates: aggregate
// columns, rolling columns, pattern measures and defines, top-N is not one).
const (
	FnCount         Fn = "count" // count() counts rows; count(x) non-null x; int64
	FnCountDistinct Fn = "count_distinct"
	FnSum           Fn = "sum" // ints → int64; decimal(p,s) → decimal(38,s); floats → float64
	FnAvg           Fn = "avg" // ints and floats → float64; decimal(p,s) → decimal(38, max(s,6))
	FnMin           Fn = "min"
	FnMax           Fn = "max"
	FnFirst         Fn = "first"      // by event time (ties: arrival order)
	FnLast          Fn = "last"       // by event time; in patterns last(A.x, n) is the n-th last
	FnStddev        Fn = "stddev"     // sample standard deviation; float64
	FnStddevPop     Fn = "stddev_pop" // population
	FnVariance      Fn = "variance"   // sample variance; float64
	FnVarPop        Fn = "var_pop"
	FnTop           Fn = "top" // top(x, n): list of the n largest values, descending
	FnBottom        Fn = "bottom"
	FnCollect       Fn = "collect" // list of values in event-time order
)

var aggregates = map[Fn]bool{
	FnCount: true, FnCountDistinct: true, FnSum: true, FnAvg: true, FnMin: true, FnMax: true,
	FnFirst: true, FnLast: true, FnStddev: true, FnStddevPop: true, FnVariance: true,
	FnVarPop: true, FnTop: true, FnBottom: true, FnCollect: true,
}

// IsAggregate reports whether f aggregates over a group of rows.
func (f Fn) IsAggregate() bool { return aggregates[f] }

// AggregateFns lists the aggregate functions in a stable order.
func AggregateFns() []Fn {
	return []Fn{FnCount, FnCountDistinct, FnSum, FnAvg, FnMin, FnMax, FnFirst, FnLast,
		FnStddev, FnStddevPop, FnVariance, FnVarPop, FnTop, FnBottom, FnCollect}
}

// Well-known output columns of window operators.
const (
	WindowStart = "window_start"
	WindowEnd   = "window_end"
)
