// Package format decodes Kafka payloads (JSON, Avro) into rows laid out by
// a record type, and encodes rows back (the synthetic market feed, tests,
// file sinks). Decoding is strict: a missing non-nullable field, a value of
// the wrong type, or bad syntax is an error naming the field, never a panic.
package format

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	jsoniter "github.com/json-iterator/go"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/expr"
	"rtsap.dev/rtsapc/runtime/row"
)

// Decoder turns one payload into a row of its record type.
type Decoder interface {
	Decode(data []byte) (row.Row, error)
}

// NewDecoder returns the decoder of format ("json" or "avro") for t.
func NewDecoder(format string, t *rtype.Type) (Decoder, error) {
	switch format {
	case "", "json":
		return NewJSONDecoder(t), nil
	case "avro":
		return NewAvroDecoder(t)
	}
	return nil, fmt.Errorf("format %q is not supported by the Kafka source (json, avro)", format)
}

// JSONDecoder decodes JSON objects; unknown fields are ignored.
type JSONDecoder struct {
	t     *rtype.Type
	index map[string]int
	subs  []*JSONDecoder // nested record decoders by field index
}

// NewJSONDecoder returns a decoder for record type t.
func NewJSONDecoder(t *rtype.Type) *JSONDecoder {
	d := &JSONDecoder{t: t, index: map[string]int{}, subs: make([]*JSONDecoder, len(t.Fields))}
	for i, f := range t.Fields {
		d.index[f.Name] = i
		if f.Type.Kind == rtype.Record {
			d.subs[i] = NewJSONDecoder(f.Type)
		}
	}
	return d
}

var jcfg = jsoniter.Config{UseNumber: true}.Froze()

// Decode implements Decoder.
func (d *JSONDecoder) Decode(data []byte) (r row.Row, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("malformed JSON: %v", p)
		}
	}()
	it := jcfg.BorrowIterator(data)
	defer jcfg.ReturnIterator(it)
	r, err = d.object(it)
	if err != nil {
		return nil, err
	}
	if next := it.WhatIsNext(); next != jsoniter.InvalidValue {
		return nil, fmt.Errorf("malformed JSON: trailing data after the object")
	}
	return r, nil
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (d *JSONDecoder) object(it *jsoniter.Iterator) (row.Row, error) {
	if it.WhatIsNext() != jsoniter.ObjectValue {
		if it.Error != nil {
			return nil, fmt.Errorf("malformed JSON: %v", it.Error)
		}
		return nil, fmt.Errorf("expected a JSON object, got %s", kindName(it.WhatIsNext()))
	}
	r := make(row.Row, len(d.t.Fields))
	seen := make([]bool, len(d.t.Fields))
	var ferr error
	it.ReadObjectCB(func(it *jsoniter.Iterator, field string) bool {
		i, ok := d.index[field]
		if !ok {
			it.Skip()
			return it.Error == nil
		}
		seen[i] = true
		f := d.t.Fields[i]
		v, err := d.value(it, f.Type, d.subs[i])
		if err != nil {
			ferr = fmt.Errorf("field %q: %v", f.Name, err)
			return false
		}
		r[i] = v
		return true
	})
	if ferr != nil {
		return nil, ferr
	}
	if it.Error != nil {
		return nil, fmt.Errorf("malformed JSON: %v", it.Error)
	}
	for i, f := range d.t.Fields {
		if r[i] == nil && !f.Nullable {
			if !seen[i] {
				return nil, fmt.Errorf("field %q is missing", f.Name)
			}
			return nil, fmt.Errorf("field %q is null but not optional", f.Name)
		}
	}
	return r, nil
}

func kindName(v jsoniter.ValueType) string {
	switch v {
	case jsoniter.StringValue:
		return "a string"
	case jsoniter.NumberValue:
		return "a number"
	case jsoniter.NilValue:
		return "null"
	case jsoniter.BoolValue:
		return "a boolean"
	case jsoniter.ArrayValue:
		return "an array"
	case jsoniter.ObjectValue:
		return "an object"
	}
	return "invalid JSON"
}

func (d *JSONDecoder) value(it *jsoniter.Iterator, t *rtype.Type, sub *JSONDecoder) (any, error) {
	next := it.WhatIsNext()
	if next == jsoniter.NilValue {
		it.ReadNil()
		return nil, nil
	}
	bad := func() (any, error) {
		it.Skip()
		return nil, fmt.Errorf("want %s, got %s", t, kindName(next))
	}
	switch t.Kind {
	case rtype.String:
		if next != jsoniter.StringValue {
			return bad()
		}
		return it.ReadString(), nil
	case rtype.Bool:
		if next != jsoniter.BoolValue {
			return bad()
		}
		return it.ReadBool(), nil
	case rtype.Int32, rtype.Int64, rtype.Float32, rtype.Float64, rtype.Decimal:
		var text string
		switch next {
		case jsoniter.NumberValue:
			text = string(it.ReadNumber())
		case jsoniter.StringValue:
			text = strings.TrimSpace(it.ReadString())
		default:
			return bad()
		}
		return ParseNumber(text, t)
	case rtype.Timestamp, rtype.Date:
		switch next {
		case jsoniter.NumberValue:
			n, err := strconv.ParseInt(string(it.ReadNumber()), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("want epoch milliseconds: %v", err)
			}
			return time.UnixMilli(n).UTC(), nil
		case jsoniter.StringValue:
			return ParseTime(it.ReadString())
		}
		return bad()
	case rtype.Duration:
		if next != jsoniter.StringValue {
			return bad()
		}
		dur, err := time.ParseDuration(it.ReadString())
		if err != nil {
			return nil, err
		}
		return dur, nil
	case rtype.Bytes:
		if next != jsoniter.StringValue {
			return bad()
		}
		b, err := base64.StdEncoding.DecodeString(it.ReadString())
		if err != nil {
			return nil, fmt.Errorf("want base64: %v", err)
		}
		return b, nil
	case rtype.List:
		if next != jsoniter.ArrayValue {
			return bad()
		}
		var out []any
		var err error
		var esub *JSONDecoder
		if t.Elem.Kind == rtype.Record {
			esub = NewJSONDecoder(t.Elem)
		}
		it.ReadArrayCB(func(it *jsoniter.Iterator) bool {
			var v any
			v, err = d.value(it, t.Elem, esub)
			out = append(out, v)
			return err == nil
		})
		if out == nil {
			out = []any{}
		}
		return out, err
	case rtype.Map:
		if next != jsoniter.ObjectValue {
			return bad()
		}
		out := map[string]any{}
		var err error
		var esub *JSONDecoder
		if t.Elem.Kind == rtype.Record {
			esub = NewJSONDecoder(t.Elem)
		}
		it.ReadObjectCB(func(it *jsoniter.Iterator, k string) bool {
			var v any
			v, err = d.value(it, t.Elem, esub)
			out[k] = v
			return err == nil
		})
		return out, err
	case rtype.Record:
		if sub == nil {
			sub = NewJSONDecoder(t)
		}
		return sub.object(it)
	}
	return bad()
}

// ParseNumber parses decimal text into the Go type of numeric type t.
func ParseNumber(text string, t *rtype.Type) (any, error) {
	switch t.Kind {
	case rtype.Int32, rtype.Int64:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(text, 64)
			if ferr != nil || f != math.Trunc(f) {
				return nil, fmt.Errorf("want %s, got %q", t, text)
			}
			n = int64(f)
		}
		if t.Kind == rtype.Int32 {
			if n < math.MinInt32 || n > math.MaxInt32 {
				return nil, fmt.Errorf("%s out of int32 range", text)
			}
			return int32(n), nil
		}
		return n, nil
	case rtype.Float32, rtype.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("want %s, got %q", t, text)
		}
		if t.Kind == rtype.Float32 {
			return float32(f), nil
		}
		return f, nil
	case rtype.Decimal:
		dec, _, err := apd.NewFromString(text)
		if err != nil || dec.Form != apd.Finite {
			return nil, fmt.Errorf("want %s, got %q", t, text)
		}
		return expr.Coerce(dec, t), nil
	}
	return nil, fmt.Errorf("not a number type: %s", t)
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

// ParseTime parses RFC 3339 or SQL-style local timestamps (read as UTC).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if ts, err := time.Parse(l, s); err == nil {
			return ts.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("want a timestamp (RFC 3339 or epoch milliseconds), got %q", abbreviate(s))
}

// AppendJSON appends the JSON object of r laid out by t: decimals as JSON
// numbers with their exact digits, timestamps as RFC 3339 UTC with
// milliseconds, bytes as base64.
func AppendJSON(b []byte, t *rtype.Type, r row.Row) []byte {
	b = append(b, '{')
	for i, f := range t.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, f.Name)
		b = append(b, ':')
		var v any
		if i < len(r) {
			v = r[i]
		}
		b = appendJSONValue(b, f.Type, v)
	}
	return append(b, '}')
}

func appendJSONValue(b []byte, t *rtype.Type, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		enc, _ := json.Marshal(x)
		return append(b, enc...)
	case bool:
		return strconv.AppendBool(b, x)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float32:
		return appendFloat(b, float64(x))
	case float64:
		return appendFloat(b, x)
	case *apd.Decimal:
		return append(b, x.Text('f')...)
	case time.Time:
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		return append(b, '"')
	case time.Duration:
		return strconv.AppendQuote(b, x.String())
	case []byte:
		return strconv.AppendQuote(b, base64.StdEncoding.EncodeToString(x))
	case []any:
		var et *rtype.Type
		if t != nil {
			et = t.Elem
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONValue(b, et, e)
		}
		return append(b, ']')
	case map[string]any:
		var et *rtype.Type
		if t != nil {
			et = t.Elem
		}
		b = append(b, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b = append(b, ',')
			}
			kb, _ := json.Marshal(k)
			b = append(b, kb...)
			b = append(b, ':')
			b = appendJSONValue(b, et, x[k])
		}
		return append(b, '}')
	case row.Row:
		if t != nil && t.Kind == rtype.Record {
			return AppendJSON(b, t, x)
		}
		return appendJSONValue(b, nil, []any(x))
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, enc...)
}

func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
