package encode

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/hamba/avro/v2"

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

// AvroRecord converts rows of a record type to hamba/avro's generic form
// (map[string]any per record) against a parsed schema from [AvroSchema].
type AvroRecord struct {
	conv func(any) (any, error)
}

// NewAvroRecord prepares conversions for rows of rec under schema.
func NewAvroRecord(schema avro.Schema, rec *rtype.Type) (*AvroRecord, error) {
	c, err := avroConv(schema, rec)
	if err != nil {
		return nil, err
	}
	return &AvroRecord{conv: c}, nil
}

// Native returns the value hamba/avro encodes for r.
func (a *AvroRecord) Native(r row.Row) (any, error) { return a.conv(r) }

func avroConv(s avro.Schema, t *rtype.Type) (func(any) (any, error), error) {
	if u, ok := s.(*avro.UnionSchema); ok {
		// ["null", T]: hamba takes a non-null value as {typeName: value}.
		var inner avro.Schema
		for _, m := range u.Types() {
			if m.Type() != avro.Null {
				inner = m
			}
		}
		if inner == nil || len(u.Types()) != 2 {
			return nil, fmt.Errorf("unexpected union %s", s)
		}
		c, err := avroConv(inner, t)
		if err != nil {
			return nil, err
		}
		name := unionName(inner)
		return func(v any) (any, error) {
			if v == nil {
				return nil, nil
			}
			x, err := c(v)
			if err != nil {
				return nil, err
			}
			return map[string]any{name: x}, nil
		}, nil
	}
	same := func(ok func(any) bool) (func(any) (any, error), error) {
		return func(v any) (any, error) {
			if !ok(v) {
				return nil, typeError(t, v)
			}
			return v, nil
		}, nil
	}
	switch t.Kind {
	case rtype.String:
		return same(func(v any) bool { _, ok := v.(string); return ok })
	case rtype.Bool:
		return same(func(v any) bool { _, ok := v.(bool); return ok })
	case rtype.Int32:
		return same(func(v any) bool { _, ok := v.(int32); return ok })
	case rtype.Int64:
		return same(func(v any) bool { _, ok := v.(int64); return ok })
	case rtype.Float32:
		return same(func(v any) bool { _, ok := v.(float32); return ok })
	case rtype.Float64:
		return same(func(v any) bool { _, ok := v.(float64); return ok })
	case rtype.Bytes:
		return same(func(v any) bool { _, ok := v.([]byte); return ok })
	case rtype.Duration:
		return func(v any) (any, error) {
			d, ok := v.(time.Duration)
			if !ok {
				return nil, typeError(t, v)
			}
			return int64(d), nil
		}, nil
	case rtype.Decimal:
		return func(v any) (any, error) {
			d, ok := v.(*apd.Decimal)
			if !ok || d == nil {
				return nil, typeError(t, v)
			}
			return Rat(d, t.Precision, t.Scale)
		}, nil
	case rtype.Timestamp:
		return func(v any) (any, error) {
			x, ok := v.(time.Time)
			if !ok {
				return nil, typeError(t, v)
			}
			x, err := CheckTime(x, t.Precision)
			if err != nil {
				return nil, err
			}
			if t.Precision > 6 {
				// timestamp-nanos is unknown to hamba: write the long.
				return x.UnixNano(), nil
			}
			return x, nil
		}, nil
	case rtype.Date:
		return func(v any) (any, error) {
			x, ok := v.(time.Time)
			if !ok {
				return nil, typeError(t, v)
			}
			return x.UTC(), nil
		}, nil
	case rtype.List:
		as, ok := s.(*avro.ArraySchema)
		if !ok {
			return nil, fmt.Errorf("schema %s for %s", s.Type(), t)
		}
		c, err := avroConv(as.Items(), t.Elem)
		if err != nil {
			return nil, err
		}
		return func(v any) (any, error) {
			xs, ok := v.([]any)
			if !ok {
				return nil, typeError(t, v)
			}
			out := make([]any, len(xs))
			for i, x := range xs {
				if x == nil {
					return nil, fmt.Errorf("[%d]: null list element (Avro array items are not nullable)", i)
				}
				var err error
				if out[i], err = c(x); err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
			}
			return out, nil
		}, nil
	case rtype.Map:
		ms, ok := s.(*avro.MapSchema)
		if !ok {
			return nil, fmt.Errorf("schema %s for %s", s.Type(), t)
		}
		c, err := avroConv(ms.Values(), t.Elem)
		if err != nil {
			return nil, err
		}
		return func(v any) (any, error) {
			xs, ok := v.(map[string]any)
			if !ok {
				return nil, typeError(t, v)
			}
			out := make(map[string]any, len(xs))
			for k, x := range xs {
				if x == nil {
					return nil, fmt.Errorf("[%q]: null map value (Avro map values are not nullable)", k)
				}
				y, err := c(x)
				if err != nil {
					return nil, fmt.Errorf("[%q]: %w", k, err)
				}
				out[k] = y
			}
			return out, nil
		}, nil
	case rtype.Record:
		rs, ok := s.(*avro.RecordSchema)
		if !ok || len(rs.Fields()) != len(t.Fields) {
			return nil, fmt.Errorf("schema %s for %s", s.Type(), t)
		}
		convs := make([]func(any) (any, error), len(t.Fields))
		for i, f := range t.Fields {
			var err error
			if convs[i], err = avroConv(rs.Fields()[i].Type(), f.Type); err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		return func(v any) (any, error) {
			r, ok := v.(row.Row)
			if !ok {
				return nil, typeError(t, v)
			}
			if len(r) != len(t.Fields) {
				return nil, fmt.Errorf("row has %d values, record %s has %d fields", len(r), t, len(t.Fields))
			}
			out := make(map[string]any, len(r))
			for i, f := range t.Fields {
				if r[i] == nil {
					if !f.Nullable {
						return nil, fmt.Errorf("field %q: null in a non-nullable field", f.Name)
					}
					out[f.Name] = nil
					continue
				}
				x, err := convs[i](r[i])
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", f.Name, err)
				}
				out[f.Name] = x
			}
			return out, nil
		}, nil
	}
	return nil, fmt.Errorf("type %s has no Avro form", t)
}

// unionName is the key hamba/avro looks a union member up by.
func unionName(s avro.Schema) string {
	if n, ok := s.(avro.NamedSchema); ok {
		return n.FullName()
	}
	name := string(s.Type())
	if l, ok := s.(avro.LogicalTypeSchema); ok && l.Logical() != nil {
		name += "." + string(l.Logical().Type())
	}
	return name
}
