package pgsink

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5/pgtype"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

// converter turns a row value into a value pgx encodes exactly.
type converter func(any) (any, error)

// converterFor returns the conversion for a column of type t.
func converterFor(t *rtype.Type) (converter, error) {
	if _, err := ColumnType(t); err != nil {
		return nil, err
	}
	switch t.Kind {
	case rtype.String:
		return func(v any) (any, error) {
			s, ok := v.(string)
			if !ok {
				return nil, typeErr(t, v)
			}
			if strings.IndexByte(s, 0) >= 0 {
				return nil, fmt.Errorf("string %q contains a NUL byte, which PostgreSQL text cannot store", s)
			}
			return s, nil
		}, nil
	case rtype.Bool, rtype.Int32, rtype.Int64, rtype.Float32, rtype.Float64, rtype.Bytes:
		return func(v any) (any, error) {
			if !goTypeOK(t.Kind, v) {
				return nil, typeErr(t, v)
			}
			return v, nil
		}, nil
	case rtype.Decimal:
		return func(v any) (any, error) {
			d, ok := v.(*apd.Decimal)
			if !ok || d == nil {
				return nil, typeErr(t, v)
			}
			switch d.Form {
			case apd.NaN, apd.NaNSignaling:
				return nil, fmt.Errorf("decimal NaN cannot be stored in numeric(%d,%d)", t.Precision, t.Scale)
			case apd.Infinite:
				return nil, fmt.Errorf("decimal infinity cannot be stored in numeric(%d,%d)", t.Precision, t.Scale)
			}
			u, err := encode.Unscaled(d, t.Precision, t.Scale)
			if err != nil {
				return nil, err
			}
			return pgtype.Numeric{Int: u, Exp: int32(-t.Scale), Valid: true}, nil
		}, nil
	case rtype.Timestamp:
		return func(v any) (any, error) {
			x, ok := v.(time.Time)
			if !ok {
				return nil, typeErr(t, v)
			}
			x, err := encode.CheckTime(x, t.Precision)
			if err != nil {
				return nil, err
			}
			return x, nil
		}, nil
	case rtype.Date:
		return func(v any) (any, error) {
			x, ok := v.(time.Time)
			if !ok {
				return nil, typeErr(t, v)
			}
			x = x.UTC()
			if x.Hour() != 0 || x.Minute() != 0 || x.Second() != 0 || x.Nanosecond() != 0 {
				return nil, fmt.Errorf("date %s is not at 00:00 UTC", x.Format(time.RFC3339Nano))
			}
			return pgtype.Date{Time: x, Valid: true}, nil
		}, nil
	case rtype.Duration:
		return func(v any) (any, error) {
			x, ok := v.(time.Duration)
			if !ok {
				return nil, typeErr(t, v)
			}
			if x%time.Microsecond != 0 {
				return nil, fmt.Errorf("duration %s has sub-microsecond digits; PostgreSQL intervals keep microseconds", x)
			}
			return pgtype.Interval{Microseconds: int64(x / time.Microsecond), Valid: true}, nil
		}, nil
	case rtype.List:
		if isArrayElem(t.Elem) {
			elem, err := converterFor(t.Elem)
			if err != nil {
				return nil, err
			}
			return func(v any) (any, error) {
				xs, ok := v.([]any)
				if !ok {
					return nil, typeErr(t, v)
				}
				out := make([]any, len(xs))
				for i, x := range xs {
					if x == nil {
						continue
					}
					var err error
					if out[i], err = elem(x); err != nil {
						return nil, fmt.Errorf("[%d]: %w", i, err)
					}
				}
				return out, nil
			}, nil
		}
	}
	// jsonb: lists of composites, maps, records in the shared JSON form.
	return func(v any) (any, error) {
		b, err := encode.AppendJSON(nil, t, v)
		if err != nil {
			return nil, err
		}
		return json.RawMessage(b), nil
	}, nil
}

func goTypeOK(k rtype.Kind, v any) bool {
	switch k {
	case rtype.Bool:
		_, ok := v.(bool)
		return ok
	case rtype.Int32:
		_, ok := v.(int32)
		return ok
	case rtype.Int64:
		_, ok := v.(int64)
		return ok
	case rtype.Float32:
		_, ok := v.(float32)
		return ok
	case rtype.Float64:
		_, ok := v.(float64)
		return ok
	case rtype.Bytes:
		_, ok := v.([]byte)
		return ok
	}
	return false
}

func typeErr(t *rtype.Type, v any) error {
	return fmt.Errorf("value of Go type %T where %s is expected", v, t)
}

// keyOf renders a row's key columns canonically, to keep the last row per
// key within a batch (ON CONFLICT cannot touch one row twice in a statement).
func keyOf(b []byte, rec *rtype.Type, keyIdx []int, r row.Row) ([]byte, error) {
	for _, i := range keyIdx {
		var err error
		if b, err = encode.AppendJSON(b, rec.Fields[i].Type, r[i]); err != nil {
			return b, err
		}
		b = append(b, 0)
	}
	return b, nil
}
