package format

import (
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/hamba/avro/v2"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// AvroSchema returns the Avro schema (JSON) of record type t: decimals as
// bytes/decimal, timestamps as long/timestamp-millis (or -micros above 3
// digits), dates as int/date, optional fields as ["null", T] unions. Field
// names that are not Avro names become f<index> (binary Avro is positional,
// so payloads still decode by position).
func AvroSchema(t *rtype.Type) string {
	n := 0
	b, _ := json.Marshal(avroType(t, &n, false))
	return string(b)
}

// AvroFieldName is the Avro name used for field i named name.
func AvroFieldName(i int, name string) string {
	if isAvroName(name) {
		return name
	}
	return fmt.Sprintf("f%d", i)
}

func isAvroName(s string) bool {
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

func avroType(t *rtype.Type, n *int, nullable bool) any {
	var out any
	switch t.Kind {
	case rtype.String:
		out = "string"
	case rtype.Bool:
		out = "boolean"
	case rtype.Int32:
		out = "int"
	case rtype.Int64, rtype.Duration:
		out = "long"
	case rtype.Float32:
		out = "float"
	case rtype.Float64:
		out = "double"
	case rtype.Decimal:
		out = map[string]any{"type": "bytes", "logicalType": "decimal", "precision": t.Precision, "scale": t.Scale}
	case rtype.Timestamp:
		lt := "timestamp-millis"
		if t.Precision > 3 {
			lt = "timestamp-micros"
		}
		out = map[string]any{"type": "long", "logicalType": lt}
	case rtype.Date:
		out = map[string]any{"type": "int", "logicalType": "date"}
	case rtype.Bytes:
		out = "bytes"
	case rtype.List:
		out = map[string]any{"type": "array", "items": avroType(t.Elem, n, false)}
	case rtype.Map:
		out = map[string]any{"type": "map", "values": avroType(t.Elem, n, false)}
	case rtype.Record:
		*n++
		fields := make([]any, len(t.Fields))
		for i, f := range t.Fields {
			fields[i] = map[string]any{"name": AvroFieldName(i, f.Name), "type": avroType(f.Type, n, f.Nullable)}
		}
		out = map[string]any{"type": "record", "name": fmt.Sprintf("r%d", *n), "fields": fields}
	default:
		out = "string"
	}
	if nullable {
		return []any{"null", out}
	}
	return out
}

// AvroCodec decodes and encodes binary Avro payloads of a record type.
type AvroCodec struct {
	t      *rtype.Type
	schema avro.Schema
}

// NewAvroDecoder returns the Avro codec of t.
func NewAvroDecoder(t *rtype.Type) (*AvroCodec, error) {
	s, err := avro.Parse(AvroSchema(t))
	if err != nil {
		return nil, fmt.Errorf("avro schema: %v", err)
	}
	return &AvroCodec{t: t, schema: s}, nil
}

// Decode implements Decoder. Payloads in the Confluent wire format (magic
// byte 0 and a 4-byte schema id) are not distinguished: configure the
// producer for plain binary Avro.
func (c *AvroCodec) Decode(data []byte) (r row.Row, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("malformed Avro: %v", p)
		}
	}()
	var m map[string]any
	if err := avro.Unmarshal(c.schema, data, &m); err != nil {
		return nil, fmt.Errorf("malformed Avro: %v", err)
	}
	return fromAvroRecord(c.t, m)
}

func fromAvroRecord(t *rtype.Type, m map[string]any) (row.Row, error) {
	r := make(row.Row, len(t.Fields))
	for i, f := range t.Fields {
		v, err := fromAvro(f.Type, unwrapUnion(m[AvroFieldName(i, f.Name)]))
		if err != nil {
			return nil, fmt.Errorf("field %q: %v", f.Name, err)
		}
		if v == nil && !f.Nullable {
			return nil, fmt.Errorf("field %q is null but not optional", f.Name)
		}
		r[i] = v
	}
	return r, nil
}

func unwrapUnion(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for k, x := range m {
			switch k {
			case "string", "boolean", "int", "long", "float", "double", "bytes", "array", "map",
				"long.timestamp-millis", "long.timestamp-micros", "int.date", "bytes.decimal":
				return x
			}
			if len(k) > 1 && k[0] == 'r' {
				return x
			}
		}
	}
	return v
}

func fromAvro(t *rtype.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t.Kind {
	case rtype.Decimal:
		switch x := v.(type) {
		case *big.Rat:
			d, _, err := apd.NewFromString(x.FloatString(t.Scale))
			return d, err
		}
	case rtype.Int32:
		if x, ok := v.(int); ok {
			return int32(x), nil
		}
		if x, ok := v.(int32); ok {
			return x, nil
		}
	case rtype.Int64:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		}
	case rtype.Duration:
		if x, ok := v.(int64); ok {
			return time.Duration(x), nil
		}
	case rtype.Timestamp, rtype.Date:
		if x, ok := v.(time.Time); ok {
			return x.UTC(), nil
		}
	case rtype.List:
		if xs, ok := v.([]any); ok {
			out := make([]any, len(xs))
			for i, x := range xs {
				e, err := fromAvro(t.Elem, unwrapUnion(x))
				if err != nil {
					return nil, err
				}
				out[i] = e
			}
			return out, nil
		}
	case rtype.Map:
		if xs, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(xs))
			for k, x := range xs {
				e, err := fromAvro(t.Elem, unwrapUnion(x))
				if err != nil {
					return nil, err
				}
				out[k] = e
			}
			return out, nil
		}
	case rtype.Record:
		if m, ok := v.(map[string]any); ok {
			return fromAvroRecord(t, m)
		}
	case rtype.String, rtype.Bool, rtype.Float32, rtype.Float64, rtype.Bytes:
		return v, nil
	}
	return nil, fmt.Errorf("want %s, got %T", t, v)
}

// Encode returns the binary Avro of r.
func (c *AvroCodec) Encode(r row.Row) ([]byte, error) {
	return avro.Marshal(c.schema, toAvroRecord(c.t, r))
}

func toAvroRecord(t *rtype.Type, r row.Row) map[string]any {
	m := make(map[string]any, len(t.Fields))
	for i, f := range t.Fields {
		var v any
		if i < len(r) {
			v = toAvro(f.Type, r[i])
		}
		m[AvroFieldName(i, f.Name)] = v
	}
	return m
}

func toAvro(t *rtype.Type, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case *apd.Decimal:
		rat, ok := new(big.Rat).SetString(x.Text('f'))
		if !ok {
			return nil
		}
		return rat
	case int32:
		return int(x)
	case time.Duration:
		return int64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toAvro(t.Elem, e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toAvro(t.Elem, e)
		}
		return out
	case row.Row:
		return toAvroRecord(t, x)
	}
	return v
}
