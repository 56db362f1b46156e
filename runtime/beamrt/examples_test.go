package beamrt_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/backends/beamgo"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/internal/market"
	"rtsap.dev/rtsapc/lang/cuespec"
	"rtsap.dev/rtsapc/runtime/beamrt"
	"rtsap.dev/rtsapc/runtime/row"
)

func exampleDir(t *testing.T, name string) string {
	dir, _ := os.Getwd()
	return filepath.Join(dir, "..", "..", "examples", name)
}

// runExample compiles an example, feeds n events per source into kfake
// (kept rows returned by source name) and runs the pipeline bounded.
func runExample(t *testing.T, name string, n, badEvery int) (*ir.Pipeline, map[string][]row.Row, string) {
	t.Helper()
	f, ds := cuespec.Load(&cuespec.Config{Dir: exampleDir(t, name)}, []string{"."})
	if ds.HasErrors() {
		t.Fatalf("load: %v", ds)
	}
	prog, cds := compiler.Compile(f, &compiler.Config{})
	if cds.HasErrors() {
		t.Fatalf("compile: %v", cds)
	}
	pl := prog.Pipelines[0]
	if ds := beamgo.Check(pl); ds.HasErrors() {
		t.Skipf("example %s does not run on the Beam runtime yet: %v", name, ds.Errs()[0].Detail)
	}
	var topics []string
	for _, s := range pl.Sources() {
		if k := s.Op.(*ir.Source).Connector.Kind; k != "kafka" && k != "upsert-kafka" {
			t.Skipf("pipeline %s reads %s, not Kafka: run by examples_io_test.go", pl.Name, k)
		}
		topics = append(topics, beamrt.Topic(&s.Op.(*ir.Source).Connector))
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	kept := map[string][]row.Row{}
	for i, s := range pl.Sources() {
		op := s.Op.(*ir.Source)
		fd := market.NewFeed(op.Schema, op.EventTime, market.Config{Seed: int64(7 + i), Rate: 50, MaxOutOfOrder: op.MaxOutOfOrderness, BadEvery: badEvery})
		enc, err := fd.NewEncoder(op.Connector.Format)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := market.Produce(context.Background(), cl, beamrt.Topic(&op.Connector), fd, enc, n, true)
		if err != nil {
			t.Fatal(err)
		}
		kept[s.Name] = rows
	}
	out := t.TempDir()
	beamrt.ResetWatermarks()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := beamrt.Run(ctx, pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: out, StartOffset: "earliest"}); err != nil {
		t.Fatal(err)
	}
	return pl, kept, out
}

type barWant struct {
	pv            *apd.Decimal
	vol, trades   int64
	high, low     *apd.Decimal
	firstT, lastT time.Time
	first, lastPx *apd.Decimal
}

// TestExampleEquitiesVWAP recomputes the 1-minute bars and the 5-minute
// sliding VWAP from the generated trades and compares every row.
func TestExampleEquitiesVWAP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	pl, kept, out := runExample(t, "equities-vwap", 12000, 1000)
	trades := kept["trades"]
	schema := pl.Lookup("trades").Out
	idx := map[string]int{}
	for i, f := range schema.Fields {
		idx[f.Name] = i
	}
	bars := map[string]*barWant{}
	hop := map[string]*barWant{}
	add := func(m map[string]*barWant, k string, r row.Row) {
		p := r[idx["price"]].(*apd.Decimal)
		s := r[idx["size"]].(int64)
		ts := r[idx["ts"]].(time.Time)
		w := m[k]
		if w == nil {
			w = &barWant{pv: new(apd.Decimal), high: p, low: p, first: p, lastPx: p, firstT: ts, lastT: ts}
			m[k] = w
		}
		pv := new(apd.Decimal)
		apd.BaseContext.WithPrecision(38).Mul(pv, p, apd.New(s, 0))
		apd.BaseContext.WithPrecision(38).Add(w.pv, w.pv, pv)
		w.vol += s
		w.trades++
		if p.Cmp(w.high) > 0 {
			w.high = p
		}
		if p.Cmp(w.low) < 0 {
			w.low = p
		}
		// event-time ties: first keeps the lower price, last the higher
		if ts.Before(w.firstT) || (ts.Equal(w.firstT) && p.Cmp(w.first) < 0) {
			w.firstT, w.first = ts, p
		}
		if ts.After(w.lastT) || (ts.Equal(w.lastT) && p.Cmp(w.lastPx) > 0) {
			w.lastT, w.lastPx = ts, p
		}
	}
	for _, r := range trades {
		if r[idx["venue"]] == "DARK" || r[idx["size"]].(int64) <= 0 || r[idx["cond"]] != nil {
			continue
		}
		ts := r[idx["ts"]].(time.Time).UnixMilli()
		sym := r[idx["symbol"]].(string)
		add(bars, fmt.Sprintf("%d|%s", ts/60000*60000, sym), r)
		for ws := ts/60000*60000 - 4*60000; ws <= ts; ws += 60000 {
			add(hop, fmt.Sprintf("%d|%s", ws, sym), r)
		}
	}
	vwap := func(w *barWant) string {
		num, _ := new(big.Rat).SetString(w.pv.Text('f'))
		return new(big.Rat).Quo(num, big.NewRat(w.vol, 1)).FloatString(6)
	}
	check := func(file string, want map[string]*barWant, ohlc bool) {
		rows := readJSONL(t, filepath.Join(out, file))
		if len(rows) != len(want) {
			t.Errorf("%s: %d rows, want %d", file, len(rows), len(want))
			for _, r := range rows {
				t.Logf("%v", r)
			}
		}
		for _, r := range rows {
			ws, _ := time.Parse(time.RFC3339, r["window_start"].(string))
			k := fmt.Sprintf("%d|%s", ws.UnixMilli(), r["symbol"])
			w := want[k]
			if w == nil {
				t.Errorf("%s: unexpected %v", file, r)
				continue
			}
			num := func(f string) string { return r[f].(json.Number).String() }
			if got := num("vwap"); got != vwap(w) {
				t.Errorf("%s %s: vwap %s, want %s", file, k, got, vwap(w))
			}
			if got := num("volume"); got != fmt.Sprint(w.vol) {
				t.Errorf("%s %s: volume %s, want %d", file, k, got, w.vol)
			}
			if ohlc {
				for f, d := range map[string]*apd.Decimal{"open": w.first, "high": w.high, "low": w.low, "close": w.lastPx} {
					if got := num(f); got != d.Text('f') {
						t.Errorf("%s %s: %s %s, want %s", file, k, f, got, d.Text('f'))
					}
				}
			}
		}
	}
	check("bars.jsonl", bars, true)
	check("vwap.jsonl", hop, false)
	// Every 1000th payload was malformed: the dead-letter output has each,
	// with the source, offset, payload and the decoding error.
	dead := readJSONL(t, filepath.Join(out, "dead_letters.jsonl"))
	if len(dead) != 12 {
		t.Errorf("dead letters: %d, want 12", len(dead))
	}
	for _, d := range dead {
		if d["source"] != "trades" || d["error"] == "" || d["payload"] == "" {
			t.Errorf("dead letter %v", d)
		}
	}
}

// TestExamplesRun: every example the Beam runtime can express runs to
// completion on its generated feed and writes rows to its sinks.
func TestExamplesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	entries, err := os.ReadDir(exampleDir(t, ""))
	if err != nil {
		t.Skipf("EXAMPLES MISSING: %v", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			pl, _, out := runExample(t, e.Name(), 1000, 0)
			total := 0
			for _, s := range pl.Sinks() {
				if b, err := os.ReadFile(filepath.Join(out, beamrt.SinkFileName(s))); err == nil {
					total += len(b)
				}
			}
			if total == 0 {
				t.Errorf("no sink of %s wrote a row", pl.Name)
			}
		})
	}
}
