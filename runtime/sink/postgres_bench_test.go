package sink

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/pgsink"
)

// BenchmarkPostgresWrite measures rows/s into a real PostgreSQL (bars of a
// VWAP aggregate: two timestamps, a symbol, decimal(18,6), int64), by path:
// upserts through COPY + merge, upserts as a pipelined batch of INSERT …
// ON CONFLICT, plain COPY appends; each b.N iteration writes and commits
// one batch of `rows` rows, half of them updates of earlier keys.
func BenchmarkPostgresWrite(b *testing.B) {
	dsn, conn := pgEnv(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		key     []string
		rows    int
		copyMin int
	}{
		{"upsert-copy-merge/batch=5000", []string{"symbol", "window_start"}, 5000, 64},
		{"upsert-copy-merge/batch=500", []string{"symbol", "window_start"}, 500, 64},
		{"upsert-insert-batch/batch=500", []string{"symbol", "window_start"}, 500, 1 << 30},
		{"upsert-insert-batch/batch=50", []string{"symbol", "window_start"}, 50, 1 << 30},
		{"append-copy/batch=5000", nil, 5000, 64},
	} {
		b.Run(tc.name, func(b *testing.B) {
			schema := testSchema(b, conn, uniq("rtsapc_bench"))
			n := sinkNode("postgres", "", barType, tc.key, map[string]any{"table": schema + ".bars", "createTable": true})
			w, err := New(n, Options{DSN: dsn, BatchRows: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			w.(*pgsink.Writer).SetCopyMin(tc.copyMin)
			if err := w.Open(ctx); err != nil {
				b.Fatal(err)
			}
			defer w.Close(ctx)
			start := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
			symbols := []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "JPM"}
			batch := make([]row.Row, tc.rows)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range batch {
					// Keys advance by half a batch per iteration: half of each
					// batch updates rows the previous batch inserted.
					k := i*tc.rows/2 + j
					ws := start.Add(time.Duration(k/len(symbols)) * time.Minute)
					batch[j] = row.Row{ws, ws.Add(5 * time.Minute), symbols[k%len(symbols)],
						apd.New(int64(100_000_000+k), -6), int64(k)}
				}
				if err := w.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
				if err := w.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*tc.rows)/b.Elapsed().Seconds(), "rows/s")
			var count int
			conn.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %q.bars", schema)).Scan(&count)
			if tc.key != nil && count != (b.N+1)*tc.rows/2 {
				b.Fatalf("rows in table = %d, want %d", count, (b.N+1)*tc.rows/2)
			}
		})
	}
}
