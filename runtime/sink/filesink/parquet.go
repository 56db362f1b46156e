package filesink

import (
	"fmt"
	"io"
	"math/big"
	"reflect"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

// The Parquet form of a record type (physical values written directly, so
// nothing goes through reflection or floats):
//
//	string UTF8 byte array · bool boolean · int32/int64 INT(32/64) ·
//	float32 float · float64 double · bytes byte array ·
//	decimal(p,s) DECIMAL on int32 (p ≤ 9), int64 (p ≤ 18), else a
//	fixed-length two's complement byte array · timestamp(p) TIMESTAMP
//	(UTC) in millis (p ≤ 3), micros (p ≤ 6) or nanos · date DATE ·
//	duration int64 nanoseconds · list LIST · map MAP (string keys) ·
//	record group, fields in declaration order · nullable optional.

// ParquetSchema returns the Parquet schema of a record type.
func ParquetSchema(rec *rtype.Type) (*parquet.Schema, error) {
	p, err := planParquet(rec)
	if err != nil {
		return nil, err
	}
	return parquet.NewSchema("Row", p.node), nil
}

// pnode is a schema node with what writing a value needs.
type pnode struct {
	node     parquet.Node
	t        *rtype.Type
	optional bool
	column   int // leaves: the column index
	// lists and maps: the repeated group's levels
	repLevel int
	fields   []*pnode // record fields; list: [element]; map: [key, value]
	leaf     func(any) (parquet.Value, error)
}

func planParquet(rec *rtype.Type) (*pnode, error) {
	col := 0
	root, err := planType(rec, &col, 0)
	if err != nil {
		return nil, err
	}
	return root, nil
}

func planField(t *rtype.Type, nullable bool, col *int, rep int) (*pnode, error) {
	p, err := planType(t, col, rep)
	if err != nil {
		return nil, err
	}
	if nullable {
		p.optional = true
		p.node = parquet.Optional(p.node)
	} else {
		p.node = parquet.Required(p.node)
	}
	return p, nil
}

func planType(t *rtype.Type, col *int, rep int) (*pnode, error) {
	p := &pnode{t: t}
	leaf := func(n parquet.Node, f func(any) (parquet.Value, error)) (*pnode, error) {
		p.node, p.leaf, p.column = n, f, *col
		*col++
		return p, nil
	}
	switch t.Kind {
	case rtype.String:
		return leaf(parquet.String(), func(v any) (parquet.Value, error) {
			s, ok := v.(string)
			if !ok {
				return parquet.Value{}, typeErr(t, v)
			}
			return parquet.ByteArrayValue([]byte(s)), nil
		})
	case rtype.Bool:
		return leaf(parquet.Leaf(parquet.BooleanType), func(v any) (parquet.Value, error) {
			x, ok := v.(bool)
			if !ok {
				return parquet.Value{}, typeErr(t, v)
			}
			return parquet.BooleanValue(x), nil
		})
	case rtype.Int32:
		return leaf(parquet.Int(32), func(v any) (parquet.Value, error) {
			x, ok := v.(int32)
			if !ok {
				return parquet.Value{}, typeErr(t, v)
			}
			return parquet.Int32Value(x), nil
		})
	case rtype.Int64:
		return leaf(parquet.Int(64), func(v any) (parquet.Value, error) {
			x, ok := v.(int64)
			if !ok {
				return parquet.Value{}, typeErr(t, v)
			}
			return parquet.Int64Value(x), nil
		})
	case rtype.Duration:
		return leaf(parquet.Int(64), func(v any) (parquet.Value, error) {
			x, ok := v.(time.Duration)
			if !ok {
				return parquet.Value{}, typeErr(t, v)
			}
			return parquet.Int64Value(int64(x)), nil
		})
	case rtype.Float32:
		return leaf(parquet.Leaf(parquet.FloatType), func(v any) (parquet.Value, error) {
			x, ok := v.(float32)
			if !ok {
				return parquet.Value{}, typeErr(t, v)
			}
			return parquet.FloatValue(x), nil
		})
	case rtype.Float64:
		return leaf(parquet.Leaf(parquet.DoubleType), func(v any) (parquet.Value, error) {
			x, ok := v.(float64)
			if !ok {
				return parquet.Value{}, typeErr(t, v)
			}
			return parquet.DoubleValue(x), nil
		})
	case rtype.Bytes:
		return leaf(parquet.Leaf(parquet.ByteArrayType), func(v any) (parquet.Value, error) {
			x, ok := v.([]byte)
			if !ok {
				return parquet.Value{}, typeErr(t, v)
			}
			return parquet.ByteArrayValue(x), nil
		})
	case rtype.Decimal:
		if t.Precision < 1 || t.Precision > 38 || t.Scale < 0 || t.Scale > t.Precision {
			return nil, fmt.Errorf("%s: precision must be 1–38 and scale 0–precision", t)
		}
		unscaled := func(v any) (*big.Int, error) {
			d, ok := v.(*apd.Decimal)
			if !ok || d == nil {
				return nil, typeErr(t, v)
			}
			return encode.Unscaled(d, t.Precision, t.Scale)
		}
		switch {
		case t.Precision <= 9:
			return leaf(parquet.Decimal(t.Scale, t.Precision, parquet.Int32Type), func(v any) (parquet.Value, error) {
				u, err := unscaled(v)
				if err != nil {
					return parquet.Value{}, err
				}
				return parquet.Int32Value(int32(u.Int64())), nil
			})
		case t.Precision <= 18:
			return leaf(parquet.Decimal(t.Scale, t.Precision, parquet.Int64Type), func(v any) (parquet.Value, error) {
				u, err := unscaled(v)
				if err != nil {
					return parquet.Value{}, err
				}
				return parquet.Int64Value(u.Int64()), nil
			})
		}
		n := decimalBytes(t.Precision)
		return leaf(parquet.Decimal(t.Scale, t.Precision, parquet.FixedLenByteArrayType(n)), func(v any) (parquet.Value, error) {
			u, err := unscaled(v)
			if err != nil {
				return parquet.Value{}, err
			}
			return parquet.FixedLenByteArrayValue(twosComplement(u, n)), nil
		})
	case rtype.Timestamp:
		unit, div := parquet.TimeUnit(parquet.Nanosecond), int64(1)
		switch {
		case t.Precision <= 3:
			unit, div = parquet.Millisecond, int64(time.Millisecond)
		case t.Precision <= 6:
			unit, div = parquet.Microsecond, int64(time.Microsecond)
		}
		return leaf(parquet.Timestamp(unit), func(v any) (parquet.Value, error) {
			x, ok := v.(time.Time)
			if !ok {
				return parquet.Value{}, typeErr(t, v)
			}
			x, err := encode.CheckTime(x, t.Precision)
			if err != nil {
				return parquet.Value{}, err
			}
			// Whole units since the epoch, exact also before 1970 and past
			// the int64 nanosecond range of UnixNano for millis.
			units := x.Unix()*(int64(time.Second)/div) + int64(x.Nanosecond())/div
			return parquet.Int64Value(units), nil
		})
	case rtype.Date:
		return leaf(parquet.Date(), func(v any) (parquet.Value, error) {
			x, ok := v.(time.Time)
			if !ok {
				return parquet.Value{}, typeErr(t, v)
			}
			days := x.UTC().Unix() / 86400
			if x.UTC().Unix()%86400 < 0 {
				days--
			}
			return parquet.Int32Value(int32(days)), nil
		})
	case rtype.List:
		e, err := planField(t.Elem, true, col, rep+1)
		if err != nil {
			return nil, err
		}
		p.fields, p.repLevel = []*pnode{e}, rep+1
		p.node = parquet.List(e.node)
		return p, nil
	case rtype.Map:
		k, err := planField(rtype.StringType, false, col, rep+1)
		if err != nil {
			return nil, err
		}
		v, err := planField(t.Elem, true, col, rep+1)
		if err != nil {
			return nil, err
		}
		p.fields, p.repLevel = []*pnode{k, v}, rep+1
		p.node = parquet.Map(k.node, v.node)
		return p, nil
	case rtype.Record:
		g := orderedGroup{}
		for _, f := range t.Fields {
			fp, err := planField(f.Type, f.Nullable, col, rep)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", f.Name, err)
			}
			p.fields = append(p.fields, fp)
			g = append(g, groupField{Node: fp.node, name: f.Name})
		}
		p.node = g
		return p, nil
	}
	return nil, fmt.Errorf("type %s has no Parquet form", t)
}

func typeErr(t *rtype.Type, v any) error {
	return fmt.Errorf("value of Go type %T where %s is expected", v, t)
}

// decimalBytes is the fixed length holding any unscaled value of p digits.
func decimalBytes(p int) int {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil)
	return (max.BitLen() + 1 + 7) / 8 // + sign bit
}

// twosComplement renders u big-endian in n bytes.
func twosComplement(u *big.Int, n int) []byte {
	b := make([]byte, n)
	if u.Sign() >= 0 {
		u.FillBytes(b)
		return b
	}
	// −u = 2^(8n) − |u|
	m := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	m.Add(m, u)
	m.FillBytes(b)
	return b
}

// orderedGroup is a group keeping declaration order (parquet.Group, a map,
// sorts its fields by name).
type orderedGroup []groupField

type groupField struct {
	parquet.Node
	name string
}

func (f *groupField) Name() string                           { return f.name }
func (f *groupField) Value(base reflect.Value) reflect.Value { return reflect.Value{} }

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return parquet.Group{}.String() }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return reflect.TypeFor[map[string]any]() }
func (g orderedGroup) Fields() []parquet.Field {
	out := make([]parquet.Field, len(g))
	for i := range g {
		out[i] = &g[i]
	}
	return out
}

// parquetEncoder writes rows as parquet.Row values through the Dremel
// encoding of repetition and definition levels.
type parquetEncoder struct {
	w    *parquet.Writer
	root *pnode
	cols [][]parquet.Value
	rows []parquet.Row
}

// parquetCodec is the page codec of a compression option.
func parquetCodec(name string) (compress.Codec, error) {
	switch name {
	case "", "snappy":
		return &parquet.Snappy, nil
	case "zstd":
		return &parquet.Zstd, nil
	case "gzip":
		return &parquet.Gzip, nil
	case "none", "uncompressed":
		return &parquet.Uncompressed, nil
	}
	return nil, fmt.Errorf("compression %q is not one of snappy, zstd, gzip, none", name)
}

func newParquetEncoder(out io.Writer, rec *rtype.Type, compression string) (*parquetEncoder, error) {
	root, err := planParquet(rec)
	if err != nil {
		return nil, err
	}
	codec, err := parquetCodec(compression)
	if err != nil {
		return nil, err
	}
	schema := parquet.NewSchema("Row", root.node)
	n := len(schema.Columns())
	w := parquet.NewWriter(out, schema, parquet.Compression(codec),
		parquet.CreatedBy("rtsapc", "", ""))
	return &parquetEncoder{w: w, root: root, cols: make([][]parquet.Value, n)}, nil
}

func (e *parquetEncoder) write(rows []row.Row) error {
	e.rows = e.rows[:0]
	for _, r := range rows {
		for i := range e.cols {
			e.cols[i] = e.cols[i][:0]
		}
		if len(r) != len(e.root.fields) {
			return fmt.Errorf("row has %d values, record has %d fields", len(r), len(e.root.fields))
		}
		for i, f := range e.root.fields {
			if err := e.value(f, r[i], 0, 0); err != nil {
				return fmt.Errorf("field %q: %w", e.root.t.Fields[i].Name, err)
			}
		}
		var pr parquet.Row
		for _, c := range e.cols {
			pr = append(pr, c...)
		}
		e.rows = append(e.rows, pr)
	}
	_, err := e.w.WriteRows(e.rows)
	return err
}

// value emits v under node p at repetition level r and definition level d
// (the levels of p's parent).
func (e *parquetEncoder) value(p *pnode, v any, r, d int) error {
	if p.optional {
		if v == nil {
			e.nulls(p, r, d)
			return nil
		}
		d++
	} else if v == nil {
		return fmt.Errorf("null in a non-nullable field")
	}
	switch p.t.Kind {
	case rtype.Record:
		x, ok := v.(row.Row)
		if !ok || len(x) != len(p.fields) {
			return typeErr(p.t, v)
		}
		for i, f := range p.fields {
			if err := e.value(f, x[i], r, d); err != nil {
				return fmt.Errorf("%q: %w", p.t.Fields[i].Name, err)
			}
		}
		return nil
	case rtype.List:
		xs, ok := v.([]any)
		if !ok {
			return typeErr(p.t, v)
		}
		if len(xs) == 0 {
			e.nulls(p.fields[0], r, d)
			return nil
		}
		for i, x := range xs {
			rr := r
			if i > 0 {
				rr = p.repLevel
			}
			if err := e.value(p.fields[0], x, rr, d+1); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	case rtype.Map:
		xs, ok := v.(map[string]any)
		if !ok {
			return typeErr(p.t, v)
		}
		if len(xs) == 0 {
			e.nulls(p.fields[0], r, d)
			e.nulls(p.fields[1], r, d)
			return nil
		}
		for i, k := range sortedKeys(xs) {
			rr := r
			if i > 0 {
				rr = p.repLevel
			}
			if err := e.value(p.fields[0], k, rr, d+1); err != nil {
				return err
			}
			if err := e.value(p.fields[1], xs[k], rr, d+1); err != nil {
				return fmt.Errorf("[%q]: %w", k, err)
			}
		}
		return nil
	}
	val, err := p.leaf(v)
	if err != nil {
		return err
	}
	e.cols[p.column] = append(e.cols[p.column], val.Level(r, d, p.column))
	return nil
}

// nulls emits a null at every leaf under p: the value is absent at
// definition level d.
func (e *parquetEncoder) nulls(p *pnode, r, d int) {
	if p.leaf != nil {
		e.cols[p.column] = append(e.cols[p.column], parquet.NullValue().Level(r, d, p.column))
		return
	}
	for _, f := range p.fields {
		e.nulls(f, r, d)
	}
}

func (e *parquetEncoder) close() error { return e.w.Close() }
