// Package encode converts runtime rows (runtime/row) to the wire forms the
// sinks write: JSON, Avro (hamba/avro native values and schemas) and the
// exact decimal and timestamp forms every format shares. Conversions are
// exact or fail: a decimal that does not fit its declared decimal(p,s) or a
// timestamp with digits beyond its declared precision is an error, never a
// rounding.
package encode

import (
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/rtype"
)

var bigTen = big.NewInt(10)

// Unscaled returns the integer u with d = u × 10^−scale, checking that d has
// at most scale fractional digits (trailing zeros aside) and at most
// precision digits in all. NaN and infinities have no unscaled form.
func Unscaled(d *apd.Decimal, precision, scale int) (*big.Int, error) {
	if d == nil {
		return nil, fmt.Errorf("nil decimal")
	}
	if d.Form != apd.Finite {
		return nil, fmt.Errorf("decimal %s has no value in decimal(%d,%d)", d.String(), precision, scale)
	}
	u := new(big.Int).Set(d.Coeff.MathBigInt())
	exp := int(d.Exponent)
	switch {
	case -exp < scale: // too few fractional digits: pad with zeros
		u.Mul(u, new(big.Int).Exp(bigTen, big.NewInt(int64(scale+exp)), nil))
	case -exp > scale: // too many: only trailing zeros may go
		div := new(big.Int).Exp(bigTen, big.NewInt(int64(-exp-scale)), nil)
		q, r := new(big.Int).QuoRem(u, div, new(big.Int))
		if r.Sign() != 0 {
			return nil, fmt.Errorf("decimal %s has more than %d fractional digits (decimal(%d,%d))", d.Text('f'), scale, precision, scale)
		}
		u = q
	}
	if precision > 0 && len(u.Text(10)) > precision && u.Sign() != 0 {
		return nil, fmt.Errorf("decimal %s has more than %d digits (decimal(%d,%d))", d.Text('f'), precision, precision, scale)
	}
	if d.Negative {
		u.Neg(u)
	}
	return u, nil
}

// DecimalText renders d with exactly scale fractional digits ("12.500000"
// for decimal(18,6)), after the checks of [Unscaled].
func DecimalText(d *apd.Decimal, precision, scale int) (string, error) {
	u, err := Unscaled(d, precision, scale)
	if err != nil {
		return "", err
	}
	return apd.NewWithBigInt(new(apd.BigInt).SetMathBigInt(u), int32(-scale)).Text('f'), nil
}

// AppendDecimal appends the text of [DecimalText]; values already at the
// scale with a coefficient below 10^18 skip the big-integer arithmetic.
func AppendDecimal(b []byte, d *apd.Decimal, precision, scale int) ([]byte, error) {
	if d != nil && d.Form == apd.Finite && int(d.Exponent) == -scale && d.Coeff.IsUint64() && d.Coeff.Uint64() < 1e18 {
		var buf [20]byte
		digits := strconv.AppendUint(buf[:0], d.Coeff.Uint64(), 10)
		if digits[0] == '0' {
			digits = digits[:0]
		}
		if precision <= 0 || len(digits) <= precision {
			if d.Negative && len(digits) > 0 {
				b = append(b, '-')
			}
			if len(digits) <= scale {
				b = append(b, '0')
				if scale > 0 {
					b = append(b, '.')
				}
				for range scale - len(digits) {
					b = append(b, '0')
				}
				return append(b, digits...), nil
			}
			b = append(b, digits[:len(digits)-scale]...)
			if scale > 0 {
				b = append(b, '.')
				b = append(b, digits[len(digits)-scale:]...)
			}
			return b, nil
		}
	}
	s, err := DecimalText(d, precision, scale)
	if err != nil {
		return b, err
	}
	return append(b, s...), nil
}

// Rat returns d as an exact rational (hamba/avro's decimal form).
func Rat(d *apd.Decimal, precision, scale int) (*big.Rat, error) {
	u, err := Unscaled(d, precision, scale)
	if err != nil {
		return nil, err
	}
	return new(big.Rat).SetFrac(u, new(big.Int).Exp(bigTen, big.NewInt(int64(scale)), nil)), nil
}

// CheckTime checks that t has no digits beyond precision (0–9 fractional
// second digits) and returns it in UTC.
func CheckTime(t time.Time, precision int) (time.Time, error) {
	if precision < 0 || precision > 9 {
		return t, fmt.Errorf("timestamp precision %d is not 0–9", precision)
	}
	if precision < 9 {
		unit := int(pow10[9-precision])
		if t.Nanosecond()%unit != 0 {
			return t, fmt.Errorf("timestamp %s has more than %d fractional digits", t.UTC().Format(time.RFC3339Nano), precision)
		}
	}
	return t.UTC(), nil
}

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// TimeText renders t as RFC 3339 in UTC with exactly precision fractional
// digits: "2026-11-26T09:30:00.125Z" for timestamp(3).
func TimeText(t time.Time, precision int) (string, error) {
	b, err := AppendTime(nil, t, precision)
	return string(b), err
}

// AppendTime appends the text of [TimeText].
func AppendTime(b []byte, t time.Time, precision int) ([]byte, error) {
	if precision < 0 || precision > 9 {
		return b, fmt.Errorf("timestamp precision %d is not 0–9", precision)
	}
	t, err := CheckTime(t, precision)
	if err != nil {
		return b, err
	}
	return t.AppendFormat(b, timeLayouts[precision]), nil
}

var timeLayouts = func() (l [10]string) {
	for p := range l {
		l[p] = "2006-01-02T15:04:05"
		if p > 0 {
			l[p] += "." + "000000000"[:p]
		}
		l[p] += "Z07:00"
	}
	return l
}()

// typeError reports a Go value that is not the row contract's type for t.
func typeError(t *rtype.Type, v any) error {
	return fmt.Errorf("value of Go type %T where %s is expected", v, t)
}
