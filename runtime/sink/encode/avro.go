package encode

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// The Avro form of a record type:
//
//	string, boolean, int, long, float, double, bytes as themselves
//	decimal(p,s)  bytes, logicalType decimal, precision p, scale s
//	timestamp(p)  long: timestamp-millis (p ≤ 3), timestamp-micros (p ≤ 6),
//	              timestamp-nanos (Avro 1.12) beyond
//	date          int, logicalType date
//	duration      long nanoseconds
//	list, map     array, map; items and values are not nullable (a nil
//	              element is an error), as runtime/format's Kafka decoder
//	              reads them
//	record        record named rec1, rec2… in depth-first order
//	nullable      ["null", T] with default null
//
// Avro names must match [A-Za-z_][A-Za-z0-9_]*; a field name that does not
// is an error, never a silent rename.

// AvroSchema returns the Avro schema (JSON) of a record type. name is the
// top-level record's name ("" → "Row"); it must be an Avro name.
func AvroSchema(rec *rtype.Type, name string) (string, error) {
	if name == "" {
		name = "Row"
	}
	if !avroName(name) {
		return "", fmt.Errorf("record name %q is not an Avro name ([A-Za-z_][A-Za-z0-9_]*)", name)
	}
	if rec == nil || rec.Kind != rtype.Record {
		return "", fmt.Errorf("type %s is not a record", rec)
	}
	g := &avroGen{}
	s, err := g.record(rec, name)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(s)
	return string(b), err
}

// CheckAvroNames reports the first field name (at any depth) that Avro
// cannot represent.
func CheckAvroNames(rec *rtype.Type) error {
	_, err := AvroSchema(rec, "")
	return err
}

type avroGen struct{ n int }

// ordered JSON object: Avro schemas are compared textually by some tools,
// so key order is fixed.
type obj []kv
type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, e := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, e.k)
		b = append(b, ':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
	}
	return append(b, '}'), nil
}

func (g *avroGen) record(t *rtype.Type, name string) (any, error) {
	fields := make([]any, 0, len(t.Fields))
	for _, f := range t.Fields {
		if !avroName(f.Name) {
			return nil, fmt.Errorf("field name %q is not an Avro name ([A-Za-z_][A-Za-z0-9_]*)", f.Name)
		}
		ft, err := g.typ(f.Type)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		if f.Nullable {
			fields = append(fields, obj{{"name", f.Name}, {"type", []any{"null", ft}}, {"default", nil}})
		} else {
			fields = append(fields, obj{{"name", f.Name}, {"type", ft}})
		}
	}
	return obj{{"type", "record"}, {"name", name}, {"fields", fields}}, nil
}

// elem is the schema of a list element or map value.
func (g *avroGen) elem(t *rtype.Type) (any, error) { return g.typ(t) }

func (g *avroGen) typ(t *rtype.Type) (any, error) {
	switch t.Kind {
	case rtype.String:
		return "string", nil
	case rtype.Bool:
		return "boolean", nil
	case rtype.Int32:
		return "int", nil
	case rtype.Int64, rtype.Duration:
		return "long", nil
	case rtype.Float32:
		return "float", nil
	case rtype.Float64:
		return "double", nil
	case rtype.Bytes:
		return "bytes", nil
	case rtype.Decimal:
		return obj{{"type", "bytes"}, {"logicalType", "decimal"}, {"precision", t.Precision}, {"scale", t.Scale}}, nil
	case rtype.Timestamp:
		lt := "timestamp-nanos"
		switch {
		case t.Precision <= 3:
			lt = "timestamp-millis"
		case t.Precision <= 6:
			lt = "timestamp-micros"
		}
		return obj{{"type", "long"}, {"logicalType", lt}}, nil
	case rtype.Date:
		return obj{{"type", "int"}, {"logicalType", "date"}}, nil
	case rtype.List:
		e, err := g.elem(t.Elem)
		if err != nil {
			return nil, err
		}
		return obj{{"type", "array"}, {"items", e}}, nil
	case rtype.Map:
		e, err := g.elem(t.Elem)
		if err != nil {
			return nil, err
		}
		return obj{{"type", "map"}, {"values", e}}, nil
	case rtype.Record:
		g.n++
		return g.record(t, "rec"+strconv.Itoa(g.n))
	}
	return nil, fmt.Errorf("type %s has no Avro form", t)
}

func avroName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// AvroBinary encodes rows of a record type as Avro binary data under the
// schema of [AvroSchema], directly (no reflection; map entries sorted by
// key, so equal rows give equal bytes).
type AvroBinary struct {
	enc func(b []byte, v any) ([]byte, error)
}

// NewAvroBinary prepares the encoder for rows of rec.
func NewAvroBinary(rec *rtype.Type) (*AvroBinary, error) {
	if err := CheckAvroNames(rec); err != nil {
		return nil, err
	}
	enc, err := avroEnc(rec)
	if err != nil {
		return nil, err
	}
	return &AvroBinary{enc: enc}, nil
}

// Append appends the Avro binary encoding of r.
func (a *AvroBinary) Append(b []byte, r row.Row) ([]byte, error) { return a.enc(b, r) }

func appendLong(b []byte, n int64) []byte {
	return binary.AppendUvarint(b, uint64((n<<1)^(n>>63)))
}

func appendBytes(b, p []byte) []byte {
	return append(appendLong(b, int64(len(p))), p...)
}

// twos returns u as big-endian two's complement (the Avro decimal form).
func twos(u *big.Int) []byte {
	n := (u.BitLen() + 8) / 8
	out := make([]byte, n)
	if u.Sign() >= 0 {
		return u.FillBytes(out)
	}
	m := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	return m.Add(m, u).FillBytes(out)
}

func avroEnc(t *rtype.Type) (func([]byte, any) ([]byte, error), error) {
	bad := func(v any) error { return typeError(t, v) }
	switch t.Kind {
	case rtype.String:
		return func(b []byte, v any) ([]byte, error) {
			s, ok := v.(string)
			if !ok {
				return b, bad(v)
			}
			return append(appendLong(b, int64(len(s))), s...), nil
		}, nil
	case rtype.Bool:
		return func(b []byte, v any) ([]byte, error) {
			x, ok := v.(bool)
			if !ok {
				return b, bad(v)
			}
			if x {
				return append(b, 1), nil
			}
			return append(b, 0), nil
		}, nil
	case rtype.Int32:
		return func(b []byte, v any) ([]byte, error) {
			x, ok := v.(int32)
			if !ok {
				return b, bad(v)
			}
			return appendLong(b, int64(x)), nil
		}, nil
	case rtype.Int64:
		return func(b []byte, v any) ([]byte, error) {
			x, ok := v.(int64)
			if !ok {
				return b, bad(v)
			}
			return appendLong(b, x), nil
		}, nil
	case rtype.Duration:
		return func(b []byte, v any) ([]byte, error) {
			x, ok := v.(time.Duration)
			if !ok {
				return b, bad(v)
			}
			return appendLong(b, int64(x)), nil
		}, nil
	case rtype.Float32:
		return func(b []byte, v any) ([]byte, error) {
			x, ok := v.(float32)
			if !ok {
				return b, bad(v)
			}
			return binary.LittleEndian.AppendUint32(b, math.Float32bits(x)), nil
		}, nil
	case rtype.Float64:
		return func(b []byte, v any) ([]byte, error) {
			x, ok := v.(float64)
			if !ok {
				return b, bad(v)
			}
			return binary.LittleEndian.AppendUint64(b, math.Float64bits(x)), nil
		}, nil
	case rtype.Bytes:
		return func(b []byte, v any) ([]byte, error) {
			x, ok := v.([]byte)
			if !ok {
				return b, bad(v)
			}
			return appendBytes(b, x), nil
		}, nil
	case rtype.Decimal:
		return func(b []byte, v any) ([]byte, error) {
			d, ok := v.(*apd.Decimal)
			if !ok || d == nil {
				return b, bad(v)
			}
			u, err := Unscaled(d, t.Precision, t.Scale)
			if err != nil {
				return b, err
			}
			return appendBytes(b, twos(u)), nil
		}, nil
	case rtype.Timestamp:
		unit := int64(time.Nanosecond)
		switch {
		case t.Precision <= 3:
			unit = int64(time.Millisecond)
		case t.Precision <= 6:
			unit = int64(time.Microsecond)
		}
		return func(b []byte, v any) ([]byte, error) {
			x, ok := v.(time.Time)
			if !ok {
				return b, bad(v)
			}
			x, err := CheckTime(x, t.Precision)
			if err != nil {
				return b, err
			}
			return appendLong(b, x.Unix()*(int64(time.Second)/unit)+int64(x.Nanosecond())/unit), nil
		}, nil
	case rtype.Date:
		return func(b []byte, v any) ([]byte, error) {
			x, ok := v.(time.Time)
			if !ok {
				return b, bad(v)
			}
			sec := x.UTC().Unix()
			days := sec / 86400
			if sec%86400 < 0 {
				days--
			}
			return appendLong(b, days), nil
		}, nil
	case rtype.List:
		elem, err := avroEnc(t.Elem)
		if err != nil {
			return nil, err
		}
		return func(b []byte, v any) ([]byte, error) {
			xs, ok := v.([]any)
			if !ok {
				return b, bad(v)
			}
			if len(xs) > 0 {
				b = appendLong(b, int64(len(xs)))
				for i, x := range xs {
					if x == nil {
						return b, fmt.Errorf("[%d]: null list element (Avro array items are not nullable)", i)
					}
					var err error
					if b, err = elem(b, x); err != nil {
						return b, fmt.Errorf("[%d]: %w", i, err)
					}
				}
			}
			return append(b, 0), nil
		}, nil
	case rtype.Map:
		elem, err := avroEnc(t.Elem)
		if err != nil {
			return nil, err
		}
		return func(b []byte, v any) ([]byte, error) {
			xs, ok := v.(map[string]any)
			if !ok {
				return b, bad(v)
			}
			if len(xs) > 0 {
				keys := make([]string, 0, len(xs))
				for k := range xs {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				b = appendLong(b, int64(len(xs)))
				for _, k := range keys {
					if xs[k] == nil {
						return b, fmt.Errorf("[%q]: null map value (Avro map values are not nullable)", k)
					}
					b = append(appendLong(b, int64(len(k))), k...)
					var err error
					if b, err = elem(b, xs[k]); err != nil {
						return b, fmt.Errorf("[%q]: %w", k, err)
					}
				}
			}
			return append(b, 0), nil
		}, nil
	case rtype.Record:
		encs := make([]func([]byte, any) ([]byte, error), len(t.Fields))
		for i, f := range t.Fields {
			var err error
			if encs[i], err = avroEnc(f.Type); err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		return func(b []byte, v any) ([]byte, error) {
			r, ok := v.(row.Row)
			if !ok {
				return b, bad(v)
			}
			if len(r) != len(t.Fields) {
				return b, fmt.Errorf("row has %d values, record %s has %d fields", len(r), t, len(t.Fields))
			}
			for i, f := range t.Fields {
				x := r[i]
				if f.Nullable {
					if x == nil {
						b = append(b, 0) // union branch 0: null
						continue
					}
					b = append(b, 2) // union branch 1 (zigzag)
				} else if x == nil {
					return b, fmt.Errorf("field %q: null in a non-nullable field", f.Name)
				}
				var err error
				if b, err = encs[i](b, x); err != nil {
					return b, fmt.Errorf("field %q: %w", f.Name, err)
				}
			}
			return b, nil
		}, nil
	}
	return nil, fmt.Errorf("type %s has no Avro form", t)
}
