package sink

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/runtime/row"
)

func benchRows(n int) []row.Row {
	start := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	symbols := []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "JPM"}
	rows := make([]row.Row, n)
	for k := range rows {
		ws := start.Add(time.Duration(k/len(symbols)) * time.Minute)
		rows[k] = row.Row{ws, ws.Add(5 * time.Minute), symbols[k%len(symbols)], apd.New(int64(100_000_000+k), -6), int64(k)}
	}
	return rows
}

// BenchmarkFileWrite: rows/s of each file format on local disk (one
// 10,000-row file per iteration, published at Close).
func BenchmarkFileWrite(b *testing.B) {
	rows := benchRows(10_000)
	for _, f := range []string{"jsonl", "csv", "parquet", "avro"} {
		b.Run(f, func(b *testing.B) {
			dir := b.TempDir()
			n := sinkNode("file", f, barType, nil, map[string]any{"path": "out/"})
			for i := 0; i < b.N; i++ {
				w := openWriter(b, n, Options{Dir: dir})
				writeAll(b, w, rows)
				if err := w.Close(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkKafkaProduce: rows/s produced to an in-process kfake broker and
// acknowledged (Flush), keyed, per format.
func BenchmarkKafkaProduce(b *testing.B) {
	rows := benchRows(10_000)
	for _, f := range []string{"json", "avro"} {
		b.Run(f, func(b *testing.B) {
			c := newCluster(b, "bench")
			w := openWriter(b, sinkNode("kafka", f, barType, []string{"symbol", "window_start"}, map[string]any{"topic": "bench"}),
				Options{Brokers: c.ListenAddrs()})
			defer w.Close(context.Background())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				writeAll(b, w, rows)
			}
			b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
