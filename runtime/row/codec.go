package row

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/cockroachdb/apd/v3"
)

// Binary encoding of rows: self-describing (one tag byte per value), so a
// row decodes without its record type and keeps the exact Go types of the
// table in row.go. Used as the Beam coder of Row, for grouping keys, and by
// anything that needs a compact lossless copy.
const (
	tNull byte = iota
	tString
	tFalse
	tTrue
	tInt32
	tInt64
	tFloat32
	tFloat64
	tDecimal
	tTime
	tBytes
	tList
	tMap
	tRow
	tDuration
)

// Encode appends the encoding of r to b.
func Encode(b []byte, r Row) []byte {
	b = binary.AppendUvarint(b, uint64(len(r)))
	for _, v := range r {
		b = AppendValue(b, v)
	}
	return b
}

// AppendValue appends one value's encoding. Unknown Go types encode as
// their fmt rendering (a string), so encoding never fails.
func AppendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, tNull)
	case string:
		b = append(b, tString)
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...)
	case bool:
		if x {
			return append(b, tTrue)
		}
		return append(b, tFalse)
	case int32:
		return binary.AppendVarint(append(b, tInt32), int64(x))
	case int64:
		return binary.AppendVarint(append(b, tInt64), x)
	case int:
		return binary.AppendVarint(append(b, tInt64), int64(x))
	case float32:
		return binary.LittleEndian.AppendUint32(append(b, tFloat32), math.Float32bits(x))
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tFloat64), math.Float64bits(x))
	case *apd.Decimal:
		b = append(b, tDecimal)
		s := x.String()
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	case apd.Decimal:
		return AppendValue(b, &x)
	case time.Time:
		b = append(b, tTime)
		b = binary.AppendVarint(b, x.Unix())
		return binary.AppendUvarint(b, uint64(x.Nanosecond()))
	case time.Duration:
		return binary.AppendVarint(append(b, tDuration), int64(x))
	case []byte:
		b = append(b, tBytes)
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...)
	case []any:
		b = append(b, tList)
		b = binary.AppendUvarint(b, uint64(len(x)))
		for _, e := range x {
			b = AppendValue(b, e)
		}
		return b
	case map[string]any:
		b = append(b, tMap)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = binary.AppendUvarint(b, uint64(len(keys)))
		for _, k := range keys {
			b = AppendValue(b, k)
			b = AppendValue(b, x[k])
		}
		return b
	case Row:
		return Encode(append(b, tRow), x)
	}
	return AppendValue(b, fmt.Sprint(v))
}

var errShort = errors.New("row: truncated encoding")

// Decode decodes a row encoded by Encode; rest is what follows it.
func Decode(b []byte) (r Row, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, nil, errShort
	}
	b = b[k:]
	r = make(Row, n)
	for i := range r {
		r[i], b, err = ReadValue(b)
		if err != nil {
			return nil, nil, err
		}
	}
	return r, b, nil
}

// ReadValue decodes one value.
func ReadValue(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, errShort
	}
	t, b := b[0], b[1:]
	switch t {
	case tNull:
		return nil, b, nil
	case tFalse:
		return false, b, nil
	case tTrue:
		return true, b, nil
	case tString, tBytes, tDecimal:
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, nil, errShort
		}
		s := b[k : k+int(n)]
		b = b[k+int(n):]
		switch t {
		case tString:
			return string(s), b, nil
		case tBytes:
			return append([]byte(nil), s...), b, nil
		}
		d, _, err := apd.NewFromString(string(s))
		return d, b, err
	case tInt32, tInt64, tDuration:
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, errShort
		}
		switch t {
		case tInt32:
			return int32(v), b[k:], nil
		case tDuration:
			return time.Duration(v), b[k:], nil
		}
		return v, b[k:], nil
	case tFloat32:
		if len(b) < 4 {
			return nil, nil, errShort
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(b)), b[4:], nil
	case tFloat64:
		if len(b) < 8 {
			return nil, nil, errShort
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
	case tTime:
		sec, k := binary.Varint(b)
		if k <= 0 {
			return nil, nil, errShort
		}
		ns, k2 := binary.Uvarint(b[k:])
		if k2 <= 0 {
			return nil, nil, errShort
		}
		return time.Unix(sec, int64(ns)).UTC(), b[k+k2:], nil
	case tList:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, nil, errShort
		}
		b = b[k:]
		out := make([]any, n)
		var err error
		for i := range out {
			out[i], b, err = ReadValue(b)
			if err != nil {
				return nil, nil, err
			}
		}
		return out, b, nil
	case tMap:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, nil, errShort
		}
		b = b[k:]
		out := make(map[string]any, n)
		for range n {
			kv, rest, err := ReadValue(b)
			if err != nil {
				return nil, nil, err
			}
			v, rest, err := ReadValue(rest)
			if err != nil {
				return nil, nil, err
			}
			ks, _ := kv.(string)
			out[ks] = v
			b = rest
		}
		return out, b, nil
	case tRow:
		return Decode(b)
	}
	return nil, nil, fmt.Errorf("row: bad tag %d", t)
}

// Key returns a string that is equal for rows with equal values (the
// binary encoding), for grouping and hashing.
func Key(r Row) string { return string(Encode(nil, r)) }
