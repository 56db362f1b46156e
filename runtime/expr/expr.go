// Package expr evaluates the IR's closed expression tree ([ir.Expr]) over
// rows. An expression is compiled once into a tree of Go closures (field
// references resolved to indexes, literals parsed, regular expressions
// compiled); evaluation then only moves values. Semantics follow the Fn
// documentation in compiler/ir: SQL nulls, three-valued logic, division by
// zero is null, aggregates are read from precomputed slots.
package expr

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// Env is what an expression reads.
type Env struct {
	// Rows are the input rows by port (join: 0 left, 1 right; lookup: 1 the
	// table row). Pattern expressions read the current row from Rows[0].
	Rows [2]row.Row
	// Aggs holds the aggregate values by slot (see Options.AggSlot).
	Aggs []any
	// Match gives pattern variables' rows.
	Match Match
	// Bound, when HasBound, stands for pattern variable BoundVar while an
	// aggregate iterates over that variable's rows.
	BoundVar string
	Bound    row.Row
	HasBound bool
}

// Match is the pattern matcher's view of a partial match.
type Match interface {
	// Rows returns the rows mapped to v so far in order ("" = all rows).
	Rows(v string) []row.Row
}

// Eval computes a value; nil is SQL NULL.
type Eval func(*Env) any

// Options says how references and aggregate calls resolve.
type Options struct {
	// Inputs are the record types of the input ports.
	Inputs [2]*rtype.Type
	// AggSlot maps an aggregate call to its slot in Env.Aggs. When nil,
	// aggregate calls are an error unless Pattern is set.
	AggSlot func(call *ir.Expr) (int, bool)
	// Pattern: Ref.Var names pattern variables, aggregates range over a
	// variable's rows through Env.Match.
	Pattern bool
}

// Compile turns e into an Eval.
func Compile(e *ir.Expr, o *Options) (ev Eval, err error) {
	defer func() {
		if r := recover(); r != nil {
			ev, err = nil, fmt.Errorf("expression %q: %v", e.Text, r)
		}
	}()
	c := &compiler{o: o}
	ev = c.expr(e)
	if c.err != nil {
		return nil, c.err
	}
	return ev, nil
}

type compiler struct {
	o   *Options
	err error
}

func (c *compiler) fail(e *ir.Expr, format string, args ...any) Eval {
	if c.err == nil {
		c.err = fmt.Errorf("expression %q: %s", e.Text, fmt.Sprintf(format, args...))
	}
	return func(*Env) any { return nil }
}

func (c *compiler) expr(e *ir.Expr) Eval {
	if e == nil {
		return func(*Env) any { return nil }
	}
	switch e.Kind {
	case ir.Lit:
		v := litValue(e)
		return func(*Env) any { return v }
	case ir.Ref:
		return c.ref(e)
	case ir.ListExpr:
		args := c.args(e)
		return func(env *Env) any {
			out := make([]any, len(args))
			for i, a := range args {
				out[i] = a(env)
			}
			return out
		}
	case ir.Call:
		if e.Fn.IsAggregate() {
			return c.aggregate(e)
		}
		return c.call(e)
	}
	return c.fail(e, "unknown expression kind %d", e.Kind)
}

func litValue(e *ir.Expr) any {
	switch v := e.Value.(type) {
	case ir.Decimal:
		d, _, err := apd.NewFromString(string(v))
		if err != nil {
			return nil
		}
		return d
	case int:
		return int64(v)
	case int32:
		if e.Type != nil && e.Type.Kind == rtype.Int64 {
			return int64(v)
		}
	case float64:
		if e.Type != nil && e.Type.Kind == rtype.Decimal {
			d, _ := ToDecimal(v)
			return d
		}
	}
	return e.Value
}

// ref resolves a field reference to an index path.
func (c *compiler) ref(e *ir.Expr) Eval {
	in := e.Input
	if in < 0 || in > 1 {
		return c.fail(e, "input port %d out of range", in)
	}
	t := c.o.Inputs[in]
	if t == nil {
		return c.fail(e, "no input %d", in)
	}
	if len(e.Path) == 0 {
		return c.fail(e, "empty field path")
	}
	var idx []int
	cur := t
	for _, name := range e.Path {
		if cur == nil || cur.Kind != rtype.Record {
			// map access through a path: resolved at run time.
			key := name
			prev := idx
			get := c.pathGetter(in, e.Var, prev)
			return func(env *Env) any {
				m, _ := get(env).(map[string]any)
				return m[key]
			}
		}
		found := -1
		for i, f := range cur.Fields {
			if f.Name == name {
				found = i
				cur = f.Type
				break
			}
		}
		if found < 0 {
			return c.fail(e, "no field %q", name)
		}
		idx = append(idx, found)
	}
	return c.pathGetter(in, e.Var, idx)
}

func (c *compiler) pathGetter(in int, v string, idx []int) Eval {
	rowOf := func(env *Env) row.Row { return env.Rows[in] }
	if c.o.Pattern {
		rowOf = func(env *Env) row.Row {
			if env.HasBound && env.BoundVar == v {
				return env.Bound
			}
			if v == "" || env.Match == nil {
				return env.Rows[0]
			}
			rs := env.Match.Rows(v)
			if len(rs) == 0 {
				return nil
			}
			return rs[len(rs)-1]
		}
	}
	if len(idx) == 1 {
		i := idx[0]
		return func(env *Env) any {
			r := rowOf(env)
			if i < len(r) {
				return r[i]
			}
			return nil
		}
	}
	return func(env *Env) any {
		var cur any = rowOf(env)
		for _, i := range idx {
			r, ok := cur.(row.Row)
			if !ok || i >= len(r) {
				return nil
			}
			cur = r[i]
		}
		return cur
	}
}

func (c *compiler) args(e *ir.Expr) []Eval {
	out := make([]Eval, len(e.Args))
	for i, a := range e.Args {
		out[i] = c.expr(a)
	}
	return out
}

// aggregate compiles an aggregate call: a slot read, or in patterns a
// fold over a variable's rows.
func (c *compiler) aggregate(e *ir.Expr) Eval {
	if c.o.AggSlot != nil {
		if slot, ok := c.o.AggSlot(e); ok {
			return func(env *Env) any {
				if slot < len(env.Aggs) {
					return env.Aggs[slot]
				}
				return nil
			}
		}
	}
	if !c.o.Pattern {
		return c.fail(e, "aggregate %s() is not allowed here", e.Fn)
	}
	// Pattern: the variable is the first qualified reference in the args.
	v := ""
	for _, a := range e.Args {
		for _, r := range a.Refs() {
			if r.Var != "" {
				v = r.Var
				break
			}
		}
	}
	var arg Eval
	if len(e.Args) > 0 {
		arg = c.expr(e.Args[0])
	}
	nth := -1
	if (e.Fn == ir.FnLast || e.Fn == ir.FnFirst) && len(e.Args) == 2 {
		n, ok := ToInt64(litValue(e.Args[1]))
		if !ok {
			return c.fail(e, "%s(x, n) needs a literal n", e.Fn)
		}
		nth = int(n)
	}
	fn := e.Fn
	t := e.Type
	return func(env *Env) any {
		if env.Match == nil {
			return nil
		}
		rows := env.Match.Rows(v)
		sub := *env
		sub.BoundVar, sub.HasBound = v, true
		at := func(r row.Row) any {
			if arg == nil {
				return int64(1)
			}
			sub.Bound = r
			return arg(&sub)
		}
		switch fn {
		case ir.FnLast, ir.FnFirst:
			n := max(nth, 0)
			i := len(rows) - 1 - n
			if fn == ir.FnFirst {
				i = n
			}
			if i < 0 || i >= len(rows) {
				return nil
			}
			return at(rows[i])
		}
		a := NewAgg(fn, aggArgType(e), t, aggParam(e))
		st := a.New()
		for _, r := range rows {
			st = a.Add(st, at(r), 0)
		}
		return a.Result(st)
	}
}

func aggArgType(e *ir.Expr) *rtype.Type {
	if len(e.Args) > 0 && e.Args[0] != nil {
		return e.Args[0].Type
	}
	return nil
}

func aggParam(e *ir.Expr) int {
	if len(e.Args) > 1 {
		if n, ok := ToInt64(litValue(e.Args[1])); ok {
			return int(n)
		}
	}
	return 0
}

// AggParam returns the literal parameter of top(x, n)/bottom(x, n).
func AggParam(e *ir.Expr) int { return aggParam(e) }

func (c *compiler) call(e *ir.Expr) Eval {
	args := c.args(e)
	t := e.Type
	n := len(args)
	need := func(k int) bool {
		if n < k {
			c.fail(e, "%s needs %d arguments, got %d", e.Fn, k, n)
			return false
		}
		return true
	}
	switch e.Fn {
	case ir.FnAnd:
		if !need(2) {
			return nil
		}
		return func(env *Env) any {
			null := false
			for _, a := range args {
				v := a(env)
				if v == nil {
					null = true
					continue
				}
				if b, _ := v.(bool); !b {
					return false
				}
			}
			if null {
				return nil
			}
			return true
		}
	case ir.FnOr:
		if !need(2) {
			return nil
		}
		return func(env *Env) any {
			null := false
			for _, a := range args {
				v := a(env)
				if v == nil {
					null = true
					continue
				}
				if b, _ := v.(bool); b {
					return true
				}
			}
			if null {
				return nil
			}
			return false
		}
	case ir.FnNot:
		if !need(1) {
			return nil
		}
		a := args[0]
		return func(env *Env) any {
			v := a(env)
			if b, ok := v.(bool); ok {
				return !b
			}
			return nil
		}
	case ir.FnCond:
		if !need(3) {
			return nil
		}
		cnd, x, y := args[0], args[1], args[2]
		return func(env *Env) any {
			if Truthy(cnd(env)) {
				return Coerce(x(env), t)
			}
			return Coerce(y(env), t)
		}
	case ir.FnEq, ir.FnNe, ir.FnLt, ir.FnLe, ir.FnGt, ir.FnGe:
		if !need(2) {
			return nil
		}
		return compareFn(e.Fn, args[0], args[1])
	case ir.FnAdd, ir.FnSub, ir.FnMul, ir.FnDiv, ir.FnMod:
		if !need(2) {
			return nil
		}
		return c.arithFn(e, args[0], args[1])
	case ir.FnNeg:
		if !need(1) {
			return nil
		}
		a := args[0]
		return func(env *Env) any {
			switch v := a(env).(type) {
			case int64:
				return -v
			case int32:
				return -v
			case float64:
				return -v
			case float32:
				return -v
			case *apd.Decimal:
				return new(apd.Decimal).Neg(v)
			case time.Duration:
				return -v
			}
			return nil
		}
	case ir.FnIn:
		if !need(2) {
			return nil
		}
		x, l := args[0], args[1]
		return func(env *Env) any {
			v := x(env)
			if v == nil {
				return nil
			}
			list, _ := l(env).([]any)
			null := false
			for _, it := range list {
				if it == nil {
					null = true
					continue
				}
				if Equal(v, it) {
					return true
				}
			}
			if null {
				return nil
			}
			return false
		}
	case ir.FnIndex:
		if !need(2) {
			return nil
		}
		x, k := args[0], args[1]
		return func(env *Env) any {
			switch coll := x(env).(type) {
			case []any:
				i, ok := ToInt64(k(env))
				if !ok || i < 0 || i >= int64(len(coll)) {
					return nil
				}
				return coll[i]
			case map[string]any:
				s, _ := k(env).(string)
				return coll[s]
			}
			return nil
		}
	case ir.FnHas:
		if !need(1) {
			return nil
		}
		a := args[0]
		return func(env *Env) any { return a(env) != nil }
	case ir.FnIsNull:
		if !need(1) {
			return nil
		}
		a := args[0]
		return func(env *Env) any { return a(env) == nil }
	case ir.FnCoalesce:
		return func(env *Env) any {
			for _, a := range args {
				if v := a(env); v != nil {
					return Coerce(v, t)
				}
			}
			return nil
		}
	case ir.FnSize:
		if !need(1) {
			return nil
		}
		a := args[0]
		return func(env *Env) any {
			switch v := a(env).(type) {
			case string:
				return int64(utf8.RuneCountInString(v))
			case []byte:
				return int64(len(v))
			case []any:
				return int64(len(v))
			case map[string]any:
				return int64(len(v))
			}
			return nil
		}
	case ir.FnContains, ir.FnStartsWith, ir.FnEndsWith:
		if !need(2) {
			return nil
		}
		f := strings.Contains
		if e.Fn == ir.FnStartsWith {
			f = strings.HasPrefix
		} else if e.Fn == ir.FnEndsWith {
			f = strings.HasSuffix
		}
		return str2(args[0], args[1], func(a, b string) any { return f(a, b) })
	case ir.FnMatches:
		if !need(2) {
			return nil
		}
		if e.Args[1].Kind == ir.Lit {
			pat, _ := e.Args[1].Value.(string)
			re, err := regexp.Compile(pat)
			if err != nil {
				return c.fail(e, "bad regular expression: %v", err)
			}
			a := args[0]
			return func(env *Env) any {
				s, ok := a(env).(string)
				if !ok {
					return nil
				}
				return re.MatchString(s)
			}
		}
		return str2(args[0], args[1], func(a, b string) any {
			re, err := regexp.Compile(b)
			if err != nil {
				return nil
			}
			return re.MatchString(a)
		})
	case ir.FnLower, ir.FnUpper, ir.FnTrim:
		if !need(1) {
			return nil
		}
		f := strings.ToLower
		if e.Fn == ir.FnUpper {
			f = strings.ToUpper
		} else if e.Fn == ir.FnTrim {
			f = strings.TrimSpace
		}
		a := args[0]
		return func(env *Env) any {
			if s, ok := a(env).(string); ok {
				return f(s)
			}
			return nil
		}
	case ir.FnReplace:
		if !need(3) {
			return nil
		}
		return func(env *Env) any {
			s, ok1 := args[0](env).(string)
			o, ok2 := args[1](env).(string)
			nw, ok3 := args[2](env).(string)
			if !ok1 || !ok2 || !ok3 {
				return nil
			}
			return strings.ReplaceAll(s, o, nw)
		}
	case ir.FnSubstring:
		if !need(2) {
			return nil
		}
		return func(env *Env) any {
			s, ok := args[0](env).(string)
			st, ok2 := ToInt64(args[1](env))
			if !ok || !ok2 {
				return nil
			}
			rs := []rune(s)
			end := int64(len(rs))
			if n > 2 {
				e2, ok := ToInt64(args[2](env))
				if !ok {
					return nil
				}
				end = min(e2, end)
			}
			st = max(st, 0)
			if st >= end {
				return ""
			}
			return string(rs[st:end])
		}
	case ir.FnConcat:
		return func(env *Env) any {
			var b strings.Builder
			for _, a := range args {
				v := a(env)
				if v == nil {
					return nil
				}
				b.WriteString(ToString(v))
			}
			return b.String()
		}
	case ir.FnAbs:
		if !need(1) {
			return nil
		}
		a := args[0]
		return func(env *Env) any {
			switch v := a(env).(type) {
			case int64:
				if v < 0 {
					return -v
				}
				return v
			case int32:
				if v < 0 {
					return -v
				}
				return v
			case float64:
				return math.Abs(v)
			case float32:
				return float32(math.Abs(float64(v)))
			case *apd.Decimal:
				return new(apd.Decimal).Abs(v)
			}
			return nil
		}
	case ir.FnSqrt, ir.FnLn, ir.FnLog10, ir.FnExp:
		if !need(1) {
			return nil
		}
		f := map[ir.Fn]func(float64) float64{ir.FnSqrt: math.Sqrt, ir.FnLn: math.Log, ir.FnLog10: math.Log10, ir.FnExp: math.Exp}[e.Fn]
		a := args[0]
		return func(env *Env) any {
			x, ok := ToFloat64(a(env))
			if !ok {
				return nil
			}
			r := f(x)
			if math.IsNaN(r) {
				return nil
			}
			return r
		}
	case ir.FnPow:
		if !need(2) {
			return nil
		}
		return func(env *Env) any {
			x, ok1 := ToFloat64(args[0](env))
			y, ok2 := ToFloat64(args[1](env))
			if !ok1 || !ok2 {
				return nil
			}
			return Coerce(math.Pow(x, y), t)
		}
	case ir.FnRound, ir.FnFloor, ir.FnCeil:
		if !need(1) {
			return nil
		}
		fn := e.Fn
		return func(env *Env) any {
			v := args[0](env)
			digits := int64(0)
			if n > 1 {
				d, ok := ToInt64(args[1](env))
				if !ok {
					return nil
				}
				digits = d
			}
			return roundValue(fn, v, int(digits), t)
		}
	case ir.FnGreatest, ir.FnLeast:
		want := 1
		if e.Fn == ir.FnLeast {
			want = -1
		}
		return func(env *Env) any {
			var best any
			for _, a := range args {
				v := a(env)
				if v == nil {
					return nil
				}
				if best == nil {
					best = v
				} else if c, ok := Compare(v, best); ok && c == want {
					best = v
				}
			}
			return Coerce(best, t)
		}
	case ir.FnToInt, ir.FnToDouble, ir.FnToDecimal, ir.FnToString, ir.FnToTimestamp, ir.FnDuration:
		if !need(1) {
			return nil
		}
		a := args[0]
		return func(env *Env) any { return Cast(a(env), t) }
	case ir.FnEpochMillis:
		if !need(1) {
			return nil
		}
		a := args[0]
		return func(env *Env) any {
			if ts, ok := a(env).(time.Time); ok {
				return ts.UnixMilli()
			}
			return nil
		}
	case ir.FnDateTrunc:
		if !need(2) {
			return nil
		}
		return func(env *Env) any {
			unit, _ := args[0](env).(string)
			ts, ok := args[1](env).(time.Time)
			if !ok {
				return nil
			}
			switch strings.ToLower(unit) {
			case "second":
				return ts.Truncate(time.Second)
			case "minute":
				return ts.Truncate(time.Minute)
			case "hour":
				return ts.Truncate(time.Hour)
			case "day":
				return time.Date(ts.Year(), ts.Month(), ts.Day(), 0, 0, 0, 0, time.UTC)
			}
			return nil
		}
	case ir.FnHour:
		if !need(1) {
			return nil
		}
		a := args[0]
		return func(env *Env) any {
			if ts, ok := a(env).(time.Time); ok {
				return int64(ts.UTC().Hour())
			}
			return nil
		}
	case ir.FnDayOfWeek:
		if !need(1) {
			return nil
		}
		a := args[0]
		return func(env *Env) any {
			if ts, ok := a(env).(time.Time); ok {
				d := int64(ts.UTC().Weekday())
				if d == 0 {
					d = 7
				}
				return d
			}
			return nil
		}
	}
	return c.fail(e, "unsupported function %s", e.Fn)
}

func str2(a, b Eval, f func(a, b string) any) Eval {
	return func(env *Env) any {
		x, ok1 := a(env).(string)
		y, ok2 := b(env).(string)
		if !ok1 || !ok2 {
			return nil
		}
		return f(x, y)
	}
}

func compareFn(fn ir.Fn, a, b Eval) Eval {
	test := map[ir.Fn]func(int) bool{
		ir.FnEq: func(c int) bool { return c == 0 }, ir.FnNe: func(c int) bool { return c != 0 },
		ir.FnLt: func(c int) bool { return c < 0 }, ir.FnLe: func(c int) bool { return c <= 0 },
		ir.FnGt: func(c int) bool { return c > 0 }, ir.FnGe: func(c int) bool { return c >= 0 },
	}[fn]
	return func(env *Env) any {
		x, y := a(env), b(env)
		if x == nil || y == nil {
			return nil
		}
		c, ok := Compare(x, y)
		if !ok {
			if fn == ir.FnEq || fn == ir.FnNe {
				return (Equal(x, y)) == (fn == ir.FnEq)
			}
			return nil
		}
		return test(c)
	}
}

func (c *compiler) arithFn(e *ir.Expr, a, b Eval) Eval {
	t := e.Type
	var op byte
	switch e.Fn {
	case ir.FnAdd:
		op = '+'
	case ir.FnSub:
		op = '-'
	case ir.FnMul:
		op = '*'
	case ir.FnDiv:
		op = '/'
	case ir.FnMod:
		op = '%'
	}
	kind := rtype.Invalid
	if t != nil {
		kind = t.Kind
	}
	// Fast paths by result type.
	switch kind {
	case rtype.Int64, rtype.Int32:
		return func(env *Env) any {
			x, y := a(env), b(env)
			if x == nil || y == nil {
				return nil
			}
			return Coerce(arith(op, ncInt, x, y), t)
		}
	case rtype.Float64, rtype.Float32:
		return func(env *Env) any {
			x, y := a(env), b(env)
			if x == nil || y == nil {
				return nil
			}
			return Coerce(arith(op, ncFloat, x, y), t)
		}
	case rtype.Decimal:
		scale := t.Scale
		return func(env *Env) any {
			x, y := a(env), b(env)
			if x == nil || y == nil {
				return nil
			}
			v := arith(op, ncDec, x, y)
			if d, ok := v.(*apd.Decimal); ok && op == '/' {
				return Quantize(d, scale)
			}
			return v
		}
	case rtype.String:
		return func(env *Env) any {
			x, ok1 := a(env).(string)
			y, ok2 := b(env).(string)
			if !ok1 || !ok2 {
				return nil
			}
			return x + y
		}
	}
	// Time arithmetic and untyped fallbacks.
	return func(env *Env) any {
		x, y := a(env), b(env)
		if x == nil || y == nil {
			return nil
		}
		switch xv := x.(type) {
		case time.Time:
			switch yv := y.(type) {
			case time.Duration:
				if op == '+' {
					return xv.Add(yv)
				}
				if op == '-' {
					return xv.Add(-yv)
				}
			case time.Time:
				if op == '-' {
					return xv.Sub(yv)
				}
			}
			return nil
		case time.Duration:
			switch yv := y.(type) {
			case time.Duration:
				switch op {
				case '+':
					return xv + yv
				case '-':
					return xv - yv
				}
			case time.Time:
				if op == '+' {
					return yv.Add(xv)
				}
			}
			if n, ok := ToInt64(y); ok {
				switch op {
				case '*':
					return xv * time.Duration(n)
				case '/':
					if n == 0 {
						return nil
					}
					return xv / time.Duration(n)
				}
			}
			return nil
		case string:
			if ys, ok := y.(string); ok && op == '+' {
				return xv + ys
			}
			return nil
		}
		return arith(op, max(classOf(x), classOf(y)), x, y)
	}
}

func roundValue(fn ir.Fn, v any, digits int, t *rtype.Type) any {
	switch x := v.(type) {
	case nil:
		return nil
	case int64, int32:
		return Coerce(x, t)
	case *apd.Decimal:
		out := new(apd.Decimal)
		ctx := *DecCtx
		switch fn {
		case ir.FnRound:
			ctx.Rounding = apd.RoundHalfUp
		case ir.FnFloor:
			ctx.Rounding = apd.RoundFloor
		case ir.FnCeil:
			ctx.Rounding = apd.RoundCeiling
		}
		if _, err := ctx.Quantize(out, x, -int32(digits)); err != nil {
			return nil
		}
		return Coerce(out, t)
	}
	f, ok := ToFloat64(v)
	if !ok {
		return nil
	}
	p := math.Pow(10, float64(digits))
	var r float64
	switch fn {
	case ir.FnRound:
		r = math.Round(f*p) / p // half away from zero
	case ir.FnFloor:
		r = math.Floor(f*p) / p
	case ir.FnCeil:
		r = math.Ceil(f*p) / p
	}
	return Coerce(r, t)
}

// ToString renders a value as CEL's string() does.
func ToString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case *apd.Decimal:
		return x.Text('f')
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	case []byte:
		return string(x)
	case float64:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

// Cast converts v to type t (the cast functions).
func Cast(v any, t *rtype.Type) any {
	if v == nil || t == nil {
		return v
	}
	switch t.Kind {
	case rtype.String:
		return ToString(v)
	case rtype.Timestamp, rtype.Date:
		switch x := v.(type) {
		case time.Time:
			return x.UTC()
		case string:
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
				if ts, err := time.Parse(layout, x); err == nil {
					return ts.UTC()
				}
			}
			return nil
		}
		if n, ok := ToInt64(v); ok {
			return time.UnixMilli(n).UTC()
		}
		return nil
	case rtype.Duration:
		switch x := v.(type) {
		case time.Duration:
			return x
		case string:
			d, err := time.ParseDuration(x)
			if err != nil {
				return nil
			}
			return d
		}
		return nil
	case rtype.Int64, rtype.Int32, rtype.Float64, rtype.Float32, rtype.Decimal:
		if s, ok := v.(string); ok {
			d, _, err := apd.NewFromString(strings.TrimSpace(s))
			if err != nil {
				return nil
			}
			return Coerce(d, t)
		}
		if ts, ok := v.(time.Time); ok {
			return Coerce(ts.UnixMilli(), t)
		}
	}
	return Coerce(v, t)
}

// Coerce converts a value into the Go representation of t (row.Row's
// documented types): int32 widened to int64, decimals quantized to t's
// scale, numbers converted across kinds. Nil and unknown types pass.
func Coerce(v any, t *rtype.Type) any {
	if v == nil || t == nil {
		return v
	}
	switch t.Kind {
	case rtype.Int64:
		if x, ok := v.(int64); ok {
			return x
		}
		if n, ok := ToInt64(v); ok {
			return n
		}
	case rtype.Int32:
		if x, ok := v.(int32); ok {
			return x
		}
		if n, ok := ToInt64(v); ok {
			return int32(n)
		}
	case rtype.Float64:
		if x, ok := v.(float64); ok {
			return x
		}
		if f, ok := ToFloat64(v); ok {
			return f
		}
	case rtype.Float32:
		if f, ok := ToFloat64(v); ok {
			return float32(f)
		}
	case rtype.Decimal:
		d, ok := ToDecimal(v)
		if !ok {
			return nil
		}
		// Values carry the declared scale (4 → 4.00 in decimal(10,2)), so
		// equal values encode alike as keys and print as SQL engines do.
		if d.Form == apd.Finite && -d.Exponent != int32(t.Scale) {
			return Quantize(d, t.Scale)
		}
		return d
	}
	return v
}
