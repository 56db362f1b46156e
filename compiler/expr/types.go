package expr

import (
	"strings"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

// MaxPrecision is the widest decimal.
const MaxPrecision = 38

// asDecimal returns the decimal type an exact numeric converts to without
// loss, or nil.
func asDecimal(t *rtype.Type) *rtype.Type {
	switch t.Kind {
	case rtype.Decimal:
		return t
	case rtype.Int32:
		return rtype.DecimalOf(10, 0)
	case rtype.Int64:
		return rtype.DecimalOf(19, 0)
	}
	return nil
}

func decimal(p, s int) *rtype.Type {
	p = min(p, MaxPrecision)
	s = min(s, p)
	if p < 1 {
		p = 1
	}
	return rtype.DecimalOf(p, s)
}

// Arith returns the result type of a binary arithmetic Fn (add, sub, mul,
// div, mod) over a and b, or nil when they do not combine. The rules follow
// SQL:
//
//   - int32∘int32 → int32; other integers → int64;
//   - any float (and no decimal) → float64; decimal with a float → float64;
//   - decimal(p1,s1) with decimal(p2,s2) or an integer (as decimal(10,0) /
//     decimal(19,0)): add/sub → decimal(max(p1−s1,p2−s2)+max(s1,s2)+1,
//     max(s1,s2)); mul → decimal(p1+p2, s1+s2); div → decimal(38,
//     max(s1,6)); mod → decimal(max(p1−s1,p2−s2)+max(s1,s2), max(s1,s2));
//     precision capped at 38;
//   - timestamp ± duration → timestamp; timestamp − timestamp → duration;
//     duration ± duration → duration; string + string → string; list + list.
func Arith(fn ir.Fn, a, b *rtype.Type) *rtype.Type {
	switch {
	case a.Kind == rtype.Invalid || b.Kind == rtype.Invalid:
		return rtype.InvalidType
	case a.IsNumeric() && b.IsNumeric():
		switch {
		case a.IsInteger() && b.IsInteger():
			if a.Kind == rtype.Int32 && b.Kind == rtype.Int32 {
				return rtype.Int32Type
			}
			return rtype.Int64Type
		case a.IsFloat() || b.IsFloat():
			return rtype.Float64Type
		}
		da, db := asDecimal(a), asDecimal(b)
		ia, ib := da.Precision-da.Scale, db.Precision-db.Scale
		s := max(da.Scale, db.Scale)
		switch fn {
		case ir.FnAdd, ir.FnSub:
			return decimal(max(ia, ib)+s+1, s)
		case ir.FnMul:
			return decimal(da.Precision+db.Precision, da.Scale+db.Scale)
		case ir.FnDiv:
			return decimal(MaxPrecision, max(da.Scale, 6))
		case ir.FnMod:
			return decimal(max(ia, ib)+s, s)
		}
	case a.Kind == rtype.Timestamp && b.Kind == rtype.Duration && (fn == ir.FnAdd || fn == ir.FnSub):
		return a
	case a.Kind == rtype.Duration && b.Kind == rtype.Timestamp && fn == ir.FnAdd:
		return b
	case a.Kind == rtype.Timestamp && b.Kind == rtype.Timestamp && fn == ir.FnSub:
		return rtype.DurationType
	case a.Kind == rtype.Duration && b.Kind == rtype.Duration && (fn == ir.FnAdd || fn == ir.FnSub):
		return rtype.DurationType
	case a.Kind == rtype.String && b.Kind == rtype.String && fn == ir.FnAdd:
		return rtype.StringType
	case a.Kind == rtype.List && b.Kind == rtype.List && fn == ir.FnAdd:
		if e := Common(a.Elem, b.Elem); e != nil {
			return rtype.ListOf(e)
		}
	}
	return nil
}

// Common returns the type both a and b convert to without loss (for
// comparisons, conditionals, coalesce, list elements), or nil.
func Common(a, b *rtype.Type) *rtype.Type {
	switch {
	case a.Kind == rtype.Invalid:
		return b
	case b.Kind == rtype.Invalid:
		return a
	case rtype.Identical(a, b):
		return a
	case a.IsNumeric() && b.IsNumeric():
		switch {
		case a.IsInteger() && b.IsInteger():
			return rtype.Int64Type
		case a.IsFloat() || b.IsFloat():
			return rtype.Float64Type
		}
		da, db := asDecimal(a), asDecimal(b)
		s := max(da.Scale, db.Scale)
		return decimal(max(da.Precision-da.Scale, db.Precision-db.Scale)+s, s)
	case a.Kind == rtype.Timestamp && b.Kind == rtype.Timestamp:
		return rtype.TimestampOf(max(a.Precision, b.Precision))
	case (a.Kind == rtype.Timestamp || a.Kind == rtype.Date) && (b.Kind == rtype.Timestamp || b.Kind == rtype.Date):
		if a.Kind == rtype.Timestamp {
			return a
		}
		return b
	case a.Kind == b.Kind && (a.Kind == rtype.List || a.Kind == rtype.Map):
		if e := Common(a.Elem, b.Elem); e != nil {
			return &rtype.Type{Kind: a.Kind, Elem: e}
		}
	}
	return nil
}

// AggResult returns the result type of aggregate fn over arg (nil arg for
// count()), per the ir.Fn documentation.
func AggResult(fn ir.Fn, arg *rtype.Type) *rtype.Type {
	if arg != nil && arg.Kind == rtype.Invalid && fn != ir.FnCount && fn != ir.FnCountDistinct {
		return rtype.InvalidType
	}
	switch fn {
	case ir.FnCount, ir.FnCountDistinct:
		return rtype.Int64Type
	case ir.FnSum:
		switch {
		case arg.IsInteger():
			return rtype.Int64Type
		case arg.Kind == rtype.Decimal:
			return rtype.DecimalOf(MaxPrecision, arg.Scale)
		case arg.IsFloat():
			return rtype.Float64Type
		}
		return rtype.InvalidType
	case ir.FnAvg:
		if arg.Kind == rtype.Decimal {
			return rtype.DecimalOf(MaxPrecision, max(arg.Scale, 6))
		}
		return rtype.Float64Type
	case ir.FnStddev, ir.FnStddevPop, ir.FnVariance, ir.FnVarPop:
		return rtype.Float64Type
	case ir.FnTop, ir.FnBottom, ir.FnCollect:
		return rtype.ListOf(arg)
	}
	return arg // min, max, first, last
}

// Partials names the accumulators a combiner keeps for aggregate fn when
// it is lifted (computed per key, and per pane for sliced windows, before
// the shuffle, then merged): the decision the "slice windows" pass and the
// backends' combiners share.
//
//	count, count()         → count                       (merge: +)
//	sum                    → sum                         (merge: +; decimals exact)
//	avg                    → sum, count                  (result: sum / count, typed as AggResult)
//	min, max               → min | max                   (merge: min | max)
//	first, last            → value, event_time           (merge: earliest | latest event time; ties: arrival)
//	stddev, variance, *_pop→ count, sum, sum_sq          (float64; sample forms divide by count−1)
//	top, bottom            → the n best values           (merge: keep n best)
//	collect                → values with event times     (merge: concatenate, order by event time)
//	count_distinct         → the set of values           (exact but unbounded: not pane-sliced)
//
// Pattern aggregates (over rows mapped to a variable) are never lifted.
func Partials(fn ir.Fn) []string {
	switch fn {
	case ir.FnCount:
		return []string{"count"}
	case ir.FnSum:
		return []string{"sum"}
	case ir.FnAvg:
		return []string{"sum", "count"}
	case ir.FnMin:
		return []string{"min"}
	case ir.FnMax:
		return []string{"max"}
	case ir.FnFirst, ir.FnLast:
		return []string{"value", "event_time"}
	case ir.FnStddev, ir.FnStddevPop, ir.FnVariance, ir.FnVarPop:
		return []string{"count", "sum", "sum_sq"}
	case ir.FnTop, ir.FnBottom:
		return []string{"best_n"}
	case ir.FnCollect:
		return []string{"values"}
	case ir.FnCountDistinct:
		return []string{"set"}
	}
	return nil
}

// Mergeable reports whether partial results of fn computed over disjoint
// sets of rows (panes of a hop window) can be merged exactly, in bounded
// space, into the result over their union (see [Partials]). False for
// count_distinct, whose partial is the whole set of values.
func Mergeable(fn ir.Fn) bool {
	return fn.IsAggregate() && fn != ir.FnCountDistinct
}

// DecimalLit returns the decimal type of a literal as written ("0.02" →
// decimal(2,2)), or nil when text is not a plain decimal numeral.
func DecimalLit(text string) *rtype.Type {
	t := strings.TrimPrefix(text, "-")
	intPart, frac, _ := strings.Cut(t, ".")
	if intPart == "" && frac == "" {
		return nil
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return nil
		}
	}
	intPart = strings.TrimLeft(intPart, "0")
	p := len(intPart) + len(frac)
	if p == 0 {
		p = 1
	}
	if p > MaxPrecision {
		return nil
	}
	return rtype.DecimalOf(p, len(frac))
}
