package beamrt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/beamrt"
	"rtsap.dev/rtsapc/runtime/format"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/filesink"
)

// partT has a partition column of every kind the writer takes.
var partT = rtype.RecordOf(
	rtype.Field{Name: "sym", Type: rtype.StringType, Nullable: true},
	rtype.Field{Name: "day", Type: rtype.DateType},
	rtype.Field{Name: "n", Type: rtype.Int32Type},
	rtype.Field{Name: "flag", Type: rtype.BoolType},
	rtype.Field{Name: "amt", Type: rtype.DecimalOf(10, 2)},
	rtype.Field{Name: "at", Type: rtype.TimestampOf(6)},
	rtype.Field{Name: "qty", Type: rtype.Int64Type},
	rtype.Field{Name: "note", Type: rtype.StringType},
)

var partBy = []string{"sym", "day", "n", "flag", "amt", "at"}

// hostileStrings are /work/shared/hostile/strings.json; the test skips
// loudly without them.
func hostileStrings(t *testing.T) []string {
	t.Helper()
	dir, _ := os.Getwd()
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test")
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "..", "shared", "hostile", "strings.json"))
	if err != nil {
		t.Skipf("SKIPPING: hostile strings absent (%v)", err)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// partRows: every hostile string as a partition value (and as data), a
// plain symbol and a null one.
func partRows(t *testing.T) []row.Row {
	syms := append([]any{"AAPL", nil}, func() (s []any) {
		for _, h := range hostileStrings(t) {
			s = append(s, h)
		}
		return
	}()...)
	base := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	var rows []row.Row
	for i, s := range syms {
		amt, _, _ := apd.NewFromString([]string{"-12.50", "3.07", "0.00", "99999999.99"}[i%4])
		note := fmt.Sprint(s)
		if i%3 == 0 {
			note = "n\u0000:/=%" + note
		}
		rows = append(rows, row.Row{s, base.AddDate(0, 0, i%3).Truncate(24 * time.Hour), int32(i - 5), i%2 == 0, amt,
			base.Add(time.Duration(i) * 1234567 * time.Microsecond), int64(i), note})
	}
	return rows
}

// writePartitioned writes rows with runtime/sink's partitioned writer.
func writePartitioned(t *testing.T, store filesink.Store, dir string, fm filesink.Format, rows []row.Row) {
	t.Helper()
	ctx := context.Background()
	w, err := filesink.NewPartitioned(filesink.Config{Store: store, Name: dir, Format: fm, Record: partT}, partBy, "part-0"+fm.Ext())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// canonical renders rows as sorted JSON lines of partT.
func canonical(rows []row.Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, string(format.AppendJSON(nil, partT, r)))
	}
	slices.Sort(out)
	return out
}

// outRows decodes a run's JSONL output as partT rows.
func outRows(t *testing.T, path string) []row.Row {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := format.NewJSONDecoder(partT)
	var out []row.Row
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		r, err := dec.Decode([]byte(l))
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// TestPartitionedSourcesRoundTrip: rows written by runtime/sink's
// partitioned writer (Parquet to gofakes3, Avro and JSONL to a directory),
// with hostile partition values and a null, read back by the file and S3
// sources equal the rows written. A file that has a partition column keeps
// its own values (here under a directory whose day would not parse).
func TestPartitionedSourcesRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	rows := partRows(t)
	srv, cl := fakeS3(t, "lake")
	writePartitioned(t, filesink.S3{Client: cl, Bucket: "lake"}, "tbl/", filesink.ParquetFormat, rows)
	avroDir, jsonDir := t.TempDir(), t.TempDir()
	writePartitioned(t, filesink.Local{Dir: avroDir}, "", filesink.AvroFormat, rows)
	writePartitioned(t, filesink.Local{Dir: jsonDir}, "", filesink.JSONLFormat, rows)

	// Files that carry every column, under contradicting directories.
	whole := row.Row{"file-wins", rows[0][1], int32(7), true, rows[0][4], rows[0][5], int64(100), "whole"}
	ctx := context.Background()
	for _, f := range []struct {
		store filesink.Store
		name  string
		fm    filesink.Format
	}{
		{filesink.S3{Client: cl, Bucket: "lake"}, "tbl/sym=ZZZ/day=not-a-date/whole.parquet", filesink.ParquetFormat},
		{filesink.Local{Dir: avroDir}, "sym=ZZZ/day=not-a-date/whole.avro", filesink.AvroFormat},
	} {
		w, err := filesink.New(filesink.Config{Store: f.store, Name: f.name, Format: f.fm, Record: partT})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Open(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, []row.Row{whole}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A JSON line has no schema: its own sym wins, the path gives the rest.
	if err := os.MkdirAll(filepath.Join(jsonDir, "sym=ZZZ", "day=2026-01-02", "n=7", "flag=true", "amt=1.5", "at=2026-01-02 03%3A04%3A05.5"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(jsonDir, "sym=ZZZ", "day=2026-01-02", "n=7", "flag=true", "amt=1.5", "at=2026-01-02 03%3A04%3A05.5", "x.jsonl"),
		[]byte(`{"sym":"file-wins","qty":101,"note":"line"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	amt, _, _ := apd.NewFromString("1.50")
	line := row.Row{"file-wins", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), int32(7), true, amt,
		time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC), int64(101), "line"}

	src := func(id ir.NodeID, name, kind string, opts ...ir.Option) *ir.Node {
		return &ir.Node{ID: id, Name: name, Out: partT, Op: &ir.Source{
			Connector: ir.Connector{Kind: kind, Options: opts}, Schema: partT, Bounded: true}}
	}
	sinkOf := func(id, in ir.NodeID, name string) *ir.Node {
		return &ir.Node{ID: id, Name: name, Inputs: []ir.NodeID{in}, Out: partT, Op: &ir.Sink{Connector: ir.Connector{Kind: "file"}}}
	}
	pl := &ir.Pipeline{Name: "partitions", Mode: ir.Batch, Nodes: []*ir.Node{
		src(1, "pq", "s3", ir.Option{Key: "bucket", Value: "lake"}, ir.Option{Key: "path", Value: "tbl/"}, ir.Option{Key: "endpoint", Value: srv.URL}),
		src(2, "av", "file", ir.Option{Key: "path", Value: avroDir}),
		src(3, "js", "file", ir.Option{Key: "path", Value: jsonDir}),
		sinkOf(4, 1, "pq_out"), sinkOf(5, 2, "av_out"), sinkOf(6, 3, "js_out"),
	}}
	out := t.TempDir()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := beamrt.Run(rctx, pl, beamrt.Options{Bounded: true, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		extra row.Row
	}{{"pq_out", whole}, {"av_out", whole}, {"js_out", line}} {
		got := canonical(outRows(t, filepath.Join(out, tc.name+".jsonl")))
		want := canonical(append(slices.Clone(rows), tc.extra))
		if !slices.Equal(got, want) {
			t.Errorf("%s: rows\n%s\nwant\n%s", tc.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestPartitionedSourceErrors: a partition value that does not parse, and
// the default (null) partition of a required field, are malformed records
// naming the file, under the source's onError policy.
func TestPartitionedSourceErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	dir := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec := `{"sym":"A","flag":true,"amt":"1.00","at":"2026-01-02T03:04:05Z","qty":1,"note":"x"}` + "\n"
	write("day=2026-01-02/n=1/good.jsonl", rec)
	write("day=2026-01-02/n=abc/bad-int.jsonl", rec)
	write("day=__HIVE_DEFAULT_PARTITION__/n=1/null-day.jsonl", rec)
	write("day=2026-02-30/n=1/bad-date.jsonl", rec)
	pl := &ir.Pipeline{Name: "partition-errors", Mode: ir.Batch, Nodes: []*ir.Node{
		{ID: 1, Name: "in", Out: partT, Op: &ir.Source{
			Connector: ir.Connector{Kind: "file", Options: []ir.Option{{Key: "path", Value: dir}}},
			Schema:    partT, OnError: ir.DeadLetterErr, DeadLetter: 2, Bounded: true}},
		{ID: 2, Name: "bad", Inputs: []ir.NodeID{1}, Out: ir.DeadLetterType, Op: &ir.DeadLetter{Source: 1}},
		{ID: 3, Name: "rows", Inputs: []ir.NodeID{1}, Out: partT, Op: &ir.Sink{Connector: ir.Connector{Kind: "file"}}},
		{ID: 4, Name: "dead", Inputs: []ir.NodeID{2}, Out: ir.DeadLetterType, Op: &ir.Sink{Connector: ir.Connector{Kind: "file"}}},
	}}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := beamrt.Run(ctx, pl, beamrt.Options{Bounded: true, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	if got := outRows(t, filepath.Join(out, "rows.jsonl")); len(got) != 1 || got[0][2] != int32(1) {
		t.Errorf("rows %v, want the good file's one row", got)
	}
	want := map[string]string{
		"bad-int.jsonl":  `partition directory n=abc: "abc" is not a int32 for field "n"`,
		"null-day.jsonl": `partition directory day=__HIVE_DEFAULT_PARTITION__: field "day" is null (__HIVE_DEFAULT_PARTITION__) but not optional`,
		"bad-date.jsonl": `partition directory day=2026-02-30: "2026-02-30" is not a date for field "day"`,
	}
	dead := readJSONL(t, filepath.Join(out, "dead.jsonl"))
	if len(dead) != len(want) {
		t.Errorf("%d dead letters, want %d: %v", len(dead), len(want), dead)
	}
	for _, d := range dead {
		topic, _ := d["topic"].(string)
		w, ok := want[filepath.Base(topic)]
		if !ok || d["error"] != w || !strings.HasPrefix(topic, dir) {
			t.Errorf("dead letter %v; want error %q", d, w)
		}
	}

	// The fail policy stops the run with an error naming the file.
	fail := &ir.Pipeline{Name: "partition-errors-fail", Mode: ir.Batch, Nodes: []*ir.Node{
		{ID: 1, Name: "in", Out: partT, Op: &ir.Source{
			Connector: ir.Connector{Kind: "file", Options: []ir.Option{{Key: "path", Value: dir}}},
			Schema:    partT, Bounded: true}},
		{ID: 2, Name: "rows", Inputs: []ir.NodeID{1}, Out: partT, Op: &ir.Sink{Connector: ir.Connector{Kind: "file"}}},
	}}
	err := beamrt.Run(ctx, fail, beamrt.Options{Bounded: true, OutDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "malformed record in "+dir) || !strings.Contains(err.Error(), "partition directory ") {
		t.Errorf("fail policy: %v", err)
	}
}
