package sink

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/runtime/row"
)

// hostileRows carries every hostile name as a value and a map key.
func hostileRows(t *testing.T) (*rtype.Type, []row.Row) {
	rec := rtype.RecordOf(
		rtype.Field{Name: "name", Type: rtype.StringType},
		rtype.Field{Name: "by", Type: rtype.MapOf(rtype.StringType)},
	)
	var rows []row.Row
	for _, n := range hostileNames(t) {
		rows = append(rows, row.Row{n, map[string]any{n: n}})
	}
	return rec, rows
}

func TestStdoutJSONLGolden(t *testing.T) {
	var buf bytes.Buffer
	w, err := New(sinkNode("stdout", "", allType, nil, nil), Options{Stdout: &buf})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r2 := allRow(t, 2)
	r2[1], r2[7], r2[14] = nil, dec(t, "0.5"), nil
	if err := w.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, []row.Row{allRow(t, 1), r2}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	golden.File(t, "testdata/all.jsonl", buf.Bytes())
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("invalid JSON line: %s", line)
		}
	}
}

// Hostile strings survive as JSON values and keys, one line per row.
func TestJSONLHostile(t *testing.T) {
	rec, rows := hostileRows(t)
	dir := t.TempDir()
	n := sinkNode("file", "", rec, nil, map[string]any{"path": "out/hostile.jsonl"})
	w := openWriter(t, n, Options{Dir: dir})
	writeAll(t, w, rows)
	// Not visible before Close.
	if _, err := os.Stat(filepath.Join(dir, "out/hostile.jsonl")); err == nil {
		t.Fatal("file visible before Close")
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out/hostile.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != len(rows) {
		t.Fatalf("%d lines for %d rows", len(lines), len(rows))
	}
	for i, line := range lines {
		var got struct {
			Name string            `json:"name"`
			By   map[string]string `json:"by"`
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		n := rows[i][0].(string)
		if got.Name != n || got.By[n] != n {
			t.Errorf("line %d: %+v, want %q", i, got, n)
		}
	}
}

func TestFileNames(t *testing.T) {
	for _, tc := range []struct{ path, format, shard, want string }{
		{"out/bars.jsonl", "", "", "out/bars.jsonl"},
		{"out/bars.parquet", "", "3", "out/bars-3.parquet"},
		{"out/", "avro", "", "out/part.avro"},
		{"out/", "parquet", "w1", "out/part-w1.parquet"},
	} {
		f, err := fileFormat(&sinkNode("file", tc.format, barType, nil, map[string]any{"path": tc.path}).Op.(*ir.Sink).Connector, tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := objectName(tc.path, f, tc.shard); got != tc.want {
			t.Errorf("objectName(%q, %s, %q) = %q, want %q", tc.path, f, tc.shard, got, tc.want)
		}
	}
}

func writeFile(t *testing.T, format string, rec *rtype.Type, rows []row.Row) string {
	t.Helper()
	dir := t.TempDir()
	n := sinkNode("file", format, rec, nil, map[string]any{"path": "out/"})
	w := openWriter(t, n, Options{Dir: dir, Shard: "0"})
	writeAll(t, w, rows)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "out"))
	if len(ents) != 1 {
		t.Fatalf("files in out/: %v (want one, no temporaries)", ents)
	}
	return filepath.Join(dir, "out", ents[0].Name())
}

// Two writers of one file in a process would overwrite each other at
// Close: the second Open is refused; with shards both write.
func TestFileSameTargetRefused(t *testing.T) {
	dir := t.TempDir()
	n := sinkNode("file", "jsonl", barType, nil, map[string]any{"path": "out/"})
	a := openWriter(t, n, Options{Dir: dir})
	b, _ := New(n, Options{Dir: dir})
	if err := b.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "Shard") {
		t.Fatalf("second writer: %v", err)
	}
	c := openWriter(t, n, Options{Dir: dir, Shard: "1"})
	writeAll(t, a, bars(t, 1, "5"))
	writeAll(t, c, bars(t, 2, "5"))
	a.Close(context.Background())
	c.Close(context.Background())
	// Closed: the name is free again.
	d := openWriter(t, n, Options{Dir: dir})
	d.Close(context.Background())
	ents, _ := os.ReadDir(filepath.Join(dir, "out"))
	if len(ents) != 2 {
		t.Fatalf("files: %v", ents)
	}
}

func TestFileExistingDirectory(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	w := openWriter(t, sinkNode("file", "jsonl", barType, nil, map[string]any{"path": "out"}), Options{Dir: dir})
	writeAll(t, w, bars(t, 1, "5"))
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "part.jsonl")); err != nil {
		t.Fatal(err)
	}
}

// Every hostile string value survives JSONL, CSV and PostgreSQL (the NUL
// byte, which text columns cannot hold, is refused there).
func TestHostileStringValues(t *testing.T) {
	strs := hostileStrings(t)
	rec := rtypeStringRecord()
	var rows []row.Row
	for i, s := range strs {
		rows = append(rows, row.Row{int64(i), s})
	}
	for _, f := range []string{"jsonl", "csv"} {
		b, _ := os.ReadFile(writeFile(t, f, rec, rows))
		var got []string
		switch f {
		case "jsonl":
			for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				var v struct{ S string }
				if err := json.Unmarshal([]byte(line), &v); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				got = append(got, v.S)
			}
		case "csv":
			recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs[1:] {
				got = append(got, r[1])
			}
		}
		for i := range strs {
			if i >= len(got) || got[i] != strs[i] {
				t.Errorf("%s: value %d = %q, want %q", f, i, got, strs[i])
				break
			}
		}
	}
}
