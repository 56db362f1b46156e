package expr

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/runtime/row"
)

// DecCtx is the context of every decimal operation: 38 digits (the widest
// declared precision), half-up rounding, as SQL engines do.
var DecCtx = func() *apd.Context {
	c := apd.BaseContext.WithPrecision(38)
	c.Rounding = apd.RoundHalfUp
	return c
}()

// ToInt64 converts a numeric value to int64 (truncating floats/decimals).
func ToInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case float64:
		return int64(x), true
	case float32:
		return int64(x), true
	case *apd.Decimal:
		var i apd.Decimal
		_, _ = DecCtx.RoundToIntegralValue(&i, x)
		n, err := i.Int64()
		return n, err == nil
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case time.Duration:
		return int64(x), true
	}
	return 0, false
}

// ToFloat64 converts a numeric value to float64.
func ToFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case *apd.Decimal:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// ToDecimal converts a numeric value to a new decimal.
func ToDecimal(v any) (*apd.Decimal, bool) {
	switch x := v.(type) {
	case *apd.Decimal:
		return x, true
	case int64:
		return apd.New(x, 0), true
	case int32:
		return apd.New(int64(x), 0), true
	case float64:
		d, err := new(apd.Decimal).SetFloat64(x)
		return d, err == nil
	case float32:
		d, err := new(apd.Decimal).SetFloat64(float64(x))
		return d, err == nil
	case string:
		d, _, err := apd.NewFromString(x)
		return d, err == nil
	}
	return nil, false
}

// numClass orders numeric representations for promotion.
type numClass int

const (
	ncNone numClass = iota
	ncInt
	ncDec
	ncFloat
)

func classOf(v any) numClass {
	switch v.(type) {
	case int64, int32:
		return ncInt
	case *apd.Decimal:
		return ncDec
	case float64, float32:
		return ncFloat
	}
	return ncNone
}

// Compare orders two non-null values of compatible types: -1, 0, 1. ok is
// false when they are not comparable.
func Compare(a, b any) (int, bool) {
	ca, cb := classOf(a), classOf(b)
	if ca != ncNone && cb != ncNone {
		c := max(ca, cb)
		switch c {
		case ncInt:
			x, _ := ToInt64(a)
			y, _ := ToInt64(b)
			return cmp3(x < y, x > y), true
		case ncFloat:
			x, _ := ToFloat64(a)
			y, _ := ToFloat64(b)
			return cmp3(x < y, x > y), true
		case ncDec:
			x, _ := ToDecimal(a)
			y, _ := ToDecimal(b)
			return x.Cmp(y), true
		}
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), true
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmp3(!x && y, x && !y), true
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y), true
		}
	case time.Duration:
		if y, ok := b.(time.Duration); ok {
			return cmp3(x < y, x > y), true
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Compare(x, y), true
		}
	}
	return 0, false
}

func cmp3(lt, gt bool) int {
	if lt {
		return -1
	}
	if gt {
		return 1
	}
	return 0
}

// Equal reports SQL equality of two non-null values.
func Equal(a, b any) bool {
	if c, ok := Compare(a, b); ok {
		return c == 0
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if (x[i] == nil) != (y[i] == nil) || (x[i] != nil && !Equal(x[i], y[i])) {
				return false
			}
		}
		return true
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// Arith applies + - * / % to two non-null numbers in class c.
func arith(op byte, c numClass, a, b any) any {
	switch c {
	case ncInt:
		x, _ := ToInt64(a)
		y, _ := ToInt64(b)
		switch op {
		case '+':
			return x + y
		case '-':
			return x - y
		case '*':
			return x * y
		case '/':
			if y == 0 {
				return nil
			}
			return x / y
		case '%':
			if y == 0 {
				return nil
			}
			return x % y
		}
	case ncFloat:
		x, _ := ToFloat64(a)
		y, _ := ToFloat64(b)
		switch op {
		case '+':
			return x + y
		case '-':
			return x - y
		case '*':
			return x * y
		case '/':
			if y == 0 {
				return nil
			}
			return x / y
		case '%':
			if y == 0 {
				return nil
			}
			return math.Mod(x, y)
		}
	case ncDec:
		x, ok1 := ToDecimal(a)
		y, ok2 := ToDecimal(b)
		if !ok1 || !ok2 {
			return nil
		}
		d := new(apd.Decimal)
		var err error
		switch op {
		case '+':
			_, err = DecCtx.Add(d, x, y)
		case '-':
			_, err = DecCtx.Sub(d, x, y)
		case '*':
			_, err = DecCtx.Mul(d, x, y)
		case '/':
			if y.IsZero() {
				return nil
			}
			_, err = DecCtx.Quo(d, x, y)
		case '%':
			if y.IsZero() {
				return nil
			}
			_, err = DecCtx.Rem(d, x, y)
		}
		if err != nil {
			return nil
		}
		return d
	}
	return nil
}

// Quantize rounds d to scale digits after the point (half up); a new value.
func Quantize(d *apd.Decimal, scale int) *apd.Decimal {
	out := new(apd.Decimal)
	if _, err := DecCtx.Quantize(out, d, -int32(scale)); err != nil {
		return d
	}
	return out
}

// Truthy is SQL truth: only true is true.
func Truthy(v any) bool {
	b, ok := v.(bool)
	return ok && b
}

// KeyString is a value's grouping identity (its row encoding).
func KeyString(v any) string { return string(row.AppendValue(nil, v)) }
