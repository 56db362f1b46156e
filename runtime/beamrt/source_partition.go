package beamrt

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/filesink"
)

// Hive-style partition directories (<path>/<col>=<value>/…/file), as
// runtime/sink's partitionBy writes them and Spark and Hive read them: a
// declared field that a data file lacks takes its value from the object's
// key below the source path.
//
// A field both in the file and in the path: the file wins. Spark errors on
// some formats' ambiguity, but the sink never writes a partition column
// into the files, so a file that has the column was written by someone
// else and says more about its rows than the directory does. In Parquet
// and Avro files "in the file" is the file's schema; a JSON line has none,
// so there a field the line leaves out or sets to null takes the path's
// value. A partition value that does not parse fails its file only where
// the file lacks the column (in a JSON file: always).

// partitionSegments returns the partition values in the directories of
// rel, a file's slash-separated key below the source path ("" for the default partition, ok=false when the value is
// null), by unescaped column name. Segments without '=' are plain
// directories. A column named twice with different values is an error.
func partitionSegments(rel string) (map[string]partValue, error) {
	dirs := strings.Split(strings.Trim(rel, "/"), "/")
	dirs = dirs[:len(dirs)-1] // the file's own name
	var out map[string]partValue
	for _, seg := range dirs {
		name, val, ok := strings.Cut(seg, "=")
		if !ok || name == "" {
			continue
		}
		name = unescapePartition(name)
		v := partValue{text: unescapePartition(val), ok: true}
		if val == filesink.HiveDefaultPartition {
			v = partValue{}
		}
		if out == nil {
			out = map[string]partValue{}
		}
		if old, dup := out[name]; dup && old != v {
			return nil, fmt.Errorf("partition column %q has two values in the path, %q and %q", name, old.String(), v.String())
		}
		out[name] = v
	}
	return out, nil
}

// partValue is one partition directory's value: ok=false is null.
type partValue struct {
	text string
	ok   bool
}

func (v partValue) String() string {
	if !v.ok {
		return filesink.HiveDefaultPartition
	}
	return v.text
}

// partitionRel is the slash-separated key of a listed file below the
// source path p: below a local directory as named (a single file has no
// directories below it), or below an S3 prefix up to its last '/' (a
// prefix "out/sym" lists "out/symbol=A/…", whose partition segment is
// whole only from "out/").
func partitionRel(kind, p, name string) string {
	if kind == "s3" {
		p = strings.TrimLeft(p, "/")
		rel, _ := strings.CutPrefix(name, p[:strings.LastIndexByte(p, '/')+1])
		return rel
	}
	rel, err := filepath.Rel(p, name)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return ""
	}
	return filepath.ToSlash(rel)
}

// partitionFill is the values of the partition columns a file lacks.
type partitionFill struct {
	idx  []int // field indexes
	vals []any
}

// newPartitionFill converts the path's values of the declared fields for
// which absent(i) holds.
func newPartitionFill(schema *rtype.Type, segs map[string]partValue, absent func(int) bool) (*partitionFill, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	var pf partitionFill
	for i, f := range schema.Fields {
		seg, ok := segs[f.Name]
		if !ok || !absent(i) {
			continue
		}
		v, err := partitionValue(f, seg)
		if err != nil {
			return nil, fmt.Errorf("partition directory %s=%s: %v", filesink.EscapePartition(f.Name), escapedValue(seg), err)
		}
		pf.idx = append(pf.idx, i)
		pf.vals = append(pf.vals, v)
	}
	if len(pf.idx) == 0 {
		return nil, nil
	}
	return &pf, nil
}

func escapedValue(v partValue) string {
	if !v.ok {
		return filesink.HiveDefaultPartition
	}
	return filesink.EscapePartition(v.text)
}

// has reports whether field i is filled from the path.
func (pf *partitionFill) has(i int) bool {
	if pf == nil {
		return false
	}
	for _, j := range pf.idx {
		if j == i {
			return true
		}
	}
	return false
}

// relax returns schema with the filled fields nullable, for decoders that
// would refuse a record without them.
func (pf *partitionFill) relax(schema *rtype.Type) *rtype.Type {
	fields := append([]rtype.Field(nil), schema.Fields...)
	for _, i := range pf.idx {
		fields[i].Nullable = true
	}
	return rtype.RecordOf(fields...)
}

// partitionValue converts a partition directory's text to field f's type,
// the inverse of filesink.PartitionValue.
func partitionValue(f rtype.Field, v partValue) (any, error) {
	if !v.ok {
		if !f.Nullable {
			return nil, fmt.Errorf("field %q is null (%s) but not optional", f.Name, filesink.HiveDefaultPartition)
		}
		return nil, nil
	}
	s, t := v.text, f.Type
	bad := func(err error) error {
		if err != nil {
			return fmt.Errorf("%q is not a %s for field %q: %v", s, t, f.Name, err)
		}
		return fmt.Errorf("%q is not a %s for field %q", s, t, f.Name)
	}
	switch t.Kind {
	case rtype.String:
		return s, nil
	case rtype.Int32:
		x, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, bad(nil)
		}
		return int32(x), nil
	case rtype.Int64:
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, bad(nil)
		}
		return x, nil
	case rtype.Bool:
		switch s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, bad(nil)
	case rtype.Date:
		x, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, bad(nil)
		}
		return x, nil
	case rtype.Decimal:
		d, _, err := apd.NewFromString(s)
		if err != nil || d.Form != apd.Finite {
			return nil, bad(nil)
		}
		out := new(apd.Decimal)
		c := apd.BaseContext.WithPrecision(uint32(t.Precision) + 2)
		cond, err := c.Quantize(out, d, int32(-t.Scale))
		if err != nil || cond.Inexact() || out.NumDigits() > int64(t.Precision) {
			return nil, bad(fmt.Errorf("does not fit exactly"))
		}
		return out, nil
	case rtype.Timestamp:
		// The writer's "2006-01-02 15:04:05[.fraction]" in UTC; Parse takes
		// the optional fraction after the seconds.
		x, err := time.Parse(time.DateTime, s)
		if err != nil {
			return nil, bad(nil)
		}
		if truncTime(x, t.Precision) != x {
			return nil, bad(fmt.Errorf("more than %d fractional digits", t.Precision))
		}
		return x, nil
	}
	return nil, fmt.Errorf("field %q is %s, which has no partition directory form", f.Name, t)
}

// unescapePartition inverts filesink.EscapePartition (runtime/sink exports
// no unescape; TestUnescapePartition round-trips through the writer's
// escape so the two cannot drift): "%" and two hex digits is that byte;
// any other "%" is kept, as Hive's FileUtils.unescapePathName does.
func unescapePartition(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			x, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(x))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// apply fills a decoded row's partition columns that the record lacks
// (present(i) false; nil present: the value is null) and then refuses
// nulls in required fields, as the decoder would have.
func (pf *partitionFill) apply(schema *rtype.Type, r row.Row, err error, present func(int) bool) (row.Row, error) {
	if pf == nil || err != nil {
		return r, err
	}
	if len(r) != len(schema.Fields) {
		return nil, fmt.Errorf("record has %d fields, want %d", len(r), len(schema.Fields))
	}
	for k, i := range pf.idx {
		if present != nil && present(i) || present == nil && r[i] != nil {
			continue
		}
		r[i] = pf.value(k)
	}
	for _, i := range pf.idx {
		if r[i] == nil && !schema.Fields[i].Nullable {
			return nil, fmt.Errorf("field %q is null but not optional", schema.Fields[i].Name)
		}
	}
	return r, nil
}

// value is the k-th filled value; each row gets its own decimal, which
// operators may not expect to share.
func (pf *partitionFill) value(k int) any {
	if d, ok := pf.vals[k].(*apd.Decimal); ok {
		return new(apd.Decimal).Set(d)
	}
	return pf.vals[k]
}
