package expr

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
)

func allIdent(path []string) bool {
	for _, p := range path {
		if !IsIdent(p) {
			return false
		}
	}
	return len(path) > 0
}

var infix = map[ir.Fn]string{
	ir.FnAdd: "+", ir.FnSub: "-", ir.FnMul: "*", ir.FnDiv: "/", ir.FnMod: "%",
	ir.FnEq: "==", ir.FnNe: "!=", ir.FnLt: "<", ir.FnLe: "<=", ir.FnGt: ">", ir.FnGe: ">=",
	ir.FnAnd: "&&", ir.FnOr: "||",
}

var member = map[ir.Fn]string{
	ir.FnContains: "contains", ir.FnStartsWith: "startsWith", ir.FnEndsWith: "endsWith", ir.FnMatches: "matches",
}

// Unparse renders a single-input expression (references to input 0 of the
// current row; no join sides or pattern variables) as CEL text that checks
// and lowers back to the same tree. Passes that rewrite expressions use it
// to keep Expr.Text a valid CEL source of the tree. It reports false for a
// tree it cannot render.
func Unparse(e *ir.Expr) (string, bool) {
	var b strings.Builder
	ok := unparse(&b, e)
	return b.String(), ok
}

func unparse(b *strings.Builder, e *ir.Expr) bool {
	if e == nil {
		return false
	}
	switch e.Kind {
	case ir.Lit:
		return literal(b, e)
	case ir.Ref:
		if e.Input != 0 || e.Var != "" || len(e.Path) == 0 {
			return false
		}
		if IsIdent(e.Path[0]) {
			b.WriteString(e.Path[0])
		} else {
			b.WriteString("row[" + celQuote(e.Path[0]) + "]")
		}
		for _, p := range e.Path[1:] {
			if !IsIdent(p) {
				return false
			}
			b.WriteString("." + p)
		}
		return true
	case ir.ListExpr:
		b.WriteByte('[')
		for i, a := range e.Args {
			if i > 0 {
				b.WriteString(", ")
			}
			if !unparse(b, a) {
				return false
			}
		}
		b.WriteByte(']')
		return true
	case ir.Call:
		return call(b, e)
	}
	return false
}

func call(b *strings.Builder, e *ir.Expr) bool {
	args := e.Args
	arg := func(i int) bool { return i < len(args) && unparse(b, args[i]) }
	if op, ok := infix[e.Fn]; ok && len(args) == 2 {
		b.WriteByte('(')
		ok := arg(0)
		b.WriteString(" " + op + " ")
		ok = ok && arg(1)
		b.WriteByte(')')
		return ok
	}
	if m, ok := member[e.Fn]; ok && len(args) == 2 {
		b.WriteByte('(')
		ok := arg(0)
		b.WriteString(")." + m + "(")
		ok = ok && arg(1)
		b.WriteByte(')')
		return ok
	}
	switch e.Fn {
	case ir.FnNot, ir.FnNeg:
		if e.Fn == ir.FnNot {
			b.WriteString("!(")
		} else {
			b.WriteString("-(")
		}
		ok := arg(0)
		b.WriteByte(')')
		return ok && len(args) == 1
	case ir.FnHas:
		if r := args[0]; r.Kind == ir.Ref && r.Input == 0 && r.Var == "" && allIdent(r.Path) {
			b.WriteString("has(row." + strings.Join(r.Path, ".") + ")")
			return true
		}
		return false
	case ir.FnIsNull:
		b.WriteByte('(')
		ok := arg(0)
		b.WriteString(" == null)")
		return ok
	case ir.FnCond:
		b.WriteByte('(')
		ok := arg(0)
		b.WriteString(" ? ")
		ok = ok && arg(1)
		b.WriteString(" : ")
		ok = ok && arg(2)
		b.WriteByte(')')
		return ok
	case ir.FnIn:
		b.WriteByte('(')
		ok := arg(0)
		b.WriteString(" in ")
		ok = ok && arg(1)
		b.WriteByte(')')
		return ok
	case ir.FnIndex:
		ok := arg(0)
		b.WriteByte('[')
		ok = ok && arg(1)
		b.WriteByte(']')
		return ok
	case ir.FnToDecimal:
		b.WriteString("decimal(")
		ok := arg(0)
		fmt.Fprintf(b, ", %d, %d)", e.Type.Precision, e.Type.Scale)
		return ok
	}
	if e.Fn.IsAggregate() {
		return false
	}
	name := string(e.Fn)
	for k, v := range scalarFns {
		if v == e.Fn {
			name = k
			break
		}
	}
	b.WriteString(name + "(")
	for i := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		if !arg(i) {
			return false
		}
	}
	b.WriteByte(')')
	return true
}

func literal(b *strings.Builder, e *ir.Expr) bool {
	switch v := e.Value.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		if v < 0 {
			fmt.Fprintf(b, "(%d)", v)
		} else {
			fmt.Fprintf(b, "%d", v)
		}
	case float64:
		f := strconv.FormatFloat(v, 'g', -1, 64)
		if strings.ContainsAny(f, "IN") { // Inf, NaN: not CEL literals
			return false
		}
		if !strings.ContainsAny(f, ".e") {
			f += ".0"
		}
		if v < 0 {
			f = "(" + f + ")"
		}
		b.WriteString(f)
	case ir.Decimal:
		s := string(v)
		if strings.HasPrefix(s, "-") {
			s = "(" + s + ")"
		}
		b.WriteString(s)
	case string:
		b.WriteString(celQuote(v))
	case []byte:
		b.WriteString("b" + celQuote(string(v)))
	case time.Duration:
		b.WriteString("duration(" + celQuote(ir.Dur(v)) + ")")
	default:
		return false
	}
	return true
}

// celQuote quotes s as a CEL string literal (Go's escapes are a subset of
// CEL's for printable text; other bytes use \x, \u, \U, which CEL reads).
func celQuote(s string) string { return strconv.Quote(s) }
