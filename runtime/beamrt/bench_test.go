package beamrt_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/cockroachdb/apd/v3"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/internal/market"
	"rtsap.dev/rtsapc/runtime/beamrt"
)

// The hand-written baseline: what a Beam Go user writes for a sliding
// VWAP — decode to a struct, key by symbol, sliding windows, CombinePerKey
// with a sum accumulator.
type benchTrade struct {
	Symbol string
	Price  float64
	Size   int64
}

type vwapAcc struct {
	PV  float64
	Vol int64
}

type vwapCombine struct{}

func (vwapCombine) CreateAccumulator() vwapAcc { return vwapAcc{} }
func (vwapCombine) AddInput(a vwapAcc, t benchTrade) vwapAcc {
	a.PV += t.Price * float64(t.Size)
	a.Vol += t.Size
	return a
}
func (vwapCombine) MergeAccumulators(a, b vwapAcc) vwapAcc {
	return vwapAcc{a.PV + b.PV, a.Vol + b.Vol}
}
func (vwapCombine) ExtractOutput(a vwapAcc) float64 {
	if a.Vol == 0 {
		return 0
	}
	return a.PV / float64(a.Vol)
}

func toTrade(r beamrt.Rec, emit func(string, benchTrade)) {
	if r.Row[1] == "DARK" || r.Row[3].(int64) <= 0 {
		return
	}
	p, _ := r.Row[2].(*apd.Decimal).Float64()
	emit(r.Row[0].(string), benchTrade{Symbol: r.Row[0].(string), Price: p, Size: r.Row[3].(int64)})
}

var benchOut int64

func countOut(_ string, v float64) { benchOut++ }

func init() {
	beam.RegisterType(reflect.TypeOf(benchTrade{}))
	beam.RegisterType(reflect.TypeOf(vwapAcc{}))
	register.Combiner3[vwapAcc, benchTrade, float64](&vwapCombine{})
	register.Function2x0(toTrade)
	register.Emitter2[string, benchTrade]()
	register.Function2x0(countOut)
}

const benchTrades = 1_000_000

func benchKafka(b *testing.B, n int) *kfake.Cluster {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "md.trades"))
	if err != nil {
		b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	fd := market.NewFeed(tradeT, "ts", market.Config{Seed: 1, Rate: 1000, MaxOutOfOrder: 4 * time.Second})
	enc, _ := fd.NewEncoder("json")
	if _, err := market.Produce(context.Background(), cl, "md.trades", fd, enc, n, false); err != nil {
		b.Fatal(err)
	}
	return c
}

func benchN() int {
	if os.Getenv("RTSAPC_BENCH_SMALL") != "" {
		return 100_000
	}
	return benchTrades
}

// BenchmarkVWAPGenerated: the IR pipeline (hop 5m/1m as 1m panes, lifted
// combiners) over 1M trades from kfake on Prism. Run with -benchtime=1x.
func BenchmarkVWAPGenerated(b *testing.B) {
	n := benchN()
	c := benchKafka(b, n)
	defer c.Close()
	pl := vwapPipeline(&ir.Window{Kind: ir.Hop, Size: 5 * time.Minute, Slide: time.Minute})
	out := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		beamrt.ResetWatermarks()
		start := time.Now()
		if err := beamrt.Run(context.Background(), pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: out}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "trades/s")
	}
}

// BenchmarkVWAPGeneratedUnfused: the same pipeline, every operator its own
// Beam step (no partial aggregation in the source).
func BenchmarkVWAPGeneratedUnfused(b *testing.B) {
	n := benchN()
	c := benchKafka(b, n)
	defer c.Close()
	pl := vwapPipeline(&ir.Window{Kind: ir.Hop, Size: 5 * time.Minute, Slide: time.Minute})
	out := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		beamrt.ResetWatermarks()
		start := time.Now()
		if err := beamrt.Run(context.Background(), pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: out, NoFusion: true}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "trades/s")
	}
}

// BenchmarkVWAPHandWritten: the idiomatic Beam Go pipeline over the same
// Kafka source.
func BenchmarkVWAPHandWritten(b *testing.B) {
	n := benchN()
	c := benchKafka(b, n)
	defer c.Close()
	pl := vwapPipeline(nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		beamrt.ResetWatermarks()
		start := time.Now()
		e, err := beamrt.Encode(pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true})
		if err != nil {
			b.Fatal(err)
		}
		p, s := beam.NewPipelineWithRoot()
		rows, _, err := beamrt.Source(s.Scope("trades"), e.Ref(1))
		if err != nil {
			b.Fatal(err)
		}
		kv := beam.ParDo(s, toTrade, rows)
		w := beam.WindowInto(s, window.NewSlidingWindows(time.Minute, 5*time.Minute), kv)
		vwap := beam.CombinePerKey(s, &vwapCombine{}, w)
		beam.ParDo0(s, countOut, vwap)
		if _, err := prism.Execute(context.Background(), p); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "trades/s")
	}
}

// BenchmarkKafkaRead: raw franz-go consumption of the same topic from
// kfake, the ceiling of the Kafka path.
func BenchmarkKafkaRead(b *testing.B) {
	n := benchN()
	c := benchKafka(b, n)
	defer c.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"md.trades": {0: kgo.NewOffset().AtStart()}}))
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for got < n {
			fs := cl.PollRecords(context.Background(), 10000)
			got += fs.NumRecords()
		}
		cl.Close()
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
	}
	_ = fmt.Sprint()
}
