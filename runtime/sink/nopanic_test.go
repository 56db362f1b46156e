package sink

import (
	"context"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/jackc/pgx/v5"

	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
	"rtsap.dev/rtsapc/runtime/sink/mongosink"
	"rtsap.dev/rtsapc/runtime/sink/pgsink"
)

// Every encoder meets values of the wrong Go type, typed nils, NaNs and
// out-of-range numbers in every column: each is an error or a value, never
// a panic.
func TestNoPanicOnBadValues(t *testing.T) {
	nan := apd.New(0, 0)
	nan.Form = apd.NaN
	bad := []any{nil, (*apd.Decimal)(nil), nan, 3, "x", 1.5, float32(math.Inf(1)), math.NaN(), []any{1, nil},
		map[string]any{"a": 1, "b": nil}, row.Row{1}, row.Row(nil), time.Time{}, time.Date(12000, 1, 1, 0, 0, 0, 1, time.UTC),
		[]byte(nil), true, time.Duration(1), int64(math.MinInt64), int32(0), struct{}{}}

	pgConf, _ := pgx.ParseConfig("postgres://localhost/x")
	pg, err := pgsink.New(pgsink.Config{Conn: pgConf, Table: pgsink.Table{Name: "t"}, Record: allType, Key: []string{"id"}})
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := mongosink.NewDocuments(allType, []string{"id"})
	bin, err := encode.NewAvroBinary(allType)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []Writer
	for i, f := range []string{"parquet", "avro", "csv", "jsonl"} {
		w, err := New(sinkNode("file", f, allType, nil, map[string]any{"path": fmt.Sprintf("%s/%d/", dir, i)}), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer w.Close(context.Background())
		files = append(files, w)
	}
	table, _ := New(sinkNode("stdout", "table", allType, nil, nil), Options{Stdout: io.Discard})

	ctx := context.Background()
	for col := range allType.Fields {
		for _, v := range bad {
			r := allRow(t, 1)
			r[col] = v
			rows := []row.Row{r}
			name := fmt.Sprintf("column %s value %#v", allType.Fields[col].Name, v)
			try := func(what string, f func()) {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s: %s panicked: %v", name, what, p)
					}
				}()
				f()
			}
			try("json", func() { encode.AppendJSONRow(nil, allType, r) })
			try("avro", func() { bin.Append(nil, r) })
			try("postgres", func() { pg.Write(ctx, rows) })
			try("mongodb", func() { docs.Build(r) })
			try("table", func() { table.Write(ctx, rows) })
			for i, w := range files {
				try(fmt.Sprint("file ", i), func() { w.Write(ctx, rows) })
			}
		}
	}
}
