package beamrt_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/beamrt"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/filesink"
)

// TestFileSourceMalformed: a directory of JSONL, Parquet and Avro files,
// some of them broken (a bad line, garbage named .parquet and .avro, a
// truncated Parquet file), read with the deadletter policy: good rows come
// out, each broken record or file is one dead letter naming its file, and
// nothing panics. Hidden files and _markers are not read.
func TestFileSourceMalformed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.jsonl", `{"symbol":"AAPL","venue":"XNAS","price":"1.5","size":1,"ts":"2026-11-26T09:30:00Z"}`+"\n"+
		"{not json\n"+`{"symbol":"MSFT","venue":"XNAS","price":"2.5","size":2,"ts":"2026-11-26T09:30:01Z"}`+"\n")
	write("b.parquet", "PAR1 garbage")
	write("c.avro", "Obj\x01 garbage")
	write("_SUCCESS", "")
	write(".hidden.jsonl", "garbage")
	ctx := context.Background()
	for _, f := range []struct {
		name string
		fm   filesink.Format
	}{{"d.parquet", filesink.ParquetFormat}, {"e.avro", filesink.AvroFormat}} {
		w, err := filesink.New(filesink.Config{Store: filesink.Local{Dir: dir}, Name: f.name, Format: f.fm, Record: tradeT})
		if err != nil {
			t.Fatal(err)
		}
		p, _, _ := apd.NewFromString("3.250000")
		ts := time.Date(2026, 11, 26, 9, 31, 0, 0, time.UTC)
		if err := w.Open(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, []row.Row{{"IBM", "XNYS", p, int64(3), ts}, {"IBM", "XNYS", p, int64(4), ts.Add(time.Second)}}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A Parquet file cut in half.
	b, _ := os.ReadFile(filepath.Join(dir, "d.parquet"))
	write("f.parquet", string(b[:len(b)/2]))

	pl := &ir.Pipeline{Name: "files", Mode: ir.Batch, Nodes: []*ir.Node{
		{ID: 1, Name: "in", Out: tradeT, EventTime: "ts", Op: &ir.Source{
			Connector: ir.Connector{Kind: "file", Options: []ir.Option{{Key: "path", Value: dir}}},
			Schema:    tradeT, EventTime: "ts", OnError: ir.DeadLetterErr, DeadLetter: 2, Bounded: true}},
		{ID: 2, Name: "bad", Inputs: []ir.NodeID{1}, Out: ir.DeadLetterType, Op: &ir.DeadLetter{Source: 1}},
		{ID: 3, Name: "rows", Inputs: []ir.NodeID{1}, Out: tradeT, Op: &ir.Sink{Connector: ir.Connector{Kind: "file"}}},
		{ID: 4, Name: "dead", Inputs: []ir.NodeID{2}, Out: ir.DeadLetterType, Op: &ir.Sink{Connector: ir.Connector{Kind: "file"}}},
	}}
	out := t.TempDir()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := beamrt.Run(rctx, pl, beamrt.Options{Bounded: true, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	rows := readJSONL(t, filepath.Join(out, "rows.jsonl"))
	if len(rows) != 6 {
		t.Errorf("rows: %d, want 6 (2 JSONL, 2 Parquet, 2 Avro): %v", len(rows), rows)
	}
	dead := readJSONL(t, filepath.Join(out, "dead.jsonl"))
	var where []string
	for _, d := range dead {
		where = append(where, filepath.Base(d["topic"].(string)))
		if d["source"] != "in" || d["error"] == "" {
			t.Errorf("dead letter %v", d)
		}
	}
	got := strings.Join(sortedStrings(where), ",")
	if got != "a.jsonl,b.parquet,c.avro,f.parquet" {
		t.Errorf("dead letters from %s, want a.jsonl,b.parquet,c.avro,f.parquet", got)
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
