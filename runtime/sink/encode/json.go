package encode

import (
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// The JSON form of a row, shared by the JSONL, stdout and Kafka sinks (and
// the form the Kafka source decodes):
//
//	record        object, fields in declaration order; null fields written as null
//	decimal(p,s)  JSON number with exactly s fractional digits (12.500000), exact
//	float NaN/±Inf  the strings "NaN", "Infinity", "-Infinity"
//	timestamp(p)  string, RFC 3339 UTC with exactly p fractional digits
//	date          string "2006-01-02"
//	bytes         string, standard base64
//	duration      string, Go syntax ("1m30s")
//	map           object, keys sorted
//	list          array

// AppendJSONRow appends the JSON object of r, a row of record type rec.
func AppendJSONRow(b []byte, rec *rtype.Type, r row.Row) ([]byte, error) {
	if rec == nil || rec.Kind != rtype.Record {
		return b, fmt.Errorf("row type %s is not a record", rec)
	}
	if len(r) != len(rec.Fields) {
		return b, fmt.Errorf("row has %d values, record %s has %d fields", len(r), rec, len(rec.Fields))
	}
	b = append(b, '{')
	for i, f := range rec.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Name)
		b = append(b, ':')
		var err error
		if b, err = AppendJSON(b, f.Type, r[i]); err != nil {
			return b, fmt.Errorf("field %q: %w", f.Name, err)
		}
	}
	return append(b, '}'), nil
}

// AppendJSON appends the JSON form of v, a value of type t (nil is null).
func AppendJSON(b []byte, t *rtype.Type, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	switch t.Kind {
	case rtype.String:
		if s, ok := v.(string); ok {
			return appendString(b, s), nil
		}
	case rtype.Bool:
		if x, ok := v.(bool); ok {
			return strconv.AppendBool(b, x), nil
		}
	case rtype.Int32:
		if x, ok := v.(int32); ok {
			return strconv.AppendInt(b, int64(x), 10), nil
		}
	case rtype.Int64:
		if x, ok := v.(int64); ok {
			return strconv.AppendInt(b, x, 10), nil
		}
	case rtype.Float32:
		if x, ok := v.(float32); ok {
			return appendFloat(b, float64(x), 32), nil
		}
	case rtype.Float64:
		if x, ok := v.(float64); ok {
			return appendFloat(b, x, 64), nil
		}
	case rtype.Decimal:
		if d, ok := v.(*apd.Decimal); ok && d != nil {
			if d.Form != apd.Finite {
				return appendString(b, decimalSpecial(d)), nil
			}
			return AppendDecimal(b, d, t.Precision, t.Scale)
		}
	case rtype.Timestamp:
		if x, ok := v.(time.Time); ok {
			b = append(b, '"')
			b, err := AppendTime(b, x, t.Precision)
			if err != nil {
				return b, err
			}
			return append(b, '"'), nil
		}
	case rtype.Date:
		if x, ok := v.(time.Time); ok {
			return appendString(b, x.UTC().Format(time.DateOnly)), nil
		}
	case rtype.Bytes:
		if x, ok := v.([]byte); ok {
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, x)
			return append(b, '"'), nil
		}
	case rtype.Duration:
		if x, ok := v.(time.Duration); ok {
			return appendString(b, x.String()), nil
		}
	case rtype.List:
		if x, ok := v.([]any); ok {
			b = append(b, '[')
			for i, e := range x {
				if i > 0 {
					b = append(b, ',')
				}
				var err error
				if b, err = AppendJSON(b, t.Elem, e); err != nil {
					return b, fmt.Errorf("[%d]: %w", i, err)
				}
			}
			return append(b, ']'), nil
		}
	case rtype.Map:
		if x, ok := v.(map[string]any); ok {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b = append(b, '{')
			for i, k := range keys {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, k)
				b = append(b, ':')
				var err error
				if b, err = AppendJSON(b, t.Elem, x[k]); err != nil {
					return b, fmt.Errorf("[%q]: %w", k, err)
				}
			}
			return append(b, '}'), nil
		}
	case rtype.Record:
		if x, ok := v.(row.Row); ok {
			return AppendJSONRow(b, t, x)
		}
	}
	return b, typeError(t, v)
}

func decimalSpecial(d *apd.Decimal) string {
	switch {
	case d.Form == apd.Infinite && d.Negative:
		return "-Infinity"
	case d.Form == apd.Infinite:
		return "Infinity"
	}
	return "NaN"
}

func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, bits)
}

// appendString appends s as a JSON string, escaped as encoding/json does
// (HTML-safe, U+2028/U+2029 escaped, invalid UTF-8 as U+FFFD), so output
// is valid JSON for any input.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"
