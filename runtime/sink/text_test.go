package sink

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"testing"
	"time"

	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/runtime/sink/pgsink"
)

func TestCSVFileGolden(t *testing.T) {
	p := writeFile(t, "csv", allType, twoRows(t))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	golden.File(t, "testdata/all.csv", b)
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) != 3 || recs[1][1] != allRow(t, 1)[1] || recs[1][6] != "-12345678901234567890123456.0123456789" {
		t.Fatalf("csv read back: %v %q", err, recs)
	}
}

func TestStdoutTableGolden(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(sinkNode("stdout", "table", barType, nil, nil), Options{Stdout: &buf})
	if err != nil {
		t.Fatal(err)
	}
	rows := bars(t, 4, "5")
	rows[1][3] = nil
	rows[2][2] = "tab\there\nnew line"
	writeAll(t, w, rows[:2])
	writeAll(t, w, rows[2:])
	w.Close(context.Background())
	golden.File(t, "testdata/bars.table", buf.Bytes())
}

// Equal rows give byte-identical files (no clock, random sync marker or
// map order in the output).
func TestFilesDeterministic(t *testing.T) {
	for _, f := range []string{"parquet", "avro", "jsonl", "csv"} {
		rows := twoRows(t)
		if f == "avro" {
			rows = avroRows(t)
		}
		a, _ := os.ReadFile(writeFile(t, f, allType, rows))
		b, _ := os.ReadFile(writeFile(t, f, allType, rows))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: two writes of the same rows differ (%d, %d bytes)", f, len(a), len(b))
		}
	}
}

// The DDL as sent to PostgreSQL, reviewed in the golden file.
func TestPostgresDDLGolden(t *testing.T) {
	var out []byte
	add := func(stmts []string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stmts {
			out = append(out, s+";\n"...)
		}
	}
	add(pgsink.CreateTableSQL(pgsink.ParseTable("", "analytics.all"), allType, []string{"id"}, nil))
	add(pgsink.CreateTableSQL(pgsink.ParseTable("", "vwap_5m"), barType, []string{"symbol", "window_start"},
		&pgsink.Hypertable{TimeColumn: "window_start"}))
	add(pgsink.CreateTableSQL(pgsink.ParseTable("we\"ird\nschema", "'); DROP TABLE trades;--"), barType, nil, nil))
	ins, merge, err := pgsink.UpsertSQL(pgsink.ParseTable("", "analytics.vwap_5m"), barType.FieldNames(), []string{"symbol", "window_start"}, `"rtsapc_stage"`)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, ins+";\n"+merge+";\n"...)
	q, args := pgsink.HypertableSQL(pgsink.ParseTable("", "analytics.vwap_5m"), &pgsink.Hypertable{TimeColumn: "window_start", Chunk: 24 * time.Hour})
	out = append(out, fmt.Sprintf("%s; -- %q\n", q, args)...)
	golden.File(t, "testdata/ddl.sql", out)
}
