package lineage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lineage"
	"rtsap.dev/rtsapc/runtime/beamrt"
)

// tradesPipeline is a bounded kafka → filter → file pipeline over n
// records on a fresh kfake cluster, with its static job JSON and node
// datasets.
func tradesPipeline(t *testing.T, n int, sourceKind string) (*ir.Pipeline, []byte, []beamrt.LineageDataset) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "md.trades"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Topic: "md.trades", Value: fmt.Appendf(nil, `{"symbol":"S%d","size":%d,"ts":%d}`, i%3, i%4, 1_700_000_000_000+int64(i)*1000)})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	rec := rtype.RecordOf(rtype.Field{Name: "symbol", Type: rtype.StringType}, rtype.Field{Name: "size", Type: rtype.Int64Type},
		rtype.Field{Name: "ts", Type: rtype.TimestampMillis})
	src := ir.Connector{Kind: sourceKind, Format: "json", Options: []ir.Option{{Key: "brokers", Value: []any{c.ListenAddrs()[0]}}, {Key: "topic", Value: "md.trades"}}}
	where := &ir.Expr{Kind: ir.Call, Fn: ir.FnGt, Type: rtype.BoolType, Text: "size > 0", Args: []*ir.Expr{
		{Kind: ir.Ref, Path: []string{"size"}, Type: rtype.Int64Type, Text: "size"},
		{Kind: ir.Lit, Value: int64(0), Type: rtype.Int64Type, Text: "0"}}}
	p := &ir.Pipeline{Name: "sized-trades", Mode: ir.Batch, Engine: "beam", Owner: "md", Nodes: []*ir.Node{
		{ID: 1, Name: "trades", Out: rec, EventTime: "ts", Op: &ir.Source{Connector: src, Schema: rec, EventTime: "ts", OnError: ir.SkipOnError}},
		{ID: 2, Name: "sized", Inputs: []ir.NodeID{1}, Out: rec, EventTime: "ts", Op: &ir.Filter{Where: where}},
		{ID: 3, Name: "out", Inputs: []ir.NodeID{2}, Out: rec, Op: &ir.Sink{Connector: ir.Connector{Kind: "file", Options: []ir.Option{{Key: "path", Value: "/tmp/sized.jsonl"}}}}},
	}}
	opts := &backends.Options{}
	st, _ := openlineage.Build(&ir.Program{Pipelines: []*ir.Pipeline{p}}, p, opts)
	job, err := json.Marshal(st.Job)
	if err != nil {
		t.Fatal(err)
	}
	var ds []beamrt.LineageDataset
	for _, d := range openlineage.NodeDatasets(p, opts) {
		ds = append(ds, beamrt.LineageDataset{Node: d.Node, Namespace: d.Namespace, Name: d.Name, Output: d.Output})
	}
	return p, job, ds
}

// TestPrismSlowReceiverDoesNotStall: a receiver that never answers does
// not hold the run: beamrt.RunWithLineage returns (the pipeline done)
// while the receiver still holds START, no event having been delivered;
// Close then gives up on both events within its context, counted as
// failed, and the run's outcome is untouched.
func TestPrismSlowReceiverDoesNotStall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	release := make(chan struct{})
	got := make(chan struct{}, 8)
	var answered atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		answered.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	defer close(release) // before srv.Close: let the handler return

	p, job, ds := tradesPipeline(t, 40, "kafka")
	// No per-attempt timeout to speak of and no retries: only Close cuts
	// the wait short.
	tr, err := lineage.HTTP(lineage.HTTPConfig{URL: srv.URL, Timeout: 1 << 40, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	l := &beamrt.Lineage{Job: job, Datasets: ds}
	l.Emitter = lineage.NewEmitter(tr, lineage.EmitterOptions{OnError: l.OnError})
	beamrt.ResetProgress()
	if err := beamrt.RunWithLineage(context.Background(), p, beamrt.Options{Bounded: true, OutDir: t.TempDir()}, l); err != nil {
		t.Fatalf("run: %v", err)
	}
	<-got // START reached the receiver, which holds it
	if s := l.Stats(); s.Sent != 0 || answered.Load() != 0 {
		t.Fatalf("the run waited for the receiver: %+v, %d answered", s, answered.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // give up on what is queued at once
	if err := l.Emitter.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close: %v", err)
	}
	if s := l.Stats(); s.Sent != 0 || s.Failed != 2 || s.Dropped != 0 {
		t.Fatalf("stats %+v, want START and COMPLETE failed", s)
	}
	if l.Err() == nil || !strings.Contains(l.Summary(), "2 failed") {
		t.Fatalf("summary %q, err %v", l.Summary(), l.Err())
	}
}

// TestRunWithLineageFailAndAbort: a run that fails emits FAIL with the
// error in the errorMessage facet; a cancelled run emits ABORT; both
// validate and pair with their START.
func TestRunWithLineageFailAndAbort(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	v := oltest.New(t)
	path := filepath.Join(t.TempDir(), "events.jsonl")
	tr, err := lineage.Open("file:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	em := lineage.NewEmitter(tr, lineage.EmitterOptions{})

	// FAIL: the Beam runtime reads Kafka only.
	p, job, ds := tradesPipeline(t, 1, "s3")
	l := &beamrt.Lineage{Emitter: em, Job: job, Datasets: ds}
	runErr := beamrt.RunWithLineage(context.Background(), p, beamrt.Options{Bounded: true, OutDir: t.TempDir()}, l)
	if runErr == nil {
		t.Fatal("an s3 source ran on the Beam runtime")
	}
	// ABORT: cancelled before it could finish.
	p, job, ds = tradesPipeline(t, 1, "kafka")
	l = &beamrt.Lineage{Emitter: em, Job: job, Datasets: ds}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = beamrt.RunWithLineage(ctx, p, beamrt.Options{Bounded: true, OutDir: t.TempDir()}, l)
	if err := em.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.ValidateLines(data); err != nil {
		t.Fatal(err)
	}
	var evs []ol.RunEvent
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev ol.RunEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	if len(evs) != 4 {
		t.Fatalf("%d events, want START FAIL START ABORT:\n%s", len(evs), data)
	}
	want := []ol.EventType{ol.Start, ol.Fail, ol.Start, ol.Abort}
	for i, ev := range evs {
		if ev.EventType != want[i] {
			t.Fatalf("event %d is %s, want %s", i, ev.EventType, want[i])
		}
	}
	if evs[0].Run.RunID != evs[1].Run.RunID || evs[2].Run.RunID != evs[3].Run.RunID || evs[0].Run.RunID == evs[2].Run.RunID {
		t.Fatalf("run ids %s %s %s %s", evs[0].Run.RunID, evs[1].Run.RunID, evs[2].Run.RunID, evs[3].Run.RunID)
	}
	em1 := evs[1].Run.Facets.ErrorMessage
	if em1 == nil || !strings.Contains(em1.Message, runErr.Error()) {
		t.Fatalf("FAIL errorMessage %+v, run error %v", em1, runErr)
	}
	if evs[3].Run.Facets.ErrorMessage != nil {
		t.Errorf("ABORT carries an error message")
	}
	if len(evs[1].Outputs) != 1 || evs[1].Outputs[0].Facets == nil || evs[1].Outputs[0].Facets.ColumnLineage == nil {
		t.Errorf("FAIL lacks the static outputs with column lineage")
	}
}
