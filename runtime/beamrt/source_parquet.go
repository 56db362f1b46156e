package beamrt

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/cockroachdb/apd/v3"
	"github.com/parquet-go/parquet-go"
	pformat "github.com/parquet-go/parquet-go/format"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// readParquet decodes a Parquet file into rows of the declared schema,
// matching columns by name. Scalar top-level columns are read from their
// physical values (decimals exact, timestamps in their unit, INT96
// included); lists, maps and nested records through parquet-go's generic
// reconstruction. A file that does not open or lacks a required column is
// one malformed record; a value that does not convert is one malformed row.
func (fn *readFileFn) readParquet(ctx context.Context, data fileData, size int64, src recordSource, emit, dead func(beam.EventTime, Rec)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fn.rt.route(ctx, nil, fmt.Errorf("malformed Parquet file: %v", p), nil, src, -1, emit, dead)
			err = nil
		}
	}()
	pf, err := parquet.OpenFile(data, size)
	if err != nil {
		fn.rt.route(ctx, nil, fmt.Errorf("malformed Parquet file: %v", err), nil, src, -1, emit, dead)
		return nil
	}
	schema := fn.rt.schema
	fs := pf.Schema()
	type leafCol struct {
		field int
		conv  func(parquet.Value) (any, error)
	}
	byColumn := map[int]leafCol{}
	var nested []int // declared fields read through reconstruction
	present := make([]bool, len(schema.Fields))
	nodes := make([]parquet.Node, len(schema.Fields))
	for i, f := range schema.Fields {
		for _, g := range fs.Fields() {
			if g.Name() == f.Name {
				nodes[i] = g
			}
		}
	}
	// Columns the file lacks come from its partition directories; a column
	// in both is read from the file (see source_partition.go).
	fill, err := newPartitionFill(schema, src.parts, func(i int) bool { return nodes[i] == nil })
	if err != nil {
		fn.rt.route(ctx, nil, err, nil, src, -1, emit, dead)
		return nil
	}
	for i, f := range schema.Fields {
		node := nodes[i]
		if node == nil {
			if !f.Nullable && !fill.has(i) {
				fn.rt.route(ctx, nil, fmt.Errorf("parquet file has no column %q", f.Name), nil, src, -1, emit, dead)
				return nil
			}
			continue
		}
		present[i] = true
		if node.Leaf() {
			leaf, ok := fs.Lookup(f.Name)
			if !ok {
				continue
			}
			conv, err := parquetLeaf(f.Type, node)
			if err != nil {
				fn.rt.route(ctx, nil, fmt.Errorf("column %q: %v", f.Name, err), nil, src, -1, emit, dead)
				return nil
			}
			byColumn[leaf.ColumnIndex] = leafCol{field: i, conv: conv}
			continue
		}
		nested = append(nested, i)
	}
	rd := parquet.NewReader(pf)
	defer rd.Close()
	buf := make([]parquet.Row, 256)
	var index int64
	for {
		n, rerr := rd.ReadRows(buf)
		for _, pr := range buf[:n] {
			out := make(row.Row, len(schema.Fields))
			var cerr error
			for _, v := range pr {
				lc, ok := byColumn[v.Column()]
				if !ok || cerr != nil {
					continue
				}
				x, err := lc.conv(v)
				if err != nil {
					cerr = fmt.Errorf("column %q: %v", schema.Fields[lc.field].Name, err)
					continue
				}
				out[lc.field] = x
			}
			if cerr == nil && len(nested) > 0 {
				m := map[string]any{}
				if err := fs.Reconstruct(&m, pr); err != nil {
					cerr = fmt.Errorf("malformed Parquet row: %v", err)
				} else {
					for _, i := range nested {
						f := schema.Fields[i]
						x, err := fromGeneric(f.Type, m[f.Name])
						if err != nil {
							cerr = fmt.Errorf("column %q: %v", f.Name, err)
							break
						}
						out[i] = x
					}
				}
			}
			if cerr == nil && fill != nil {
				for k, i := range fill.idx {
					out[i] = fill.value(k)
				}
			}
			if cerr == nil {
				for i, f := range schema.Fields {
					if out[i] == nil && !f.Nullable {
						cerr = fmt.Errorf("field %q is null but not optional", f.Name)
						break
					}
				}
			}
			if cerr != nil {
				out = nil
			}
			fn.rt.route(ctx, out, cerr, nil, src, index, emit, dead)
			index++
			if fn.rt.failed() {
				return nil
			}
		}
		if rerr != nil {
			if rerr.Error() != "EOF" {
				fn.rt.route(ctx, nil, fmt.Errorf("malformed Parquet file: %v", rerr), nil, src, index, emit, dead)
			}
			return nil
		}
		if n == 0 {
			return nil
		}
	}
}

// parquetLeaf returns the conversion of a leaf column's values to type t.
func parquetLeaf(t *rtype.Type, node parquet.Node) (func(parquet.Value) (any, error), error) {
	kind := node.Type().Kind()
	var (
		dec    *pformat.DecimalType
		ts     *pformat.TimestampType
		isDate bool
	)
	intish := true // plain or INT-annotated integers
	if lt := node.Type().LogicalType(); lt != nil && lt.Value != nil {
		switch v := lt.Value.(type) {
		case *pformat.DecimalType:
			dec = v
		case *pformat.TimestampType:
			ts = v
		case *pformat.DateType:
			isDate = true
		case *pformat.IntType:
		default:
			intish = false
		}
		if dec != nil || ts != nil || isDate {
			intish = false
		}
	}
	mismatch := func() error { return fmt.Errorf("a %s column cannot be read as %s", node.Type(), t) }
	nullable := func(f func(parquet.Value) (any, error)) func(parquet.Value) (any, error) {
		return func(v parquet.Value) (any, error) {
			if v.IsNull() {
				return nil, nil
			}
			return f(v)
		}
	}
	switch t.Kind {
	case rtype.String:
		if kind == parquet.ByteArray || kind == parquet.FixedLenByteArray {
			return nullable(func(v parquet.Value) (any, error) { return string(v.ByteArray()), nil }), nil
		}
	case rtype.Bytes:
		if kind == parquet.ByteArray || kind == parquet.FixedLenByteArray {
			return nullable(func(v parquet.Value) (any, error) { return append([]byte(nil), v.ByteArray()...), nil }), nil
		}
	case rtype.Bool:
		if kind == parquet.Boolean {
			return nullable(func(v parquet.Value) (any, error) { return v.Boolean(), nil }), nil
		}
	case rtype.Int32:
		if kind == parquet.Int32 && intish {
			return nullable(func(v parquet.Value) (any, error) { return v.Int32(), nil }), nil
		}
		if kind == parquet.Int64 && intish {
			return nullable(func(v parquet.Value) (any, error) {
				x := v.Int64()
				if x < math.MinInt32 || x > math.MaxInt32 {
					return nil, fmt.Errorf("%d overflows int32", x)
				}
				return int32(x), nil
			}), nil
		}
	case rtype.Int64:
		if kind == parquet.Int64 && intish {
			return nullable(func(v parquet.Value) (any, error) { return v.Int64(), nil }), nil
		}
		if kind == parquet.Int32 && intish {
			return nullable(func(v parquet.Value) (any, error) { return int64(v.Int32()), nil }), nil
		}
	case rtype.Duration:
		if kind == parquet.Int64 && intish {
			return nullable(func(v parquet.Value) (any, error) { return time.Duration(v.Int64()), nil }), nil
		}
	case rtype.Float32:
		if kind == parquet.Float {
			return nullable(func(v parquet.Value) (any, error) { return v.Float(), nil }), nil
		}
	case rtype.Float64:
		switch kind {
		case parquet.Double:
			return nullable(func(v parquet.Value) (any, error) { return v.Double(), nil }), nil
		case parquet.Float:
			return nullable(func(v parquet.Value) (any, error) { return float64(v.Float()), nil }), nil
		}
	case rtype.Decimal:
		scale := 0
		if dec != nil {
			scale = int(dec.Scale)
		} else if !intish {
			return nil, mismatch()
		}
		var unscaled func(parquet.Value) *big.Int
		switch kind {
		case parquet.Int32:
			unscaled = func(v parquet.Value) *big.Int { return big.NewInt(int64(v.Int32())) }
		case parquet.Int64:
			unscaled = func(v parquet.Value) *big.Int { return big.NewInt(v.Int64()) }
		case parquet.ByteArray, parquet.FixedLenByteArray:
			if dec == nil {
				return nil, mismatch()
			}
			unscaled = func(v parquet.Value) *big.Int { return fromTwosComplement(v.ByteArray()) }
		default:
			return nil, mismatch()
		}
		return nullable(func(v parquet.Value) (any, error) { return decimalOf(unscaled(v), scale, t) }), nil
	case rtype.Timestamp:
		if kind == parquet.Int96 {
			return nullable(func(v parquet.Value) (any, error) {
				b := v.Bytes()
				if len(b) != 12 {
					return nil, fmt.Errorf("INT96 of %d bytes", len(b))
				}
				nanos := int64(binary.LittleEndian.Uint64(b[:8]))
				julian := int64(binary.LittleEndian.Uint32(b[8:]))
				return truncTime(time.Unix((julian-2440588)*86400, nanos).UTC(), t.Precision), nil
			}), nil
		}
		if kind == parquet.Int64 && ts != nil && ts.Unit.Value != nil {
			mult := int64(ts.Unit.Value.Duration())
			if mult <= 0 || int64(time.Second)%mult != 0 {
				return nil, mismatch()
			}
			return nullable(func(v parquet.Value) (any, error) {
				x := v.Int64()
				per := int64(time.Second) / mult
				sec, frac := x/per, x%per
				if frac < 0 {
					sec, frac = sec-1, frac+per
				}
				return truncTime(time.Unix(sec, frac*mult).UTC(), t.Precision), nil
			}), nil
		}
	case rtype.Date:
		if kind == parquet.Int32 && isDate {
			return nullable(func(v parquet.Value) (any, error) {
				return time.Unix(int64(v.Int32())*86400, 0).UTC(), nil
			}), nil
		}
	}
	return nil, mismatch()
}

// decimalOf is unscaled·10^-scale at the declared scale, exactly.
func decimalOf(u *big.Int, scale int, t *rtype.Type) (any, error) {
	d := apd.NewWithBigInt(new(apd.BigInt).SetMathBigInt(u), int32(-scale))
	out := new(apd.Decimal)
	c := apd.BaseContext.WithPrecision(uint32(t.Precision) + 2)
	cond, err := c.Quantize(out, d, int32(-t.Scale))
	if err != nil || cond.Inexact() {
		return nil, fmt.Errorf("%s does not fit %s exactly", d.Text('f'), t)
	}
	if out.NumDigits() > int64(t.Precision) {
		return nil, fmt.Errorf("%s has more than %d digits", d.Text('f'), t.Precision)
	}
	return out, nil
}

func fromTwosComplement(b []byte) *big.Int {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}

// truncTime keeps the declared fractional digits.
func truncTime(t time.Time, precision int) time.Time {
	if precision >= 9 || precision < 0 {
		return t
	}
	d := time.Duration(1)
	for i := precision; i < 9; i++ {
		d *= 10
	}
	return t.Truncate(d)
}

// fromGeneric converts a value reconstructed by parquet-go (lists, maps,
// nested records) to type t. Decimals inside nested values are refused:
// the generic reader does not keep them exact.
func fromGeneric(t *rtype.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t.Kind {
	case rtype.String:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case rtype.Bytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case rtype.Bool:
		if x, ok := v.(bool); ok {
			return x, nil
		}
	case rtype.Int32:
		switch x := v.(type) {
		case int32:
			return x, nil
		case int64:
			if x >= math.MinInt32 && x <= math.MaxInt32 {
				return int32(x), nil
			}
		}
	case rtype.Int64:
		switch x := v.(type) {
		case int32:
			return int64(x), nil
		case int64:
			return x, nil
		}
	case rtype.Float32:
		if x, ok := v.(float32); ok {
			return x, nil
		}
	case rtype.Float64:
		switch x := v.(type) {
		case float32:
			return float64(x), nil
		case float64:
			return x, nil
		}
	case rtype.Timestamp:
		if x, ok := v.(time.Time); ok {
			return truncTime(x.UTC(), t.Precision), nil
		}
	case rtype.List:
		if xs, ok := v.([]any); ok {
			out := make([]any, len(xs))
			for i, x := range xs {
				e, err := fromGeneric(t.Elem, x)
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
				e, err := fromGeneric(t.Elem, x)
				if err != nil {
					return nil, err
				}
				out[k] = e
			}
			return out, nil
		}
	case rtype.Record:
		if m, ok := v.(map[string]any); ok {
			out := make(row.Row, len(t.Fields))
			for i, f := range t.Fields {
				x, err := fromGeneric(f.Type, m[f.Name])
				if err != nil {
					return nil, fmt.Errorf("field %q: %v", f.Name, err)
				}
				if x == nil && !f.Nullable {
					return nil, fmt.Errorf("field %q is null but not optional", f.Name)
				}
				out[i] = x
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("a %T cannot be read as %s", v, t)
}
