package beamrt

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/format"
	"rtsap.dev/rtsapc/runtime/row"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(Partition), error](&listPartitionsFn{})
	register.Emitter1[Partition]()
	register.DoFn6x2[context.Context, *sdf.ManualWatermarkEstimator, *sdf.LockRTracker, Partition,
		func(beam.EventTime, Rec), func(beam.EventTime, Rec), sdf.ProcessContinuation, error](&readFn{})
	register.Emitter2[beam.EventTime, Rec]()
}

// Partition is one Kafka partition to read, with its offset range.
type Partition struct {
	Brokers   string
	Topic     string
	Partition int32
	Start     int64
	End       int64 // exclusive; -1: unbounded
}

// Brokers returns the bootstrap servers of a connector: the run-time
// override, else the "brokers" / "bootstrapServers" option (a string with
// commas, or a list).
func Brokers(c *ir.Connector, override string) []string {
	if override != "" {
		return splitList(override)
	}
	for _, k := range []string{"brokers", "bootstrapServers", "bootstrap.servers", "servers"} {
		if o, ok := c.Option(k); ok {
			switch v := o.Value.(type) {
			case string:
				return splitList(v)
			case []any:
				var out []string
				for _, x := range v {
					if s, ok := x.(string); ok {
						out = append(out, s)
					}
				}
				return out
			}
		}
	}
	return []string{"localhost:9092"}
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// Topic returns the topic option of a Kafka connector.
func Topic(c *ir.Connector) string { return c.String("topic", "") }

// stopSources, when set, makes every reader in this process finish at its
// current position (rtsapc run --duration): windows then flush.
var stopSources atomic.Bool

// StopSources asks in-process Kafka readers to finish cleanly.
func StopSources() { stopSources.Store(true) }

// ResetSources clears StopSources (tests running several pipelines).
func ResetSources() { stopSources.Store(false) }

// listPartitionsFn turns the impulse into the partitions of the topic,
// with their start offsets and (bounded) the end offsets present now.
type listPartitionsFn struct {
	NodeRef
}

func (fn *listPartitionsFn) ProcessElement(ctx context.Context, _ []byte, emit func(Partition)) error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	src := n.Op.(*ir.Source)
	brokers := Brokers(&src.Connector, p.Options.Brokers)
	topic := Topic(&src.Connector)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return fmt.Errorf("source %q: kafka client: %v", n.Name, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var starts, ends kadm.ListedOffsets
	for attempt := 0; ; attempt++ {
		starts, err = adm.ListStartOffsets(ctx, topic)
		if err == nil {
			err = starts.Error()
		}
		if err == nil && (src.Bounded || p.Options.Bounded) {
			ends, err = adm.ListEndOffsets(ctx, topic)
			if err == nil {
				err = ends.Error()
			}
		}
		if err == nil || attempt >= 20 || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // transient broker errors
	}
	if err != nil {
		return fmt.Errorf("source %q: listing partitions of topic %q on %s: %v", n.Name, topic, strings.Join(brokers, ","), err)
	}
	if len(starts[topic]) == 0 {
		return fmt.Errorf("source %q: topic %q does not exist on %s", n.Name, topic, strings.Join(brokers, ","))
	}
	start := p.Options.StartOffset
	if start == "" {
		start = src.Connector.String("startingOffsets", "earliest")
	}
	latest := strings.EqualFold(start, "latest")
	var latestOffs kadm.ListedOffsets
	if latest {
		latestOffs, err = adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return fmt.Errorf("source %q: %v", n.Name, err)
		}
	}
	starts.Each(func(o kadm.ListedOffset) {
		part := Partition{Brokers: strings.Join(brokers, ","), Topic: topic, Partition: o.Partition, Start: o.Offset, End: -1}
		if latest {
			if lo, ok := latestOffs.Lookup(topic, o.Partition); ok {
				part.Start = lo.Offset
			}
		}
		if e, ok := ends.Lookup(topic, o.Partition); ok {
			part.End = e.Offset
		}
		partitionMark(n.Name, o.Partition) // held at the minimum until read
		emit(part)
	})
	return nil
}

// readFn is the splittable DoFn reading one partition: an offset-range
// restriction (growable when unbounded), a manual watermark estimator held
// at max event time − maxOutOfOrderness, ResumeProcessingIn between polls,
// and StopProcessing at the bound so that every window flushes.
type readFn struct {
	NodeRef

	src      *ir.Source
	node     *ir.Node
	dec      format.Decoder
	tsIdx    int
	bound    time.Duration
	opts     Options
	counter  *nodeCounters
	bad      beam.Counter
	failErr  error
	holdback time.Duration
	project  []int // Out field → Schema index; nil when identical
}

func (fn *readFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.node, fn.src, fn.opts = n, n.Op.(*ir.Source), p.Options
	schema := fn.src.Schema
	if schema == nil {
		schema = n.Out
	}
	fn.dec, err = format.NewDecoder(fn.src.Connector.Format, schema)
	if err != nil {
		return fmt.Errorf("source %q: %v", n.Name, err)
	}
	fn.tsIdx = -1
	if fn.src.EventTime != "" {
		for i, f := range schema.Fields {
			if f.Name == fn.src.EventTime {
				fn.tsIdx = i
			}
		}
		if fn.tsIdx < 0 {
			return fmt.Errorf("source %q: event-time field %q not in the schema", n.Name, fn.src.EventTime)
		}
	}
	// Column pruning may narrow Node.Out, never Schema: decode by the
	// declared schema (so malformed means the same), emit rows of Out.
	fn.project = nil
	if n.Out != nil && !rtype.Identical(n.Out, schema) {
		for _, f := range n.Out.Fields {
			i := -1
			for j, g := range schema.Fields {
				if g.Name == f.Name {
					i = j
				}
			}
			if i < 0 {
				return fmt.Errorf("source %q: output field %q not in the schema", n.Name, f.Name)
			}
			fn.project = append(fn.project, i)
		}
	}
	fn.bound = fn.src.MaxOutOfOrderness
	// Allowed lateness: windows fire once, when the watermark passes end +
	// lateness. The Beam watermark of this source is held back by the
	// largest lateness of the aggregates it feeds, while rows keep the
	// declared watermark (max event time − maxOutOfOrderness) to be judged
	// late by.
	for _, m := range p.Pipeline.Nodes {
		if a, ok := m.Op.(*ir.Aggregate); ok && a.Window != nil && len(m.Inputs) == 1 {
			if srcs, ok := statelessSources(p.Pipeline, m.Inputs[0]); ok {
				for _, s := range srcs {
					if s == n.Name && a.AllowedLateness > fn.holdback {
						fn.holdback = a.AllowedLateness
					}
				}
			}
		}
	}
	fn.counter = Counters(n.Name)
	fn.bad = beam.NewCounter("rtsapc", n.Name+".malformed")
	return nil
}

func (fn *readFn) CreateInitialRestriction(p Partition) offsetrange.Restriction {
	end := p.End
	if end < 0 {
		end = math.MaxInt64
	}
	return offsetrange.Restriction{Start: p.Start, End: end}
}

func (fn *readFn) SplitRestriction(_ Partition, rest offsetrange.Restriction) []offsetrange.Restriction {
	return []offsetrange.Restriction{rest}
}

func (fn *readFn) RestrictionSize(_ Partition, rest offsetrange.Restriction) float64 {
	if rest.End == math.MaxInt64 {
		return 1
	}
	return float64(rest.End - rest.Start)
}

type endEstimator struct{}

func (endEstimator) Estimate() int64 { return math.MaxInt64 }

func (fn *readFn) CreateTracker(rest offsetrange.Restriction) *sdf.LockRTracker {
	if rest.End == math.MaxInt64 {
		t, _ := offsetrange.NewGrowableTracker(rest, endEstimator{})
		return sdf.NewLockRTracker(t)
	}
	return sdf.NewLockRTracker(offsetrange.NewTracker(rest))
}

func (fn *readFn) TruncateRestriction(rt *sdf.LockRTracker, _ Partition) offsetrange.Restriction {
	r := rt.GetRestriction().(offsetrange.Restriction)
	return offsetrange.Restriction{Start: r.Start, End: r.Start}
}

// The estimator state is the watermark in Unix milliseconds (time.Time's
// coder cannot encode Beam's minimum timestamp).
func (fn *readFn) InitialWatermarkEstimatorState(_ beam.EventTime, _ offsetrange.Restriction, _ Partition) int64 {
	return int64(mtime.MinTimestamp)
}

func (fn *readFn) CreateWatermarkEstimator(state int64) *sdf.ManualWatermarkEstimator {
	return &sdf.ManualWatermarkEstimator{State: mtime.Time(state).ToTime()}
}

func (fn *readFn) WatermarkEstimatorState(e *sdf.ManualWatermarkEstimator) int64 {
	return int64(mtime.FromTime(e.State))
}

// reader is a franz-go client positioned in one partition, kept across
// ProcessElement calls of the same restriction so that resuming does not
// reconnect; buf holds fetched records not yet claimed.
type reader struct {
	mu   sync.Mutex
	cl   *kgo.Client
	next int64
	buf  []*kgo.Record
}

var readers sync.Map // brokers|topic|partition → *reader

func (fn *readFn) reader(p Partition, start int64) (*reader, error) {
	key := fmt.Sprintf("%s|%s|%d", p.Brokers, p.Topic, p.Partition)
	v, _ := readers.LoadOrStore(key, &reader{next: -1})
	r := v.(*reader)
	r.mu.Lock()
	if r.cl != nil && r.next == start {
		return r, nil
	}
	if r.cl != nil {
		r.cl.Close()
		r.cl = nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(splitList(p.Brokers)...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{p.Topic: {p.Partition: kgo.NewOffset().At(start)}}),
		kgo.FetchMaxWait(100*time.Millisecond), kgo.RetryTimeout(30*time.Second))
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	r.cl, r.next, r.buf = cl, start, nil
	return r, nil
}

const (
	maxRecordsPerCall = 20000
	maxTimePerCall    = 500 * time.Millisecond
)

func (fn *readFn) ProcessElement(ctx context.Context, we *sdf.ManualWatermarkEstimator, rt *sdf.LockRTracker, p Partition,
	emit func(beam.EventTime, Rec), dead func(beam.EventTime, Rec)) (sdf.ProcessContinuation, error) {
	return fn.process(ctx, we, rt, p, emit, dead)
}

// process is the read loop; emit receives each decoded row.
func (fn *readFn) process(ctx context.Context, we *sdf.ManualWatermarkEstimator, rt *sdf.LockRTracker, p Partition,
	emit func(beam.EventTime, Rec), dead func(beam.EventTime, Rec)) (sdf.ProcessContinuation, error) {
	rest := rt.GetRestriction().(offsetrange.Restriction)
	bounded := rest.End != math.MaxInt64
	mark := partitionMark(fn.node.Name, p.Partition)
	if rest.Start >= rest.End {
		mark.Store(math.MaxInt64)
		return sdf.StopProcessing(), nil
	}
	if stopSources.Load() {
		rt.TrySplit(0)
		return sdf.StopProcessing(), nil
	}
	r, err := fn.reader(p, rest.Start)
	if err != nil {
		return sdf.StopProcessing(), fmt.Errorf("source %q: %v", fn.node.Name, err)
	}
	defer r.mu.Unlock()
	pollTimeout := fn.opts.PollTimeout
	if pollTimeout <= 0 {
		pollTimeout = 200 * time.Millisecond
	}
	deadline := time.Now().Add(maxTimePerCall)
	wm := we.State
	if int64(mtime.FromTime(wm)) <= int64(mtime.MinTimestamp) {
		wm = time.Time{}
	} else {
		wm = wm.Add(fn.holdback)
	}
	n := 0
	for n < maxRecordsPerCall {
		if len(r.buf) == 0 {
			if time.Now().After(deadline) || stopSources.Load() {
				break
			}
			pctx, cancel := context.WithTimeout(ctx, pollTimeout)
			fetches := r.cl.PollRecords(pctx, 10000)
			cancel()
			fetches.EachRecord(func(rec *kgo.Record) {
				if rec.Partition == p.Partition && rec.Topic == p.Topic {
					r.buf = append(r.buf, rec)
				}
			})
			if len(r.buf) == 0 {
				if bounded || ctx.Err() != nil {
					if ctx.Err() != nil {
						return sdf.StopProcessing(), ctx.Err()
					}
					continue // keep polling until the bound
				}
				break
			}
		}
		rec := r.buf[0]
		r.buf = r.buf[1:]
		if rec.Offset < r.next {
			continue // a fetch may return records below the requested offset
		}
		if !rt.TryClaim(rec.Offset) {
			r.next = -1 // restriction ended (split or bound): do not reuse the position
			if err := rt.GetError(); err != nil {
				return sdf.StopProcessing(), fmt.Errorf("source %q: %v", fn.node.Name, err)
			}
			return sdf.StopProcessing(), nil
		}
		r.next = rec.Offset + 1
		n++
		fn.record(ctx, rec, &wm, mark, emit, dead)
		if err := fn.failErr; err != nil {
			fn.failErr = nil
			return sdf.StopProcessing(), err
		}
		if bounded && rec.Offset >= rest.End-1 {
			we.UpdateWatermark(wm.Add(-fn.holdback))
			return sdf.StopProcessing(), nil
		}
	}
	if !wm.IsZero() {
		we.UpdateWatermark(wm.Add(-fn.holdback))
		fn.counter.watermark.Store(wm.UnixMilli())
		mark.Store(wm.UnixMilli())
	}
	if stopSources.Load() {
		rt.TrySplit(0)
		return sdf.StopProcessing(), nil
	}
	if n > 0 || len(r.buf) > 0 {
		return sdf.ResumeProcessingIn(0), nil
	}
	return sdf.ResumeProcessingIn(50 * time.Millisecond), nil
}

// record decodes one record and routes it by the error policy.
func (fn *readFn) record(ctx context.Context, rec *kgo.Record, wm *time.Time, mark *atomic.Int64, emit, dead func(beam.EventTime, Rec)) {
	fn.counter.in.Add(1)
	r, err := fn.dec.Decode(rec.Value)
	var ts time.Time
	if err == nil {
		if fn.tsIdx >= 0 {
			t, ok := r[fn.tsIdx].(time.Time)
			if !ok {
				err = fmt.Errorf("event-time field %q is null", fn.src.EventTime)
			}
			ts = t
		} else {
			ts = rec.Timestamp
		}
	}
	if err != nil {
		fn.malformed(ctx, rec, err, dead)
		return
	}
	// The record carries the partition's watermark before it was read:
	// aggregates judge its lateness by it.
	stamp := int64(math.MinInt64)
	if !wm.IsZero() {
		stamp = wm.UnixMilli()
	}
	if w := ts.Add(-fn.bound); w.After(*wm) {
		*wm = w
		mark.Store(w.UnixMilli())
		fn.counter.watermark.Store(w.UnixMilli())
	}
	if fn.project != nil {
		out := make(row.Row, len(fn.project))
		for i, j := range fn.project {
			out[i] = r[j]
		}
		r = out
	}
	fn.counter.out.Add(1)
	emit(mtime.FromTime(ts), Rec{Row: r, WM: stamp})
}

func (fn *readFn) malformed(ctx context.Context, rec *kgo.Record, err error, dead func(beam.EventTime, Rec)) {
	fn.bad.Inc(ctx, 1)
	fn.counter.bad.Add(1)
	switch fn.src.OnError {
	case ir.DeadLetterErr:
		d := row.Row{fn.node.Name, rec.Topic, rec.Partition, rec.Offset, append([]byte(nil), rec.Value...), err.Error(), rec.Timestamp.UTC().Truncate(time.Millisecond)}
		dead(mtime.FromTime(rec.Timestamp), Rec{Row: d})
	case ir.SkipOnError:
	default:
		fn.failErr = fmt.Errorf("source %q: malformed record at %s/%d@%d: %v (set onError.policy to \"skip\" or \"deadletter\" to keep going)",
			fn.node.Name, rec.Topic, rec.Partition, rec.Offset, err)
	}
}
