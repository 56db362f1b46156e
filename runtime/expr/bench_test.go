package expr_test

import (
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

var tradeT = rtype.RecordOf(
	rtype.Field{Name: "symbol", Type: rtype.StringType},
	rtype.Field{Name: "venue", Type: rtype.StringType},
	rtype.Field{Name: "price", Type: rtype.DecimalOf(18, 6)},
	rtype.Field{Name: "size", Type: rtype.Int64Type},
	rtype.Field{Name: "ts", Type: rtype.TimestampMillis},
)

func ref(n string, t *rtype.Type) *ir.Expr { return &ir.Expr{Kind: ir.Ref, Path: []string{n}, Type: t} }
func lit(v any, t *rtype.Type) *ir.Expr    { return &ir.Expr{Kind: ir.Lit, Value: v, Type: t} }
func call(fn ir.Fn, t *rtype.Type, a ...*ir.Expr) *ir.Expr {
	return &ir.Expr{Kind: ir.Call, Fn: fn, Type: t, Args: a}
}

var (
	filterExpr = call(ir.FnAnd, rtype.BoolType,
		call(ir.FnNe, rtype.BoolType, ref("venue", rtype.StringType), lit("DARK", rtype.StringType)),
		call(ir.FnGt, rtype.BoolType, ref("size", rtype.Int64Type), lit(int64(0), rtype.Int64Type)))
	pvExpr = call(ir.FnMul, rtype.DecimalOf(38, 6), ref("price", rtype.DecimalOf(18, 6)), ref("size", rtype.Int64Type))
	trade  = row.Row{"AAPL", "XNAS", apd.New(228500000, -6), int64(300), time.Unix(0, 0)}
)

// generatedFilter is what a Go generator would emit for the filter.
func generatedFilter(r row.Row) any {
	v, ok1 := r[1].(string)
	s, ok2 := r[3].(int64)
	if !ok1 || !ok2 {
		return nil
	}
	return v != "DARK" && s > 0
}

func generatedPV(r row.Row) any {
	p, ok1 := r[2].(*apd.Decimal)
	s, ok2 := r[3].(int64)
	if !ok1 || !ok2 {
		return nil
	}
	d := new(apd.Decimal)
	_, _ = expr.DecCtx.Mul(d, p, apd.New(s, 0))
	return d
}

func TestClosuresMatchGenerated(t *testing.T) {
	o := &expr.Options{Inputs: [2]*rtype.Type{tradeT}}
	f, err := expr.Compile(filterExpr, o)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := expr.Compile(pvExpr, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []row.Row{trade, {"X", "DARK", apd.New(1, 0), int64(5), time.Unix(0, 0)}, {"X", "XNYS", apd.New(1, 0), int64(0), time.Unix(0, 0)}, {"X", nil, nil, int64(1), time.Unix(0, 0)}} {
		env := &expr.Env{Rows: [2]row.Row{r}}
		if got, want := f(env), generatedFilter(r); got != want {
			t.Errorf("%v: filter %v, want %v", r, got, want)
		}
		got, want := pv(env), generatedPV(r)
		if (got == nil) != (want == nil) || (got != nil && got.(*apd.Decimal).Cmp(want.(*apd.Decimal)) != 0) {
			t.Errorf("%v: price*size %v, want %v", r, got, want)
		}
	}
}

func BenchmarkFilterClosures(b *testing.B) {
	f, _ := expr.Compile(filterExpr, &expr.Options{Inputs: [2]*rtype.Type{tradeT}})
	env := &expr.Env{Rows: [2]row.Row{trade}}
	for b.Loop() {
		f(env)
	}
}

func BenchmarkFilterGeneratedGo(b *testing.B) {
	for b.Loop() {
		generatedFilter(trade)
	}
}

func BenchmarkDecimalMulClosures(b *testing.B) {
	f, _ := expr.Compile(pvExpr, &expr.Options{Inputs: [2]*rtype.Type{tradeT}})
	env := &expr.Env{Rows: [2]row.Row{trade}}
	for b.Loop() {
		f(env)
	}
}

func BenchmarkDecimalMulGeneratedGo(b *testing.B) {
	for b.Loop() {
		generatedPV(trade)
	}
}
