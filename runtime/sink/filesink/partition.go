package filesink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

// HiveDefaultPartition names the directory of null (and empty string)
// partition values, as Hive and Spark do.
const HiveDefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// Partitioned writes rows into Hive-style directories of their partition
// columns' values, <Dir><col>=<value>/…/<File>, one file per partition
// (created at the partition's first row, published at Close). As Spark and
// Hive do, the partition columns are left out of the files: their values
// live in the path only.
type Partitioned struct {
	cfg   Config // Name: the directory ("" or ending in "/"); Record: the kept columns
	orig  *rtype.Type
	file  string
	cols  []int // partition columns
	keep  []int // the other columns, in order
	parts map[string]*Writer
}

// NewPartitioned checks the partition columns (present, distinct, of a
// type with a path form, not all of the record) and the file config of the
// remaining columns. cfg.Name is the directory prefix; file is the file
// name inside each partition directory.
func NewPartitioned(cfg Config, by []string, file string) (*Partitioned, error) {
	if cfg.Record == nil || cfg.Record.Kind != rtype.Record {
		return nil, fmt.Errorf("file %s: row type %s is not a record", cfg.Name, cfg.Record)
	}
	if cfg.Name != "" && !strings.HasSuffix(cfg.Name, "/") {
		return nil, fmt.Errorf("file %s: a partitioned sink writes under a directory (end the path with /)", cfg.Name)
	}
	if file == "" || strings.Contains(file, "/") {
		return nil, fmt.Errorf("file %s: bad partition file name %q", cfg.Name, file)
	}
	p := &Partitioned{cfg: cfg, orig: cfg.Record, file: file, parts: map[string]*Writer{}}
	for _, name := range by {
		i := slices.IndexFunc(cfg.Record.Fields, func(f rtype.Field) bool { return f.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("file %s: partition column %q is not a field of %s", cfg.Name, name, cfg.Record)
		}
		if slices.Contains(p.cols, i) {
			return nil, fmt.Errorf("file %s: partition column %q is named twice", cfg.Name, name)
		}
		switch cfg.Record.Fields[i].Type.Kind {
		case rtype.String, rtype.Int32, rtype.Int64, rtype.Bool, rtype.Date, rtype.Decimal, rtype.Timestamp:
		default:
			return nil, fmt.Errorf("file %s: partition column %q is %s; partition by a string, integer, boolean, date, decimal or timestamp column", cfg.Name, name, cfg.Record.Fields[i].Type)
		}
		p.cols = append(p.cols, i)
	}
	if len(p.cols) == 0 {
		return nil, fmt.Errorf("file %s: no partition columns", cfg.Name)
	}
	var rest []rtype.Field
	for i, f := range cfg.Record.Fields {
		if !slices.Contains(p.cols, i) {
			p.keep = append(p.keep, i)
			rest = append(rest, f)
		}
	}
	if len(rest) == 0 {
		return nil, fmt.Errorf("file %s: every column is a partition column; the files would have none", cfg.Name)
	}
	p.cfg.Record = rtype.RecordOf(rest...)
	// Check the file format of the remaining columns now.
	fc := p.cfg
	fc.Name += file
	if _, err := New(fc); err != nil {
		return nil, err
	}
	return p, nil
}

// Open does nothing: partition files are created at their first row.
func (p *Partitioned) Open(context.Context) error { return nil }

// Write routes each row to its partition's file.
func (p *Partitioned) Write(ctx context.Context, rows []row.Row) error {
	var order []string
	groups := map[string][]row.Row{}
	for _, r := range rows {
		if len(r) != len(p.cols)+len(p.keep) {
			return fmt.Errorf("file %s: row has %d values, record has %d fields", p.cfg.Name, len(r), len(p.cols)+len(p.keep))
		}
		dir, err := p.dir(r)
		if err != nil {
			return fmt.Errorf("file %s: %w", p.cfg.Name, err)
		}
		out := make(row.Row, len(p.keep))
		for j, i := range p.keep {
			out[j] = r[i]
		}
		if _, ok := groups[dir]; !ok {
			order = append(order, dir)
		}
		groups[dir] = append(groups[dir], out)
	}
	for _, dir := range order {
		w, ok := p.parts[dir]
		if !ok {
			c := p.cfg
			c.Name = p.cfg.Name + dir + p.file
			var err error
			if w, err = New(c); err != nil {
				return err
			}
			if err := w.Open(ctx); err != nil {
				return err
			}
			p.parts[dir] = w
		}
		if err := w.Write(ctx, groups[dir]); err != nil {
			return err
		}
	}
	return nil
}

// Flush does nothing: files become visible, whole, at Close.
func (p *Partitioned) Flush(context.Context) error { return nil }

// Close finishes every partition's file, then publishes them all; if one
// cannot be finished, none is published.
func (p *Partitioned) Close(ctx context.Context) error {
	dirs := make([]string, 0, len(p.parts))
	for d := range p.parts {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	var errs []error
	for _, d := range dirs {
		if err := p.parts[d].finish(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		for _, d := range dirs {
			p.parts[d].abort(ctx)
		}
		clear(p.parts)
		return errors.Join(errs...)
	}
	for _, d := range dirs {
		if err := p.parts[d].commit(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	clear(p.parts)
	return errors.Join(errs...)
}

// Files is the number of partition files open.
func (p *Partitioned) Files() int { return len(p.parts) }

// dir is the row's partition directory, "col=value/…/".
func (p *Partitioned) dir(r row.Row) (string, error) {
	var b strings.Builder
	for _, i := range p.cols {
		field := p.orig.Fields[i]
		v, err := PartitionValue(field.Type, r[i])
		if err != nil {
			return "", fmt.Errorf("partition column %q: %w", field.Name, err)
		}
		b.WriteString(EscapePartition(field.Name))
		b.WriteByte('=')
		if v == "" {
			b.WriteString(HiveDefaultPartition)
		} else {
			b.WriteString(EscapePartition(v))
		}
		b.WriteByte('/')
	}
	return b.String(), nil
}

// PartitionValue is the text of a partition value before escaping ("" for
// null, which becomes the default partition): strings as they are,
// integers and booleans in decimal and true/false, dates 2006-01-02,
// decimals with their scale's digits, timestamps in UTC as Spark writes
// them, "2006-01-02 15:04:05[.fraction]" without trailing zeros.
func PartitionValue(t *rtype.Type, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	switch t.Kind {
	case rtype.String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case rtype.Int32:
		if x, ok := v.(int32); ok {
			return strconv.FormatInt(int64(x), 10), nil
		}
	case rtype.Int64:
		if x, ok := v.(int64); ok {
			return strconv.FormatInt(x, 10), nil
		}
	case rtype.Bool:
		if x, ok := v.(bool); ok {
			return strconv.FormatBool(x), nil
		}
	case rtype.Date:
		if x, ok := v.(time.Time); ok {
			return x.UTC().Format(time.DateOnly), nil
		}
	case rtype.Decimal:
		if x, ok := v.(*apd.Decimal); ok && x != nil {
			return encode.DecimalText(x, t.Precision, t.Scale)
		}
	case rtype.Timestamp:
		if x, ok := v.(time.Time); ok {
			x, err := encode.CheckTime(x, t.Precision)
			if err != nil {
				return "", err
			}
			return x.Format("2006-01-02 15:04:05.999999999"), nil
		}
	}
	return "", fmt.Errorf("value of Go type %T where %s is expected", v, t)
}

// EscapePartition escapes a partition column name or value as Hive's
// FileUtils.escapePathName and Spark's ExternalCatalogUtils do: '%' and
// two hex digits for control characters, '"', '#', '%', '\”, '*', '/',
// ':', '=', '?', '\\', DEL, '{', '[', ']' and '^'. NUL, which they leave,
// is escaped too (no file system or object store takes it), and so are the
// bytes of invalid UTF-8 (S3 keys are UTF-8). Other characters are kept.
func EscapePartition(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				fmt.Fprintf(&b, "%%%02X", c)
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		if c < 0x20 || c == 0x7f || strings.IndexByte("\"#%'*/:=?\\{[]^", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
		i++
	}
	return b.String()
}
