package filesink

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

// Cell renders one value as text for CSV and tables: strings as they are,
// numbers, decimals (exactly s digits), timestamps and dates as in JSON
// without quotes, bytes in base64, lists, maps and records as their JSON;
// null is "".
func Cell(t *rtype.Type, v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		if t.Kind == rtype.String {
			return x, nil
		}
	case *apd.Decimal:
		if t.Kind == rtype.Decimal && x != nil && x.Form == apd.Finite {
			return encode.DecimalText(x, t.Precision, t.Scale)
		}
	case time.Time:
		if t.Kind == rtype.Timestamp {
			return encode.TimeText(x, t.Precision)
		}
	}
	b, err := encode.AppendJSON(nil, t, v)
	if err != nil {
		return "", err
	}
	if s := string(b); len(s) >= 2 && s[0] == '"' {
		return strconv.Unquote(s) // JSON strings of scalars (dates, NaN, bytes)
	}
	return string(b), nil
}

// csvEncoder writes RFC 4180 CSV with a header of the field names.
type csvEncoder struct {
	rec  *rtype.Type
	w    *csv.Writer
	cell []string
}

func newCSVEncoder(out io.Writer, rec *rtype.Type) (*csvEncoder, error) {
	e := &csvEncoder{rec: rec, w: csv.NewWriter(out), cell: make([]string, len(rec.Fields))}
	if err := e.w.Write(rec.FieldNames()); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *csvEncoder) write(rows []row.Row) error {
	for _, r := range rows {
		if len(r) != len(e.rec.Fields) {
			return fmt.Errorf("row has %d values, record has %d fields", len(r), len(e.rec.Fields))
		}
		for i, f := range e.rec.Fields {
			var err error
			if e.cell[i], err = Cell(f.Type, r[i]); err != nil {
				return fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		if err := e.w.Write(e.cell); err != nil {
			return err
		}
	}
	return nil
}

func (e *csvEncoder) close() error {
	e.w.Flush()
	return e.w.Error()
}

// Table prints rows as aligned columns for people (the stdout sink's
// table format): a header once, then each flushed batch. Cells with
// control characters are shown quoted, so a value cannot break the layout.
type Table struct {
	rec    *rtype.Type
	out    io.Writer
	header bool
	rows   [][]string
}

// NewTable returns a table printer of rows of rec onto out.
func NewTable(out io.Writer, rec *rtype.Type) *Table { return &Table{rec: rec, out: out} }

// Open does nothing.
func (t *Table) Open(context.Context) error { return nil }

// Write renders the rows' cells; they print at Flush.
func (t *Table) Write(_ context.Context, rows []row.Row) error {
	for _, r := range rows {
		if len(r) != len(t.rec.Fields) {
			return fmt.Errorf("table: row has %d values, record has %d fields", len(r), len(t.rec.Fields))
		}
		cells := make([]string, len(r))
		for i, f := range t.rec.Fields {
			c, err := Cell(f.Type, r[i])
			if err != nil {
				return fmt.Errorf("table: field %q: %w", f.Name, err)
			}
			if r[i] == nil {
				c = "NULL"
			}
			cells[i] = visible(c)
		}
		t.rows = append(t.rows, cells)
	}
	return nil
}

func visible(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

// Flush prints the pending rows (and the header the first time).
func (t *Table) Flush(context.Context) error {
	if len(t.rows) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(t.out, 0, 4, 2, ' ', 0)
	if !t.header {
		names := make([]string, len(t.rec.Fields))
		for i, n := range t.rec.FieldNames() {
			names[i] = visible(n)
		}
		fmt.Fprintln(tw, strings.Join(names, "\t"))
		t.header = true
	}
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	t.rows = t.rows[:0]
	return tw.Flush()
}

// Close flushes.
func (t *Table) Close(ctx context.Context) error { return t.Flush(ctx) }
