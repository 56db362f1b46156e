package beamrt_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/beamrt"
)

var tradeT = rtype.RecordOf(
	rtype.Field{Name: "symbol", Type: rtype.StringType},
	rtype.Field{Name: "venue", Type: rtype.StringType},
	rtype.Field{Name: "price", Type: rtype.DecimalOf(18, 6)},
	rtype.Field{Name: "size", Type: rtype.Int64Type},
	rtype.Field{Name: "ts", Type: rtype.TimestampMillis},
)

func ref(name string, t *rtype.Type) *ir.Expr {
	return &ir.Expr{Kind: ir.Ref, Path: []string{name}, Type: t, Text: name}
}
func lit(v any, t *rtype.Type) *ir.Expr { return &ir.Expr{Kind: ir.Lit, Value: v, Type: t} }
func call(fn ir.Fn, t *rtype.Type, args ...*ir.Expr) *ir.Expr {
	return &ir.Expr{Kind: ir.Call, Fn: fn, Type: t, Args: args, Text: string(fn)}
}

// vwapPipeline: trades → filter (venue != DARK && size > 0) → window agg → sink.
func vwapPipeline(w *ir.Window) *ir.Pipeline {
	dec := rtype.DecimalOf(38, 6)
	aggOut := rtype.RecordOf(
		rtype.Field{Name: "window_start", Type: rtype.TimestampMillis},
		rtype.Field{Name: "window_end", Type: rtype.TimestampMillis},
		rtype.Field{Name: "symbol", Type: rtype.StringType},
		rtype.Field{Name: "vwap", Type: dec, Nullable: true},
		rtype.Field{Name: "volume", Type: rtype.Int64Type, Nullable: true},
		rtype.Field{Name: "n", Type: rtype.Int64Type},
	)
	return &ir.Pipeline{Name: "vwap", Mode: ir.Streaming, Nodes: []*ir.Node{
		{ID: 1, Name: "trades", Out: tradeT, EventTime: "ts", Op: &ir.Source{
			Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{{Key: "topic", Value: "md.trades"}}},
			Schema:    tradeT, EventTime: "ts", MaxOutOfOrderness: 5 * time.Second, OnError: ir.SkipOnError}},
		{ID: 2, Name: "lit", Inputs: []ir.NodeID{1}, Out: tradeT, Op: &ir.Filter{Where: call(ir.FnAnd, rtype.BoolType,
			call(ir.FnNe, rtype.BoolType, ref("venue", rtype.StringType), lit("DARK", rtype.StringType)),
			call(ir.FnGt, rtype.BoolType, ref("size", rtype.Int64Type), lit(int64(0), rtype.Int64Type)))}},
		{ID: 3, Name: "bars", Inputs: []ir.NodeID{2}, Out: aggOut, Op: &ir.Aggregate{
			Keys:   []ir.Column{{Name: "symbol", Expr: ref("symbol", rtype.StringType)}},
			Window: w,
			Columns: []ir.Column{
				{Name: "vwap", Expr: call(ir.FnDiv, dec,
					call(ir.FnSum, dec, call(ir.FnMul, rtype.DecimalOf(38, 6), ref("price", rtype.DecimalOf(18, 6)), ref("size", rtype.Int64Type))),
					call(ir.FnSum, rtype.Int64Type, ref("size", rtype.Int64Type)))},
				{Name: "volume", Expr: call(ir.FnSum, rtype.Int64Type, ref("size", rtype.Int64Type))},
				{Name: "n", Expr: call(ir.FnCount, rtype.Int64Type)},
			}}},
		{ID: 4, Name: "out", Inputs: []ir.NodeID{3}, Out: aggOut, Op: &ir.Sink{Connector: ir.Connector{Kind: "file"}}},
	}}
}

type trade struct {
	Symbol, Venue string
	Price         string
	Size          int64
	TS            int64
}

func startKafka(t *testing.T, topics ...string) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(topics[0]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return c, cl
}

func produce(t *testing.T, cl *kgo.Client, topic string, vals [][]byte) {
	t.Helper()
	var recs []*kgo.Record
	for _, v := range vals {
		recs = append(recs, &kgo.Record{Topic: topic, Value: v})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func readJSONL(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestTumbleVWAPOnPrism(t *testing.T) { tumbleVWAP(t, false) }

// TestTumbleVWAPUnfused: the same with every operator a separate step.
func TestTumbleVWAPUnfused(t *testing.T) {
	noFusion = true
	defer func() { noFusion = false }()
	tumbleVWAP(t, false)
}

var noFusion bool

// TestBrokerFaults: kfake fails fetches and metadata requests mid-run; the
// output is still complete, with one row per (symbol, window) key.
func TestBrokerFaults(t *testing.T) { tumbleVWAP(t, true) }

func tumbleVWAP(t *testing.T, faults bool) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	c, cl := startKafka(t, "md.trades")
	var injected atomic.Int64
	if faults {
		var fetches atomic.Int64
		c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			if n := fetches.Add(1); n%3 == 2 && injected.Load() < 6 {
				injected.Add(1)
				return nil, errors.New("injected broker failure"), true
			}
			return nil, nil, false
		})
	}
	base := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC).UnixMilli()
	var vals [][]byte
	type agg struct{ pv, vol, n int64 }
	want := map[string]*agg{}
	for i := 0; i < 600; i++ {
		sym := []string{"AAPL", "MSFT", "IBM"}[i%3]
		venue := []string{"XNAS", "ARCX", "DARK"}[i%3*0+i%5%3]
		ts := base + int64(i)*1000 - int64(i%4)*1000 // out of order within 3s
		price := 100 + i%7
		size := int64(i%10) * 10
		vals = append(vals, fmt.Appendf(nil, `{"symbol":%q,"venue":%q,"price":"%d.5","size":%d,"ts":%d}`, sym, venue, price, size, ts))
		if venue != "DARK" && size > 0 {
			ws := (ts / 60000) * 60000
			k := fmt.Sprintf("%d|%s", ws, sym)
			if want[k] == nil {
				want[k] = &agg{}
			}
			want[k].pv += int64(price*10+5) * size // tenths
			want[k].vol += size
			want[k].n++
		}
	}
	vals = append(vals, []byte(`{"symbol": 1}`), []byte(`not json`))
	produce(t, cl, "md.trades", vals)

	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := beamrt.Run(ctx, vwapPipeline(&ir.Window{Kind: ir.Tumble, Size: time.Minute}), beamrt.Options{
		Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: out, NoFusion: noFusion})
	if err != nil {
		t.Fatal(err)
	}
	rows := readJSONL(t, filepath.Join(out, "out.jsonl"))
	if len(rows) != len(want) {
		t.Errorf("got %d rows, want %d", len(rows), len(want))
	}
	var keys []string
	for _, r := range rows {
		ws, _ := time.Parse(time.RFC3339, r["window_start"].(string))
		k := fmt.Sprintf("%d|%s", ws.UnixMilli(), r["symbol"])
		keys = append(keys, k)
		w := want[k]
		if w == nil {
			t.Errorf("unexpected row %v", r)
			continue
		}
		vwap := big.NewRat(w.pv, 10*w.vol).FloatString(6)
		if got := r["vwap"].(json.Number).String(); got != vwap {
			t.Errorf("%s: vwap %s, want %s", k, got, vwap)
		}
		if got := r["volume"].(json.Number).String(); got != fmt.Sprint(w.vol) {
			t.Errorf("%s: volume %s, want %d", k, got, w.vol)
		}
	}
	sort.Strings(keys)
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] {
			t.Errorf("duplicate row for key %s", keys[i])
		}
	}
	if faults && injected.Load() == 0 {
		t.Errorf("no fault was injected")
	}
	t.Logf("%d windows, %d faults injected", len(keys), injected.Load())
}

// TestHopPanesLateOutput: hop 5m/1m computed from 1m panes, allowed
// lateness 10s, and rows later than that routed to the late output.
func TestHopPanesLateOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "md.trades"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	base := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC).UnixMilli()
	var vals [][]byte
	type agg struct{ vol int64 }
	want := map[string]*agg{}
	wantLate := 0
	maxTS := int64(0)
	for i := 0; i < 900; i++ {
		sym := []string{"AAPL", "MSFT"}[i%2]
		ts := base + int64(i)*1000
		if i%100 == 99 {
			ts -= 10 * 60 * 1000 // 10 minutes late: its last window closed long ago
		}
		size := int64(1 + i%10)
		vals = append(vals, fmt.Appendf(nil, `{"symbol":%q,"venue":"XNAS","price":"10","size":%d,"ts":%d}`, sym, size, ts))
		wm := maxTS - 5000
		lastEnd := (ts/60000)*60000 + 5*60000
		if maxTS > 0 && lastEnd+10000 <= wm {
			wantLate++
			continue
		}
		maxTS = max(maxTS, ts)
		for ws := (ts/60000)*60000 - 4*60000; ws <= ts; ws += 60000 {
			k := fmt.Sprintf("%d|%s", ws, sym)
			if want[k] == nil {
				want[k] = &agg{}
			}
			want[k].vol += size
		}
	}
	produce(t, cl, "md.trades", vals)
	pl := vwapPipeline(&ir.Window{Kind: ir.Hop, Size: 5 * time.Minute, Slide: time.Minute})
	aggOp := pl.Nodes[2].Op.(*ir.Aggregate)
	aggOp.AllowedLateness = 10 * time.Second
	aggOp.Late = 5
	pl.Nodes = append(pl.Nodes,
		&ir.Node{ID: 5, Name: "late", Inputs: []ir.NodeID{3}, Out: tradeT, Op: &ir.LateOutput{Of: 3}},
		&ir.Node{ID: 6, Name: "late_sink", Inputs: []ir.NodeID{5}, Out: tradeT, Op: &ir.Sink{Connector: ir.Connector{Kind: "file"}}})
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := beamrt.Run(ctx, pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	rows := readJSONL(t, filepath.Join(out, "out.jsonl"))
	if len(rows) != len(want) {
		t.Errorf("got %d rows, want %d", len(rows), len(want))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		ws, _ := time.Parse(time.RFC3339, r["window_start"].(string))
		we, _ := time.Parse(time.RFC3339, r["window_end"].(string))
		k := fmt.Sprintf("%d|%s", ws.UnixMilli(), r["symbol"])
		if seen[k] {
			t.Errorf("duplicate window %s", k)
		}
		seen[k] = true
		if we.Sub(ws) != 5*time.Minute {
			t.Errorf("%s: window %v..%v", k, ws, we)
		}
		if w := want[k]; w == nil {
			t.Errorf("unexpected row %v", r)
		} else if got := r["volume"].(json.Number).String(); got != fmt.Sprint(w.vol) {
			t.Errorf("%s: volume %s, want %d", k, got, w.vol)
		}
	}
	late := readJSONL(t, filepath.Join(out, "late_sink.jsonl"))
	if len(late) != wantLate || wantLate == 0 {
		t.Errorf("late rows: got %d, want %d", len(late), wantLate)
	}
}
