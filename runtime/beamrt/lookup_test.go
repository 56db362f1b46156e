package beamrt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/runtime/beamrt"
)

// TestLookupPostgres enriches trades with a reference table in a real
// PostgreSQL (RTSAPC_PG_DSN): a left lookup keeps trades without a row, an
// inner one drops them; keys with two rows give two.
func TestLookupPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	dsn := os.Getenv("RTSAPC_PG_DSN")
	if dsn == "" {
		t.Skip("RTSAPC_PG_DSN IS NOT SET: the PostgreSQL lookup test needs a server (CI starts one with .ci/postgres.sh)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("lookup_%d", time.Now().UnixNano())
	for _, q := range []string{
		`CREATE SCHEMA ` + schema,
		`CREATE TABLE ` + schema + `.refdata (symbol text, sector text, lot integer, fee numeric(10,4), listed timestamptz)`,
		`INSERT INTO ` + schema + `.refdata VALUES ('AAPL', 'tech', 100, 0.0015, '2020-01-02T00:00:00.000Z'), ('XOM', 'energy', 100, 0.0020, NULL), ('XOM', 'energy-2', 10, NULL, NULL)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`) })
	pl := compileSpec(t, fmt.Sprintf(`
package l

import (
	"rtsap.dev/rtsap"
	"rtsap.dev/rtsap/connect/kafka"
	"rtsap.dev/rtsap/connect/postgres"
)

_lk: {
	from: "trades"
	table: postgres.#Table & {table: "%s.refdata"}
	schema: rtsap.#Record & {symbol: "string", sector: "string", lot: "int32", fee?: "decimal(10,4)", listed?: "timestamp(3)"}
	on: ["symbol"]
	cacheTTL: "1m"
	select: {symbol: "left.symbol", size: "left.size", sector: "right.sector", lots: "left.size / right.lot", fee: "right.fee", listed: "right.listed"}
}

pipelines: lk: rtsap.#Pipeline & {
	engine: "beam"
	owner:  "test"
	sources: trades: kafka.#Source & {topic: "t", format: "json", schema: rtsap.#Record & {symbol: "string", size: "int64", ts: "timestamp(3)"}, eventTime: field: "ts"}
	transforms: {
		lefts:  rtsap.#Lookup & _lk & {type: "left"}
		inners: rtsap.#Lookup & _lk & {type: "inner"}
	}
	sinks: {
		out_left:  kafka.#Sink & {from: "lefts", topic: "l"}
		out_inner: kafka.#Sink & {from: "inners", topic: "i"}
	}
}
`, schema))
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	var vals [][]byte
	for i, s := range []string{"AAPL", "XOM", "MSFT", "AAPL"} {
		vals = append(vals, fmt.Appendf(nil, `{"symbol":%q,"size":%d,"ts":%d}`, s, 200*(i+1), 1764167400000+int64(i)*1000))
	}
	produce(t, cl, "t", vals)
	dir := t.TempDir()
	beamrt.ResetWatermarks()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := beamrt.Run(rctx, pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	rows := func(name string) string {
		var out []string
		for _, r := range readJSONL(t, filepath.Join(dir, name+".jsonl")) {
			out = append(out, fmt.Sprintf("%v/%v/%v/%v/%v/%v", r["symbol"], r["size"], r["sector"], r["lots"], r["fee"], r["listed"]))
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	wantInner := "AAPL/200/tech/2/0.0015/2020-01-02T00:00:00.000Z AAPL/800/tech/8/0.0015/2020-01-02T00:00:00.000Z XOM/400/energy-2/40/<nil>/<nil> XOM/400/energy/4/0.0020/<nil>"
	if got := rows("out_inner"); got != wantInner {
		t.Errorf("inner lookup:\n got %s\nwant %s", got, wantInner)
	}
	wantLeft := "AAPL/200/tech/2/0.0015/2020-01-02T00:00:00.000Z AAPL/800/tech/8/0.0015/2020-01-02T00:00:00.000Z MSFT/600/<nil>/<nil>/<nil>/<nil> XOM/400/energy-2/40/<nil>/<nil> XOM/400/energy/4/0.0020/<nil>"
	if got := rows("out_left"); got != wantLeft {
		t.Errorf("left lookup:\n got %s\nwant %s", got, wantLeft)
	}
}
