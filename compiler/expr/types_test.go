package expr

import (
	"testing"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

func TestArith(t *testing.T) {
	d := rtype.DecimalOf
	for _, tc := range []struct {
		fn   ir.Fn
		a, b *rtype.Type
		want string
	}{
		{ir.FnAdd, rtype.Int32Type, rtype.Int32Type, "int32"},
		{ir.FnAdd, rtype.Int32Type, rtype.Int64Type, "int64"},
		{ir.FnMul, rtype.Int64Type, rtype.Float32Type, "float64"},
		{ir.FnAdd, d(18, 6), d(10, 2), "decimal(19,6)"},
		{ir.FnSub, d(18, 6), rtype.Int64Type, "decimal(26,6)"},
		{ir.FnMul, d(18, 6), d(10, 2), "decimal(28,8)"},
		{ir.FnMul, d(30, 10), d(30, 10), "decimal(38,20)"},
		{ir.FnDiv, d(18, 2), rtype.Int64Type, "decimal(38,6)"},
		{ir.FnDiv, d(18, 8), d(4, 1), "decimal(38,8)"},
		{ir.FnMod, d(10, 2), d(5, 0), "decimal(10,2)"},
		{ir.FnMul, d(18, 6), rtype.Float64Type, "float64"},
		{ir.FnAdd, rtype.TimestampMillis, rtype.DurationType, "timestamp(3)"},
		{ir.FnSub, rtype.TimestampMillis, rtype.TimestampMillis, "duration"},
		{ir.FnAdd, rtype.StringType, rtype.StringType, "string"},
		{ir.FnSub, rtype.StringType, rtype.StringType, "<nil>"},
		{ir.FnAdd, rtype.BoolType, rtype.Int64Type, "<nil>"},
	} {
		if got := Arith(tc.fn, tc.a, tc.b).String(); got != tc.want {
			t.Errorf("%s(%s, %s) = %s, want %s", tc.fn, tc.a, tc.b, got, tc.want)
		}
	}
}

func TestCommonAndAggregates(t *testing.T) {
	d := rtype.DecimalOf
	for _, tc := range []struct {
		a, b *rtype.Type
		want string
	}{
		{rtype.Int32Type, rtype.Int64Type, "int64"},
		{d(10, 2), rtype.Int32Type, "decimal(12,2)"},
		{d(10, 2), d(12, 4), "decimal(12,4)"},
		{rtype.TimestampOf(3), rtype.TimestampOf(6), "timestamp(6)"},
		{rtype.StringType, rtype.Int64Type, "<nil>"},
	} {
		if got := Common(tc.a, tc.b).String(); got != tc.want {
			t.Errorf("Common(%s, %s) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
	for _, tc := range []struct {
		fn   ir.Fn
		arg  *rtype.Type
		want string
	}{
		{ir.FnCount, nil, "int64"}, {ir.FnSum, rtype.Int32Type, "int64"}, {ir.FnSum, d(18, 6), "decimal(38,6)"},
		{ir.FnSum, rtype.Float32Type, "float64"}, {ir.FnAvg, rtype.Int64Type, "float64"}, {ir.FnAvg, d(18, 2), "decimal(38,6)"},
		{ir.FnAvg, d(18, 8), "decimal(38,8)"}, {ir.FnMax, rtype.StringType, "string"}, {ir.FnStddev, d(18, 6), "float64"},
		{ir.FnTop, rtype.Int64Type, "list<int64>"}, {ir.FnSum, rtype.StringType, "invalid"},
	} {
		if got := AggResult(tc.fn, tc.arg).String(); got != tc.want {
			t.Errorf("%s(%v) = %s, want %s", tc.fn, tc.arg, got, tc.want)
		}
	}
	for text, want := range map[string]string{"0.02": "decimal(2,2)", "100": "decimal(3,0)", "0.0": "decimal(1,1)", "1e3": "<nil>", "007.50": "decimal(3,2)"} {
		if got := DecimalLit(text).String(); got != want {
			t.Errorf("DecimalLit(%q) = %s, want %s", text, got, want)
		}
	}
}
