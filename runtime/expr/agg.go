package expr

import (
	"math"
	"sort"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

// State is the accumulator of one aggregate call. One struct serves every
// function so that accumulators encode with a single coder; each function
// uses the fields it documents.
type State struct {
	N   int64        // rows counted (non-null inputs)
	I   int64        // integer sum
	F   float64      // float sum; Welford mean
	M2  float64      // Welford sum of squared deviations
	D   *apd.Decimal // decimal sum
	V   any          // min/max/first/last value
	T   int64        // first/last event time (ms)
	L   []any        // top/bottom values; collect values
	LT  []int64      // collect times
	Set map[string]struct{}
}

// Agg is one aggregate function specialised for its argument type.
type Agg struct {
	Fn    ir.Fn
	Arg   *rtype.Type // nil for count()
	Out   *rtype.Type
	Param int // top/bottom n
}

// NewAgg returns the aggregate fn over values of type arg producing out.
func NewAgg(fn ir.Fn, arg, out *rtype.Type, param int) *Agg {
	return &Agg{Fn: fn, Arg: arg, Out: out, Param: param}
}

// New returns an empty state.
func (a *Agg) New() *State { return &State{} }

func (a *Agg) decimalArg() bool { return a.Arg != nil && a.Arg.Kind == rtype.Decimal }
func (a *Agg) floatArg() bool   { return a.Arg != nil && a.Arg.IsFloat() }

// Add folds value v observed at event time ts (ms) into s. Nulls are
// skipped, except by count() without an argument (the caller passes a
// non-nil marker).
func (a *Agg) Add(s *State, v any, ts int64) *State {
	if v == nil {
		return s
	}
	switch a.Fn {
	case ir.FnCount:
		s.N++
	case ir.FnCountDistinct:
		if s.Set == nil {
			s.Set = map[string]struct{}{}
		}
		s.Set[KeyString(v)] = struct{}{}
	case ir.FnSum, ir.FnAvg:
		s.N++
		switch {
		case a.decimalArg():
			d, ok := ToDecimal(v)
			if !ok {
				return s
			}
			if s.D == nil {
				s.D = new(apd.Decimal)
			}
			_, _ = DecCtx.Add(s.D, s.D, d)
		case a.floatArg():
			f, _ := ToFloat64(v)
			s.F += f
		default:
			if n, ok := ToInt64(v); ok {
				s.I += n
			} else if d, ok := v.(*apd.Decimal); ok {
				if s.D == nil {
					s.D = new(apd.Decimal)
				}
				_, _ = DecCtx.Add(s.D, s.D, d)
			} else if f, ok := ToFloat64(v); ok {
				s.F += f
			}
		}
	case ir.FnMin, ir.FnMax:
		if s.N == 0 {
			s.V = v
		} else if c, ok := Compare(v, s.V); ok && ((a.Fn == ir.FnMin && c < 0) || (a.Fn == ir.FnMax && c > 0)) {
			s.V = v
		}
		s.N++
	case ir.FnFirst:
		if s.N == 0 || ts < s.T || (ts == s.T && less(v, s.V)) {
			s.V, s.T = v, ts
		}
		s.N++
	case ir.FnLast:
		if s.N == 0 || ts > s.T || (ts == s.T && less(s.V, v)) {
			s.V, s.T = v, ts
		}
		s.N++
	case ir.FnStddev, ir.FnStddevPop, ir.FnVariance, ir.FnVarPop:
		f, ok := ToFloat64(v)
		if !ok {
			return s
		}
		s.N++
		d := f - s.F
		s.F += d / float64(s.N)
		s.M2 += d * (f - s.F)
	case ir.FnTop, ir.FnBottom:
		s.L = a.keepN(append(s.L, v))
	case ir.FnCollect:
		s.L = append(s.L, v)
		s.LT = append(s.LT, ts)
	}
	return s
}

func (a *Agg) keepN(l []any) []any {
	desc := a.Fn == ir.FnTop
	sort.SliceStable(l, func(i, j int) bool {
		c, _ := Compare(l[i], l[j])
		if desc {
			return c > 0
		}
		return c < 0
	})
	if a.Param > 0 && len(l) > a.Param {
		l = l[:a.Param]
	}
	return l
}

// Merge folds b into s (both from the same Agg).
func (a *Agg) Merge(s, b *State) *State {
	if b == nil {
		return s
	}
	switch a.Fn {
	case ir.FnCount:
		s.N += b.N
	case ir.FnCountDistinct:
		if s.Set == nil {
			s.Set = map[string]struct{}{}
		}
		for k := range b.Set {
			s.Set[k] = struct{}{}
		}
	case ir.FnSum, ir.FnAvg:
		s.N += b.N
		s.I += b.I
		s.F += b.F
		if b.D != nil {
			if s.D == nil {
				s.D = new(apd.Decimal)
			}
			_, _ = DecCtx.Add(s.D, s.D, b.D)
		}
	case ir.FnMin, ir.FnMax:
		if b.N > 0 {
			if s.N == 0 {
				s.V = b.V
			} else if c, ok := Compare(b.V, s.V); ok && ((a.Fn == ir.FnMin && c < 0) || (a.Fn == ir.FnMax && c > 0)) {
				s.V = b.V
			}
			s.N += b.N
		}
	case ir.FnFirst:
		if b.N > 0 && (s.N == 0 || b.T < s.T || (b.T == s.T && less(b.V, s.V))) {
			s.V, s.T = b.V, b.T
		}
		s.N += b.N
	case ir.FnLast:
		if b.N > 0 && (s.N == 0 || b.T > s.T || (b.T == s.T && less(s.V, b.V))) {
			s.V, s.T = b.V, b.T
		}
		s.N += b.N
	case ir.FnStddev, ir.FnStddevPop, ir.FnVariance, ir.FnVarPop:
		if b.N == 0 {
			return s
		}
		if s.N == 0 {
			s.N, s.F, s.M2 = b.N, b.F, b.M2
			return s
		}
		n := s.N + b.N
		d := b.F - s.F
		s.M2 += b.M2 + d*d*float64(s.N)*float64(b.N)/float64(n)
		s.F += d * float64(b.N) / float64(n)
		s.N = n
	case ir.FnTop, ir.FnBottom:
		s.L = a.keepN(append(s.L, b.L...))
	case ir.FnCollect:
		s.L = append(s.L, b.L...)
		s.LT = append(s.LT, b.LT...)
	}
	return s
}

// Result is the aggregate value of s, in the Go type of a.Out.
func (a *Agg) Result(s *State) any {
	switch a.Fn {
	case ir.FnCount:
		return s.N
	case ir.FnCountDistinct:
		return int64(len(s.Set))
	case ir.FnSum:
		if s.N == 0 {
			return nil
		}
		if s.D != nil {
			return Coerce(s.D, a.Out)
		}
		if a.floatArg() || (a.Out != nil && a.Out.IsFloat()) {
			return Coerce(s.F+float64(s.I), a.Out)
		}
		return Coerce(s.I, a.Out)
	case ir.FnAvg:
		if s.N == 0 {
			return nil
		}
		if s.D != nil || (a.Out != nil && a.Out.Kind == rtype.Decimal) {
			sum := s.D
			if sum == nil {
				sum, _ = ToDecimal(s.I)
			}
			q := new(apd.Decimal)
			if _, err := DecCtx.Quo(q, sum, apd.New(s.N, 0)); err != nil {
				return nil
			}
			return Coerce(q, a.Out)
		}
		if a.floatArg() {
			return Coerce(s.F/float64(s.N), a.Out)
		}
		return Coerce(float64(s.I)/float64(s.N), a.Out)
	case ir.FnMin, ir.FnMax, ir.FnFirst, ir.FnLast:
		if s.N == 0 {
			return nil
		}
		return Coerce(s.V, a.Out)
	case ir.FnStddev, ir.FnVariance:
		if s.N < 2 {
			return nil
		}
		v := s.M2 / float64(s.N-1)
		if a.Fn == ir.FnStddev {
			v = math.Sqrt(v)
		}
		return v
	case ir.FnStddevPop, ir.FnVarPop:
		if s.N == 0 {
			return nil
		}
		v := s.M2 / float64(s.N)
		if a.Fn == ir.FnStddevPop {
			v = math.Sqrt(v)
		}
		return v
	case ir.FnTop, ir.FnBottom:
		return append([]any{}, s.L...)
	case ir.FnCollect:
		idx := make([]int, len(s.L))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return s.LT[idx[i]] < s.LT[idx[j]] })
		out := make([]any, len(idx))
		for i, k := range idx {
			out[i] = s.L[k]
		}
		return out
	}
	return nil
}

// less breaks event-time ties of first/last by value: runners merge
// partial accumulators in no fixed order, so arrival order cannot be kept
// and the result must not depend on the merge order.
func less(a, b any) bool {
	c, ok := Compare(a, b)
	return ok && c < 0
}
