package sink

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/filesink"
	"rtsap.dev/rtsapc/runtime/sink/s3"
)

// signalType is nightly-backtest's signal shape, with a nullable symbol to
// exercise the default partition.
var signalType = rtype.RecordOf(
	rtype.Field{Name: "window_start", Type: rtype.TimestampMillis},
	rtype.Field{Name: "symbol", Type: rtype.StringType, Nullable: true},
	rtype.Field{Name: "sma", Type: rtype.DecimalOf(18, 6), Nullable: true},
	rtype.Field{Name: "volume", Type: rtype.Int64Type},
)

func signal(t *testing.T, at string, sym any, sma string, vol int64) row.Row {
	var d any
	if sma != "" {
		d = dec(t, sma)
	}
	return row.Row{ts(t, at), sym, d, vol}
}

// fakeS3Server is gofakes3 (in memory) over HTTP with one bucket.
func fakeS3Server(t *testing.T, bucket string) (*httptest.Server, *s3.Client) {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	return srv, &s3.Client{Endpoint: srv.URL, PathStyle: true, Creds: s3.Credentials{AccessKey: "k", SecretKey: "s"}}
}

// parquetRows reads a Parquet object back: its leaf columns' values per
// row, as text, and the codec of every column chunk.
func parquetRows(t *testing.T, body []byte) (cols []string, rows []string, codecs []format.CompressionCodec) {
	t.Helper()
	pf, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pf.Schema().Columns() {
		cols = append(cols, strings.Join(c, "."))
	}
	for _, rg := range pf.Metadata().RowGroups {
		for _, c := range rg.Columns {
			codecs = append(codecs, c.MetaData.Codec)
		}
	}
	buf := make([]parquet.Row, pf.NumRows())
	rd := parquet.NewReader(pf)
	defer rd.Close()
	n, _ := rd.ReadRows(buf)
	for _, r := range buf[:n] {
		var vs []string
		for _, v := range r {
			switch {
			case v.IsNull():
				vs = append(vs, "null")
			case v.Kind() == parquet.Int64:
				vs = append(vs, fmt.Sprint(v.Int64()))
			default:
				vs = append(vs, v.String())
			}
		}
		rows = append(rows, strings.Join(vs, " "))
	}
	return cols, rows, codecs
}

// partitionBy writes Hive-style prefixes (values escaped as Hive/Spark do,
// null and "" in __HIVE_DEFAULT_PARTITION__), leaves the partition column
// out of the files, and compresses pages with the chosen codec; objects
// are read back from gofakes3 with parquet-go.
func TestS3PartitionedZstd(t *testing.T) {
	srv, cl := fakeS3Server(t, "research-backtests")
	env := map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
	opts := Options{Shard: "b1", LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	n := sinkNode("s3", "", signalType, nil, map[string]any{
		"bucket": "research-backtests", "path": "sma-crossover/signals/", "endpoint": srv.URL,
		"partitionBy": []any{"symbol"}, "compression": "zstd",
	})
	w := openWriter(t, n, opts)
	rows := []row.Row{
		signal(t, "2026-11-26T00:00:00Z", "AAPL", "101.5", 10),
		signal(t, "2026-11-26T00:00:00Z", "BRK/B", "450000.25", 3),
		signal(t, "2026-11-27T00:00:00Z", "AAPL", "", 11),
		signal(t, "2026-11-26T00:00:00Z", nil, "1", 1),
		signal(t, "2026-11-26T00:00:00Z", "", "2", 2),
		signal(t, "2026-11-26T00:00:00Z", "a=b%c:d?e#f\x01\x7f'\"*\\{[]^ ü../", "3", 4),
	}
	if err := w.Write(context.Background(), rows[:3]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(context.Background(), rows[3:]); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if objs, _ := cl.List(ctx, "research-backtests", ""); len(objs) != 0 {
		t.Fatalf("objects before Close: %v", objs)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	objs, err := cl.List(ctx, "research-backtests", "sma-crossover/")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	slices.Sort(keys)
	want := []string{
		"sma-crossover/signals/symbol=AAPL/part-b1.parquet",
		"sma-crossover/signals/symbol=BRK%2FB/part-b1.parquet",
		"sma-crossover/signals/symbol=__HIVE_DEFAULT_PARTITION__/part-b1.parquet",
		"sma-crossover/signals/symbol=a%3Db%25c%3Ad%3Fe%23f%01%7F%27%22%2A%5C%7B%5B%5D%5E ü..%2F/part-b1.parquet",
	}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	ms := func(at string) int64 { return ts(t, at).UnixMilli() }
	wantRows := map[string][]string{
		want[0]: {fmt.Sprint(ms("2026-11-26T00:00:00Z"), " 101500000 10"), fmt.Sprint(ms("2026-11-27T00:00:00Z"), " null 11")},
		want[1]: {fmt.Sprint(ms("2026-11-26T00:00:00Z"), " 450000250000 3")},
		// null and "" share the default partition, in arrival order.
		want[2]: {fmt.Sprint(ms("2026-11-26T00:00:00Z"), " 1000000 1"), fmt.Sprint(ms("2026-11-26T00:00:00Z"), " 2000000 2")},
		want[3]: {fmt.Sprint(ms("2026-11-26T00:00:00Z"), " 3000000 4")},
	}
	for _, k := range want {
		body, err := cl.Get(ctx, "research-backtests", k)
		if err != nil {
			t.Fatal(err)
		}
		cols, got, codecs := parquetRows(t, body)
		if !slices.Equal(cols, []string{"window_start", "sma", "volume"}) {
			t.Errorf("%s: columns %v (the partition column must be left out)", k, cols)
		}
		if !slices.Equal(got, wantRows[k]) {
			t.Errorf("%s: rows\n%q\nwant\n%q", k, got, wantRows[k])
		}
		for _, c := range codecs {
			if c != format.Zstd {
				t.Errorf("%s: codec %v, want ZSTD", k, c)
			}
		}
	}
}

// Every codec the s3 schema names is written; the file sink takes the same
// options (a local directory).
func TestParquetCodecs(t *testing.T) {
	for comp, want := range map[string]format.CompressionCodec{
		"": format.Snappy, "snappy": format.Snappy, "zstd": format.Zstd, "gzip": format.Gzip, "none": format.Uncompressed,
	} {
		dir := t.TempDir()
		opts := map[string]any{"path": dir + "/out/", "partitionBy": []any{"symbol"}}
		if comp != "" {
			opts["compression"] = comp
		}
		w := openWriter(t, sinkNode("file", "parquet", signalType, nil, opts), Options{})
		writeAll(t, w, []row.Row{signal(t, "2026-11-26T00:00:00Z", "MSFT", "1.5", 7)})
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		body, err := os.ReadFile(filepath.Join(dir, "out", "symbol=MSFT", "part.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		_, rows, codecs := parquetRows(t, body)
		if len(rows) != 1 || len(codecs) != 3 || codecs[0] != want {
			t.Errorf("compression %q: rows %v codecs %v, want %v", comp, rows, codecs, want)
		}
	}
}

// Partition values of each kind, and refusals up front.
func TestPartitionValues(t *testing.T) {
	for _, tc := range []struct {
		t    *rtype.Type
		v    any
		want string
	}{
		{rtype.Int64Type, int64(-42), "-42"},
		{rtype.Int32Type, int32(7), "7"},
		{rtype.BoolType, true, "true"},
		{rtype.DateType, ts(t, "2026-11-26T00:00:00Z"), "2026-11-26"},
		{rtype.DecimalOf(10, 2), dec(t, "1.5"), "1.50"},
		{rtype.TimestampOf(6), ts(t, "2026-11-26T09:30:00.120000Z"), "2026-11-26 09:30:00.12"},
		{rtype.TimestampMillis, ts(t, "2026-11-26T09:30:00Z"), "2026-11-26 09:30:00"},
	} {
		got, err := filesink.PartitionValue(tc.t, tc.v)
		if err != nil || got != tc.want {
			t.Errorf("%s %v: %q, %v; want %q", tc.t, tc.v, got, err, tc.want)
		}
	}
	if got := filesink.EscapePartition("dash-ed_ok.1 价格"); got != "dash-ed_ok.1 价格" {
		t.Errorf("plain value escaped: %q", got)
	}
	if got := filesink.EscapePartition("nul\x00\xff"); got != "nul%00%FF" {
		t.Errorf("NUL and invalid UTF-8: %q", got)
	}
	for _, tc := range []struct {
		by   []any
		want string
	}{
		{[]any{"nope"}, `partition column "nope" is not a field`},
		{[]any{"sma", "sma"}, "named twice"},
		{[]any{"volume", "symbol", "sma", "window_start"}, "every column is a partition column"},
	} {
		_, err := New(sinkNode("file", "parquet", signalType, nil, map[string]any{"path": "x/", "partitionBy": tc.by}), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.by, err, tc.want)
		}
	}
	ft := rtype.RecordOf(rtype.Field{Name: "f", Type: rtype.Float64Type}, rtype.Field{Name: "x", Type: rtype.Int64Type})
	if _, err := New(sinkNode("file", "parquet", ft, nil, map[string]any{"path": "x/", "partitionBy": []any{"f"}}), Options{}); err == nil || !strings.Contains(err.Error(), "partition by a string") {
		t.Errorf("float partition: %v", err)
	}
	if _, err := New(sinkNode("file", "avro", signalType, nil, map[string]any{"path": "x/", "compression": "zstd"}), Options{}); err == nil || !strings.Contains(err.Error(), "not supported for avro") {
		t.Errorf("avro zstd: %v", err)
	}
	if _, err := New(sinkNode("file", "parquet", signalType, nil, map[string]any{"path": "x/", "compression": "lzo"}), Options{}); err == nil || !strings.Contains(err.Error(), `compression "lzo"`) {
		t.Errorf("lzo: %v", err)
	}
}
