package sink

import (
	"context"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2/ocf"
	"github.com/parquet-go/parquet-go"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

func twoRows(t *testing.T) []row.Row {
	r2 := allRow(t, 2)
	r2[1], r2[7], r2[14], r2[12] = nil, dec(t, "-0.5"), nil, []any{}
	return []row.Row{allRow(t, 1), r2}
}

// Parquet files read back with parquet-go: the schema (golden) and the
// physical values, exact decimals and timestamps included.
func TestParquetFile(t *testing.T) {
	p := writeFile(t, "parquet", allType, twoRows(t))
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	golden.File(t, "testdata/all.parquet-schema", []byte(pf.Schema().String()+"\n"))
	if pf.NumRows() != 2 {
		t.Fatalf("rows = %d", pf.NumRows())
	}
	rows := make([]parquet.Row, 2)
	rd := parquet.NewReader(pf)
	if n, err := rd.ReadRows(rows); n != 2 {
		t.Fatalf("read %d rows: %v", n, err)
	}
	col := func(r parquet.Row, name ...string) []parquet.Value {
		leaf, ok := pf.Schema().Lookup(name...)
		if !ok {
			t.Fatalf("no column %v", name)
		}
		var out []parquet.Value
		for _, v := range r {
			if v.Column() == leaf.ColumnIndex {
				out = append(out, v)
			}
		}
		return out
	}
	r := rows[0]
	if got := col(r, "id")[0].Int64(); got != 1 {
		t.Errorf("id = %d", got)
	}
	// decimal(38,10) as 16-byte two's complement of the unscaled value.
	want, _ := new(big.Int).SetString("-123456789012345678901234560123456789", 10)
	if got := fromTwos(col(r, "d")[0].ByteArray()); got.Cmp(want) != 0 {
		t.Errorf("d unscaled = %s, want %s", got, want)
	}
	if got := col(r, "t6")[0].Int64(); got != ts(t, "2026-11-26T09:30:00.123456Z").UnixMicro() {
		t.Errorf("t6 = %d", got)
	}
	if got := col(r, "quote", "at")[0].Int64(); got != ts(t, "2026-11-26T09:30:00.123456789Z").UnixNano() {
		t.Errorf("quote.at = %d", got)
	}
	if got := col(r, "day")[0].Int32(); got != -165 {
		t.Errorf("day = %d, want -165 (1969-07-20)", got)
	}
	if got := col(r, "dur")[0].Int64(); got != int64(90*time.Second) {
		t.Errorf("dur = %d", got)
	}
	// [1.50, null, -0.01]: levels mark the null and the repetitions.
	var prices []string
	for _, v := range col(r, "prices", "list", "element") {
		if v.IsNull() {
			prices = append(prices, "null")
		} else {
			prices = append(prices, big.NewInt(v.Int64()).String())
		}
	}
	if strings.Join(prices, ",") != "150,null,-1" {
		t.Errorf("prices = %v", prices)
	}
	// Row 2: nulls and an empty list.
	r = rows[1]
	if !col(r, "s")[0].IsNull() || !col(r, "quote", "bid")[0].IsNull() {
		t.Error("row 2: s and quote should be null")
	}
	if got := col(r, "dsmall")[0].Int32(); got != -50 {
		t.Errorf("dsmall = %d, want -50", got)
	}
	if e := col(r, "prices", "list", "element"); len(e) != 1 || !e[0].IsNull() || e[0].DefinitionLevel() != 0 {
		t.Errorf("empty list encoded as %v", e)
	}

	// The generic reader sees the same structure.
	f.Seek(0, 0)
	rd = parquet.NewReader(pf)
	m := map[string]any{}
	if err := rd.Read(&m); err != nil {
		t.Fatal(err)
	}
	if m["s"] != allRow(t, 1)[1] || m["i32"] != int32(-7) {
		t.Errorf("generic read: %v", m)
	}
}

func fromTwos(b []byte) *big.Int {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}

// avroRows are twoRows without null list elements (Avro items are not
// nullable).
func avroRows(t *testing.T) []row.Row {
	rows := twoRows(t)
	rows[0][12] = []any{dec(t, "1.5"), dec(t, "-0.01")}
	return rows
}

// Avro container files read back with hamba/avro's ocf decoder.
func TestAvroFile(t *testing.T) {
	p := writeFile(t, "avro", allType, avroRows(t))
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := ocf.NewDecoder(f)
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := encode.AvroSchema(allType, "")
	if got := dec.Metadata()["avro.schema"]; string(got) != schema {
		t.Errorf("schema in file:\n%s\nwant:\n%s", got, schema)
	}
	golden.File(t, "testdata/all.avsc", []byte(schema+"\n"))
	var got []map[string]any
	for dec.HasNext() {
		m := map[string]any{}
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if dec.Error() != nil || len(got) != 2 {
		t.Fatalf("decoded %d records: %v", len(got), dec.Error())
	}
	m := got[0]
	wantD, _ := new(big.Rat).SetString("-12345678901234567890123456.0123456789")
	if d, ok := m["d"].(*big.Rat); !ok || d.Cmp(wantD) != 0 {
		t.Errorf("d = %v (%T)", m["d"], m["d"])
	}
	if x, ok := m["t6"].(time.Time); !ok || !x.Equal(ts(t, "2026-11-26T09:30:00.123456Z")) {
		t.Errorf("t6 = %v", m["t6"])
	}
	q, _ := m["quote"].(map[string]any)
	rec, _ := q["rec1"].(map[string]any)
	if at := rec["at"]; at != ts(t, "2026-11-26T09:30:00.123456789Z").UnixNano() {
		t.Errorf("quote = %#v", m["quote"])
	}
	if m["s"] != allRow(t, 1)[1] {
		t.Errorf("s = %#v", m["s"])
	}
	if got[1]["s"] != nil || got[1]["quote"] != nil {
		t.Errorf("row 2 nulls: %#v", got[1])
	}
	if d, _ := got[1]["dsmall"].(*big.Rat); d == nil || d.String() != "-1/2" {
		t.Errorf("dsmall = %#v", got[1]["dsmall"])
	}
}

func TestAvroNullElementRefused(t *testing.T) {
	n := sinkNode("file", "avro", allType, nil, map[string]any{"path": "x.avro"})
	w := openWriter(t, n, Options{Dir: t.TempDir()})
	defer w.Close(context.Background())
	err := w.Write(context.Background(), twoRows(t))
	if err == nil || !strings.Contains(err.Error(), "null list element") {
		t.Fatalf("err = %v", err)
	}
}

// Names Avro cannot hold are refused when the sink is built, not renamed.
func TestAvroHostileNamesRefused(t *testing.T) {
	for _, name := range hostileNames(t) {
		rec := rtype.RecordOf(rtype.Field{Name: name, Type: rtype.StringType})
		_, err := New(sinkNode("file", "avro", rec, nil, map[string]any{"path": "x.avro"}), Options{})
		valid := encode.CheckAvroNames(rec) == nil
		if valid != (err == nil) {
			t.Errorf("name %q: New error %v, Avro-valid %v", name, err, valid)
		}
		if err != nil && !strings.Contains(err.Error(), "not an Avro name") {
			t.Errorf("name %q: %v", name, err)
		}
	}
}

// Parquet holds any UTF-8 name: hostile names round-trip as columns.
func TestParquetHostileNames(t *testing.T) {
	rec, rows := hostileRows(t)
	var fields []rtype.Field
	r := row.Row{}
	for i, row := range rows {
		n := row[0].(string)
		if strings.ContainsRune(n, 0) {
			continue
		}
		fields = append(fields, rtype.Field{Name: n, Type: rtype.Int64Type})
		r = append(r, int64(i))
	}
	_ = rec
	p := writeFile(t, "parquet", rtype.RecordOf(fields...), []row.Row{r})
	f, _ := os.Open(p)
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	got := pf.Schema().Fields()
	if len(got) != len(fields) {
		t.Fatalf("%d columns, want %d", len(got), len(fields))
	}
	for i, f := range got {
		if f.Name() != fields[i].Name {
			t.Errorf("column %d = %q, want %q", i, f.Name(), fields[i].Name)
		}
	}
}

// Files larger than one block (1 MiB of data) read back whole.
func TestAvroFileManyBlocks(t *testing.T) {
	rows := benchRows(40_000)
	p := writeFile(t, "avro", barType, rows)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := ocf.NewDecoder(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for dec.HasNext() {
		m := map[string]any{}
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		if m["volume"] != int64(n) {
			t.Fatalf("record %d: volume %v", n, m["volume"])
		}
		n++
	}
	if dec.Error() != nil || n != len(rows) {
		t.Fatalf("read %d of %d records: %v", n, len(rows), dec.Error())
	}
}
