package beamrt_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kmsg"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/beamrt"
)

// pgDSN returns $RTSAPC_PG_DSN or skips loudly.
func pgDSN(t *testing.T) string {
	dsn := os.Getenv("RTSAPC_PG_DSN")
	if dsn == "" {
		t.Skip("RTSAPC_PG_DSN IS NOT SET: skipping the PostgreSQL sink test (eval \"$(bash .ci/postgres.sh)\" starts one)")
	}
	return dsn
}

// TestPostgresSinkBrokerFaults: a Prism run reads trades from kfake while
// kfake fails fetches, list-offsets and metadata requests, aggregates
// 1-minute VWAP bars and upserts them into a real PostgreSQL table on the
// key (window_start, symbol), created by the sink. Every window is there
// exactly once with the values computed here; a second run over the same
// topic (a replay) leaves the table unchanged.
func TestPostgresSinkBrokerFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	dsn := pgDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	schema := fmt.Sprintf("beamrt_pg_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
	})

	c, cl := startKafka(t, "md.trades")
	var injected atomic.Int64
	for _, key := range []kmsg.Key{kmsg.Fetch, kmsg.ListOffsets, kmsg.Metadata} {
		var seen atomic.Int64
		c.ControlKey(int16(key), func(kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			if n := seen.Add(1); n%3 == 2 && injected.Load() < 12 {
				injected.Add(1)
				return nil, errors.New("injected broker failure"), true
			}
			return nil, nil, false
		})
	}
	base := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC).UnixMilli()
	type agg struct{ pv, vol int64 }
	want := map[string]*agg{}
	var vals [][]byte
	for i := 0; i < 1500; i++ {
		sym := []string{"AAPL", "MSFT", "IBM", "O'REILLY \"Q\""}[i%4]
		ts := base + int64(i)*400 - int64(i%3)*500
		price := 100 + i%11
		size := int64(1 + i%9)
		vals = append(vals, fmt.Appendf(nil, `{"symbol":%q,"venue":"XNAS","price":"%d.5","size":%d,"ts":%d}`, sym, price, size, ts))
		k := fmt.Sprintf("%d|%s", ts/60000*60000, sym)
		if want[k] == nil {
			want[k] = &agg{}
		}
		want[k].pv += int64(price*10+5) * size
		want[k].vol += size
	}
	produce(t, cl, "md.trades", vals)

	pl := vwapPipeline(&ir.Window{Kind: ir.Tumble, Size: time.Minute})
	sinkNode := pl.Nodes[len(pl.Nodes)-1]
	sinkNode.Op = &ir.Sink{
		Connector: ir.Connector{Kind: "postgres", Options: []ir.Option{
			{Key: "createTable", Value: true},
			{Key: "table", Value: schema + ".vwap_1m"},
		}},
		Key: []string{"window_start", "symbol"},
	}
	opts := beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, DSN: dsn}
	for run := 1; run <= 2; run++ {
		beamrt.ResetWatermarks()
		if err := beamrt.Run(ctx, pl, opts); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		rows, err := conn.Query(ctx, `SELECT window_start, symbol, vwap::text, volume FROM "`+schema+`".vwap_1m`)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		n := 0
		for rows.Next() {
			var ws time.Time
			var sym, vwap string
			var vol int64
			if err := rows.Scan(&ws, &sym, &vwap, &vol); err != nil {
				t.Fatal(err)
			}
			n++
			k := fmt.Sprintf("%d|%s", ws.UnixMilli(), sym)
			if got[k] {
				t.Errorf("run %d: duplicate key %s", run, k)
			}
			got[k] = true
			w := want[k]
			if w == nil {
				t.Errorf("run %d: unexpected row %s", run, k)
				continue
			}
			if wv := big.NewRat(w.pv, 10*w.vol).FloatString(6); vwap != wv || vol != w.vol {
				t.Errorf("run %d: %s: vwap %s volume %d, want %s %d", run, k, vwap, vol, wv, w.vol)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != len(want) {
			t.Errorf("run %d: %d rows, want %d (every window once)", run, n, len(want))
		}
	}
	if injected.Load() == 0 {
		t.Error("no broker fault was injected")
	}
	t.Logf("%d windows upserted twice; %d broker faults injected", len(want), injected.Load())
}
