package beamrt_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
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
	"rtsap.dev/rtsapc/runtime/cep"
	"rtsap.dev/rtsapc/runtime/row"
)

// TestExamplePricePatterns runs examples/price-patterns on Prism with
// kfake over a volatile generated feed and compares the spikes and
// reversals found with a brute-force search over the same rows: per
// symbol in event-time order, the earliest start that completes a match
// within the window wins, and the next search starts past its last row
// (skip past last row; a later start waits for an earlier one, as in
// Flink's NFA).
func TestExamplePricePatterns(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	f, ds := cuespec.Load(&cuespec.Config{Dir: exampleDir(t, "price-patterns")}, []string{"."})
	if ds.HasErrors() {
		t.Fatalf("load: %v", ds)
	}
	prog, cds := compiler.Compile(f, &compiler.Config{})
	if cds.HasErrors() {
		t.Fatalf("compile: %v", cds)
	}
	pl := prog.Pipelines[0]
	if ds := beamgo.Check(pl); ds.HasErrors() {
		t.Fatalf("beam check: %v", ds)
	}
	src := pl.Sources()[0]
	op := src.Op.(*ir.Source)
	topic := beamrt.Topic(&op.Connector)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// 0.3% per trade: a 2% move within a minute is common.
	fd := market.NewFeed(op.Schema, op.EventTime, market.Config{Seed: 11, Rate: 50, MaxOutOfOrder: op.MaxOutOfOrderness, Volatility: 0.003})
	enc, err := fd.NewEncoder(op.Connector.Format)
	if err != nil {
		t.Fatal(err)
	}
	trades, err := market.Produce(context.Background(), cl, topic, fd, enc, 3000, true)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	beamrt.ResetWatermarks()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := beamrt.Run(ctx, pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: out, StartOffset: "earliest"}); err != nil {
		t.Fatal(err)
	}

	// The lit filter, by hand; then each symbol's rows in the matcher's
	// order (event time; ties by value).
	idx := map[string]int{}
	for i, fl := range op.Schema.Fields {
		idx[fl.Name] = i
	}
	lit := map[string]bool{"XNAS": true, "XNYS": true, "ARCX": true, "BATS": true, "IEXG": true}
	bySym := map[string][]row.Row{}
	for _, r := range trades {
		if lit[r[idx["venue"]].(string)] && r[idx["size"]].(int64) >= 100 {
			s := r[idx["symbol"]].(string)
			bySym[s] = append(bySym[s], r)
		}
	}
	ts := func(r row.Row) int64 { return r[idx["ts"]].(time.Time).UnixMilli() }
	px := func(r row.Row) float64 {
		d := r[idx["price"]].(*apd.Decimal)
		f, _ := d.Float64()
		return f
	}
	var wantSpikes, wantRevs, wantBlocks []string
	key := func(sym string, a, b row.Row) string {
		return fmt.Sprintf("%s %s %s %s %s", sym, time.UnixMilli(ts(a)).UTC().Format(time.RFC3339Nano),
			time.UnixMilli(ts(b)).UTC().Format(time.RFC3339Nano), decText(a[idx["price"]]), decText(b[idx["price"]]))
	}
	for sym, rs := range bySym {
		sort.SliceStable(rs, func(i, j int) bool {
			if ts(rs[i]) != ts(rs[j]) {
				return ts(rs[i]) < ts(rs[j])
			}
			return cep.CompareRows(rs[i], rs[j]) < 0
		})
		// spikes: A M*? B within 1m, B a 2% move from A.
		for i := 0; i < len(rs); {
			end := -1
			for j := i + 1; j < len(rs) && ts(rs[j])-ts(rs[i]) < 60_000; j++ {
				if math.Abs(px(rs[j])/px(rs[i])-1.0) >= 0.02 {
					end = j
					break
				}
			}
			if end < 0 {
				i++
				continue
			}
			wantSpikes = append(wantSpikes, key(sym, rs[i], rs[end]))
			i = end + 1
		}
		// reversals: A U{3,} D{3} within 2m: at least three rises from A,
		// then three falls (an equal price ends the run).
		for i := 0; i < len(rs); {
			end := -1
			in := func(j int) bool { return j < len(rs) && ts(rs[j])-ts(rs[i]) < 120_000 }
			j, up, prev := i+1, 0, px(rs[i])
			for in(j) && px(rs[j]) > prev {
				prev, up, j = px(rs[j]), up+1, j+1
			}
			if up >= 3 {
				down := 0
				for down < 3 && in(j) && px(rs[j]) < prev {
					prev, down, j = px(rs[j]), down+1, j+1
				}
				if down == 3 {
					end = j - 1
				}
			}
			if end < 0 {
				i++
				continue
			}
			wantRevs = append(wantRevs, fmt.Sprintf("%s %s", key(sym, rs[i], rs[end]), decText(rs[i+up][idx["price"]])))
			i = end + 1
		}
		// block moves: a print of 10,000 shares, then a 0.5% move within
		// 30 s; skip to next row, so every block starts its own match.
		for i := range rs {
			if rs[i][idx["size"]].(int64) < 10_000 {
				continue
			}
			for j := i + 1; j < len(rs) && ts(rs[j])-ts(rs[i]) < 30_000; j++ {
				if math.Abs(px(rs[j])/px(rs[i])-1.0) >= 0.005 {
					wantBlocks = append(wantBlocks, key(sym, rs[i], rs[j]))
					break
				}
			}
		}
	}
	sinks := map[string]*ir.Node{}
	for _, s := range pl.Sinks() {
		sinks[s.Name] = s
	}
	read := func(sink, a, b, pa, pb, extra string) []string {
		var res []string
		for _, r := range readJSONLMaybe(t, filepath.Join(out, beamrt.SinkFileName(sinks[sink]))) {
			k := fmt.Sprintf("%s %s %s %s %s", r["symbol"], canonTime(t, r[a]), canonTime(t, r[b]), decText(r[pa]), decText(r[pb]))
			if extra != "" {
				k += " " + decText(r[extra])
			}
			res = append(res, k)
		}
		return res
	}
	compare := func(what string, got, want []string, atLeast int) {
		sort.Strings(got)
		sort.Strings(want)
		if len(want) < atLeast {
			t.Errorf("%s: the feed produced only %d (want ≥ %d): the test would prove little", what, len(want), atLeast)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s differ: %d rows, want %d\ngot:\n  %s\nwant:\n  %s", what, len(got), len(want),
				strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
	t.Logf("%d trades: %d spikes, %d reversals, %d block moves expected", len(trades), len(wantSpikes), len(wantRevs), len(wantBlocks))
	compare("spikes", read("spike_alerts", "start_ts", "spike_ts", "start_price", "spike_price", ""), wantSpikes, 20)
	compare("reversals", read("reversal_alerts", "start_ts", "end_ts", "start_price", "end_price", "turn_price"), wantRevs, 5)
	compare("block moves", read("block_alerts", "block_ts", "move_ts", "block_price", "move_price", ""), wantBlocks, 0)
}

// decText renders a decimal (a row's *apd.Decimal or a JSON number or
// string) by value.
func decText(v any) string {
	var s string
	switch x := v.(type) {
	case *apd.Decimal:
		s = x.Text('f')
	case nil:
		return "null"
	default:
		s = fmt.Sprint(x)
	}
	d, _, err := apd.NewFromString(s)
	if err != nil {
		return s
	}
	r, _ := d.Reduce(d)
	return r.Text('f')
}

func canonTime(t *testing.T, v any) string {
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Errorf("timestamp %v: %v", v, err)
		return fmt.Sprint(v)
	}
	return ts.UTC().Format(time.RFC3339Nano)
}

func readJSONLMaybe(t *testing.T, path string) []map[string]any {
	if m, _ := filepath.Glob(path); len(m) == 0 {
		return nil
	}
	return readJSONL(t, path)
}
