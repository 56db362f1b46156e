package lineage_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lineage"
)

// staticJob builds the job.json of a small pipeline with the backend.
func staticJob(t *testing.T, mode ir.Mode) []byte {
	t.Helper()
	rec := rtype.RecordOf(rtype.Field{Name: "symbol", Type: rtype.StringType}, rtype.Field{Name: "price", Type: rtype.DecimalOf(18, 6)})
	kafka := func(topic string) ir.Connector {
		return ir.Connector{Kind: "kafka", Options: []ir.Option{{Key: "brokers", Value: []any{"k:9092"}}, {Key: "topic", Value: topic}}}
	}
	p := &ir.Pipeline{Name: "px", Mode: mode, Engine: "beam", Owner: "md", Nodes: []*ir.Node{
		{ID: 1, Name: "in", Op: &ir.Source{Connector: kafka("in"), Schema: rec}, Out: rec},
		{ID: 2, Name: "out", Op: &ir.Sink{Connector: kafka("out")}, Inputs: []ir.NodeID{1}, Out: rec},
	}}
	st, ds := openlineage.Build(&ir.Program{Pipelines: []*ir.Pipeline{p}}, p, &backends.Options{Version: "v0-test"})
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	data, err := json.Marshal(st.Job)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// chanTransport hands each message to a channel.
type chanTransport struct{ ch chan lineage.Message }

func (c *chanTransport) Send(ctx context.Context, m lineage.Message) error {
	select {
	case c.ch <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (c *chanTransport) Close() error { return nil }

func next(t *testing.T, ch chan lineage.Message) ol.RunEvent {
	t.Helper()
	select {
	case m := <-ch:
		var ev ol.RunEvent
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	panic("unreachable")
}

func TestRunLifecycleStreaming(t *testing.T) {
	v := oltest.New(t)
	ct := &chanTransport{ch: make(chan lineage.Message, 100)}
	em := lineage.NewEmitter(ct, lineage.EmitterOptions{})
	var rows atomic.Int64
	stats := func() []lineage.Count {
		n := rows.Add(10)
		return []lineage.Count{{Namespace: "kafka://k:9092", Name: "in", Rows: n}, {Namespace: "kafka://k:9092", Name: "out", Output: true, Rows: n / 2, Bytes: n * 100},
			{Namespace: "kafka://k:9092", Name: "undeclared", Rows: 1}}
	}
	run, err := lineage.StartRun(em, lineage.RunConfig{Job: staticJob(t, ir.Streaming), Interval: 5 * time.Millisecond, Stats: stats,
		EngineVersion: "2.77.0", Parent: ol.NewParent("https://rtsap.dev/rtsapc", ol.DerivedRunID(time.Unix(0, 0), "wf"), "rtsapc", "nightly")})
	if err != nil {
		t.Fatal(err)
	}
	start := next(t, ct.ch)
	running := next(t, ct.ch)
	run.Complete()
	run.Complete() // only the first terminal call emits
	run.Fail(errors.New("late"))
	var last ol.RunEvent
	for {
		last = next(t, ct.ch)
		if last.EventType != ol.Running {
			break
		}
	}
	if err := em.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if start.EventType != ol.Start || running.EventType != ol.Running || last.EventType != ol.Complete {
		t.Fatalf("sequence %s %s %s", start.EventType, running.EventType, last.EventType)
	}
	select {
	case m := <-ct.ch:
		t.Fatalf("event after the terminal one: %s", m.Data)
	default:
	}
	for _, ev := range []ol.RunEvent{start, running, last} {
		if ev.Run.RunID != run.ID() {
			t.Errorf("%s: run id %s, want %s", ev.EventType, ev.Run.RunID, run.ID())
		}
		if err := v.Validate(mustJSON(t, ev)); err != nil {
			t.Errorf("%s: %v", ev.EventType, err)
		}
	}
	if len(start.Outputs) != 1 || start.Outputs[0].Facets.ColumnLineage == nil || start.Outputs[0].OutputFacets != nil {
		t.Errorf("START carries the static datasets without statistics: %+v", start.Outputs)
	}
	if len(running.Inputs) != 1 || running.Inputs[0].Facets != nil || running.Inputs[0].InputFacets.InputStatistics.RowCount < 10 ||
		len(running.Outputs) != 1 || running.Outputs[0].OutputFacets.OutputStatistics.Size == 0 {
		t.Errorf("RUNNING carries bare datasets with statistics: %+v %+v", running.Inputs, running.Outputs)
	}
	if len(last.Outputs) != 1 || last.Outputs[0].Facets.ColumnLineage == nil || last.Outputs[0].OutputFacets.OutputStatistics.RowCount < 5 {
		t.Errorf("COMPLETE carries the static datasets with statistics: %+v", last.Outputs)
	}
	jt := start.Job.Facets.JobType
	if jt.ProcessingType != ol.Streaming || jt.EmissionPattern == nil || jt.EmissionPattern.EventTrigger != ol.Periodic {
		t.Errorf("jobType: %+v", jt)
	}
	if start.Run.Facets.Parent == nil || start.Run.Facets.ProcessingEngine.Version != "2.77.0" {
		t.Errorf("run facets: %+v", start.Run.Facets)
	}
}

func TestRunLifecycleBatchFail(t *testing.T) {
	v := oltest.New(t)
	ct := &chanTransport{ch: make(chan lineage.Message, 100)}
	em := lineage.NewEmitter(ct, lineage.EmitterOptions{})
	run, err := lineage.StartRun(em, lineage.RunConfig{Job: staticJob(t, ir.Batch), Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // a batch job emits no RUNNING even with an interval
	run.Fail(errors.New("disk <full> & \"quoted\""))
	start, fail := next(t, ct.ch), next(t, ct.ch)
	em.Close(context.Background())
	if start.EventType != ol.Start || fail.EventType != ol.Fail {
		t.Fatalf("sequence %s %s", start.EventType, fail.EventType)
	}
	if fail.Run.Facets.ErrorMessage == nil || fail.Run.Facets.ErrorMessage.Message != "disk <full> & \"quoted\"" {
		t.Errorf("errorMessage: %+v", fail.Run.Facets.ErrorMessage)
	}
	for _, ev := range []ol.RunEvent{start, fail} {
		if err := v.Validate(mustJSON(t, ev)); err != nil {
			t.Errorf("%s: %v", ev.EventType, err)
		}
	}
	if _, err := lineage.StartRun(em, lineage.RunConfig{Job: []byte("{")}); err == nil {
		t.Error("bad static job accepted")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	m, err := lineage.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return m.Data
}

// receiver is a Marquez-like /api/v1/lineage that validates what it gets.
type receiver struct {
	t        *testing.T
	v        *oltest.Validator
	mu       sync.Mutex
	events   [][]byte
	auth     []string
	attempts atomic.Int32
	failN    int32 // reply 503 to the first failN attempts
	status   int   // reply this instead of 201 (after failN)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := rc.attempts.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/lineage" || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request line", http.StatusNotFound)
		return
	}
	if n <= rc.failN {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if rc.status != 0 {
		http.Error(w, "nope", rc.status)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if err := rc.v.Validate(body); err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		rc.t.Errorf("receiver: invalid event: %v", err)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, body)
	rc.auth = append(rc.auth, r.Header.Get("Authorization"))
	rc.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func TestHTTPTransport(t *testing.T) {
	rc := &receiver{t: t, v: oltest.New(t)}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	env := map[string]string{"MY_KEY": "s3cr3t"}
	tr, err := lineage.HTTP(lineage.HTTPConfig{URL: srv.URL, APIKeyEnv: "MY_KEY", Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	em := lineage.NewEmitter(tr, lineage.EmitterOptions{})
	run, err := lineage.StartRun(em, lineage.RunConfig{Job: staticJob(t, ir.Batch)})
	if err != nil {
		t.Fatal(err)
	}
	run.Complete()
	if err := em.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := em.Stats(); s.Sent != 2 || s.Failed != 0 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
	if len(rc.events) != 2 || rc.auth[0] != "Bearer s3cr3t" {
		t.Fatalf("received %d events, auth %q", len(rc.events), rc.auth)
	}
}

func TestHTTPRetries(t *testing.T) {
	v := oltest.New(t)
	ev := ol.JobEvent{EventTime: time.Unix(0, 0).UTC(), Producer: "https://rtsap.dev/rtsapc", SchemaURL: ol.JobEventSchemaURL,
		Job: ol.Job{Namespace: "ns", Name: "job"}}
	fast := func(url string) lineage.Transport {
		tr, err := lineage.HTTP(lineage.HTTPConfig{URL: url, Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, Retries: 3, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	t.Run("503 then 201", func(t *testing.T) {
		rc := &receiver{t: t, v: v, failN: 2}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		m, _ := lineage.Encode(ev)
		if err := fast(srv.URL).Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if n := rc.attempts.Load(); n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
	})
	t.Run("gives up after retries", func(t *testing.T) {
		rc := &receiver{t: t, v: v, failN: 100}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		m, _ := lineage.Encode(ev)
		err := fast(srv.URL).Send(context.Background(), m)
		var se *lineage.StatusError
		if !errors.As(err, &se) || se.Code != 503 || rc.attempts.Load() != 4 {
			t.Fatalf("err %v after %d attempts, want 503 after 4", err, rc.attempts.Load())
		}
	})
	t.Run("400 is not retried", func(t *testing.T) {
		rc := &receiver{t: t, v: v, status: http.StatusBadRequest}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		m, _ := lineage.Encode(ev)
		if err := fast(srv.URL).Send(context.Background(), m); err == nil || rc.attempts.Load() != 1 {
			t.Fatalf("err %v after %d attempts", err, rc.attempts.Load())
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		var failed []error
		var mu sync.Mutex
		em := lineage.NewEmitter(fast("http://"+addr), lineage.EmitterOptions{OnError: func(err error) {
			mu.Lock()
			failed = append(failed, err)
			mu.Unlock()
		}})
		if !em.Emit(ev) {
			t.Fatal("not queued")
		}
		em.Close(context.Background())
		if s := em.Stats(); s.Failed != 1 || len(failed) != 1 {
			t.Fatalf("stats %+v, errors %v", s, failed)
		}
	})
}

// TestSlowEndpointDoesNotBlock: while the receiver holds every request,
// Emit and the Run methods return, excess events are dropped and counted,
// and Close gives up when its context ends.
func TestSlowEndpointDoesNotBlock(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	defer close(release)
	tr, err := lineage.HTTP(lineage.HTTPConfig{URL: srv.URL, Timeout: time.Hour, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	const queue = 4
	em := lineage.NewEmitter(tr, lineage.EmitterOptions{QueueSize: queue})
	run, err := lineage.StartRun(em, lineage.RunConfig{Job: staticJob(t, ir.Streaming), Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	<-entered // the START event is now held by the server
	ev := ol.JobEvent{EventTime: time.Unix(0, 0).UTC(), Producer: "https://rtsap.dev/rtsapc", SchemaURL: ol.JobEventSchemaURL,
		Job: ol.Job{Namespace: "ns", Name: "job"}}
	queued := 0
	for i := 0; i < 100; i++ {
		if em.Emit(ev) {
			queued++
		}
	}
	run.Fail(errors.New("x")) // returns although nothing can be delivered
	if queued != queue {
		t.Fatalf("queued %d events, want exactly the queue size %d", queued, queue)
	}
	if s := em.Stats(); s.Dropped != 100-queue+1 || s.Sent != 0 {
		t.Fatalf("stats %+v", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no time to flush
	if err := em.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close: %v", err)
	}
	if em.Emit(ev) {
		t.Fatal("Emit after Close queued")
	}
}

func TestFileAndConsole(t *testing.T) {
	v := oltest.New(t)
	path := filepath.Join(t.TempDir(), "events.jsonl")
	tr, err := lineage.Open("file:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	em := lineage.NewEmitter(tr, lineage.EmitterOptions{})
	run, err := lineage.StartRun(em, lineage.RunConfig{Job: staticJob(t, ir.Batch)})
	if err != nil {
		t.Fatal(err)
	}
	run.Abort()
	em.Emit(json.RawMessage(staticJob(t, ir.Batch)))
	if err := em.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != 3 {
		t.Fatalf("%d lines, want 3:\n%s", n, data)
	}
	if err := v.ValidateLines(data); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	c := lineage.Console(&b)
	m, _ := lineage.Encode(json.RawMessage(staticJob(t, ir.Batch)))
	if err := c.Send(context.Background(), m); err != nil || !strings.HasSuffix(b.String(), "}\n") || strings.Count(b.String(), "\n") != 1 {
		t.Fatalf("console: %v %q", err, b.String())
	}
	if m.Key != "job:rtsapc/px" {
		t.Fatalf("key %q", m.Key)
	}
}

func TestOpen(t *testing.T) {
	for _, bad := range []string{"carrier-pigeon", "file:", "http://", "kafka://"} {
		if _, err := lineage.Open(bad, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"", "none", "console", "http://marquez:5000", "https://x/api/v1/lineage"} {
		if _, err := lineage.Open(good, nil); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	env := map[string]string{"OPENLINEAGE_URL": "http://marquez:5000"}
	if _, err := lineage.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Error(err)
	}
}

func TestKafkaTransport(t *testing.T) {
	v := oltest.New(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "lineage"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tr, err := lineage.Open("kafka://"+strings.Join(c.ListenAddrs(), ",")+"/lineage", nil)
	if err != nil {
		t.Fatal(err)
	}
	em := lineage.NewEmitter(tr, lineage.EmitterOptions{})
	run, err := lineage.StartRun(em, lineage.RunConfig{Job: staticJob(t, ir.Batch)})
	if err != nil {
		t.Fatal(err)
	}
	run.Complete()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := em.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := em.Stats(); s.Sent != 2 {
		t.Fatalf("stats %+v", s)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("lineage"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	for len(got) < 2 && ctx.Err() == nil {
		got = append(got, cl.PollFetches(ctx).Records()...)
	}
	if len(got) != 2 {
		t.Fatalf("consumed %d records", len(got))
	}
	for _, r := range got {
		if string(r.Key) != "run:rtsapc/px" {
			t.Errorf("key %q", r.Key)
		}
		if err := v.Validate(r.Value); err != nil {
			t.Error(err)
		}
	}
}

func TestTrack(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name   string
		cancel bool
		err    error
		want   ol.EventType
	}{
		{"complete", false, nil, ol.Complete},
		{"fail", false, boom, ol.Fail},
		{"abort", true, context.Canceled, ol.Abort},
	}
	for _, c := range cases {
		ct := &chanTransport{ch: make(chan lineage.Message, 10)}
		em := lineage.NewEmitter(ct, lineage.EmitterOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		err := lineage.Track(ctx, em, lineage.RunConfig{Job: staticJob(t, ir.Batch)}, func(ctx context.Context) error {
			if c.cancel {
				cancel()
			}
			return c.err
		})
		cancel()
		if err != c.err {
			t.Errorf("%s: Track returned %v, want %v", c.name, err, c.err)
		}
		if start, end := next(t, ct.ch), next(t, ct.ch); start.EventType != ol.Start || end.EventType != c.want {
			t.Errorf("%s: %s then %s", c.name, start.EventType, end.EventType)
		}
		em.Close(context.Background())
	}
	// An unreadable static job: f still runs, nothing is emitted.
	ct := &chanTransport{ch: make(chan lineage.Message, 10)}
	em := lineage.NewEmitter(ct, lineage.EmitterOptions{})
	ran := false
	if err := lineage.Track(context.Background(), em, lineage.RunConfig{Job: []byte("not json")}, func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("ran=%v err=%v", ran, err)
	}
	em.Close(context.Background())
	if len(ct.ch) != 0 {
		t.Fatal("events emitted for an unreadable job")
	}
}

type panicTransport struct{}

func (panicTransport) Send(context.Context, lineage.Message) error { panic("transport bug") }
func (panicTransport) Close() error                                { return nil }

func TestTransportPanicIsContained(t *testing.T) {
	var got error
	em := lineage.NewEmitter(panicTransport{}, lineage.EmitterOptions{OnError: func(err error) { got = err }})
	em.Emit(json.RawMessage(`{"job":{"namespace":"a","name":"b"}}`))
	em.Close(context.Background())
	if s := em.Stats(); s.Failed != 1 || got == nil {
		t.Fatalf("stats %+v err %v", s, got)
	}
}

func TestNilEmitter(t *testing.T) {
	var em *lineage.Emitter
	run, err := lineage.StartRun(em, lineage.RunConfig{Job: staticJob(t, ir.Streaming), Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	run.Complete()
	if em.Emit(ol.JobEvent{}) || em.Stats() != (lineage.Stats{}) || em.Close(context.Background()) != nil {
		t.Fatal("nil emitter")
	}
}

func TestParentFromEnv(t *testing.T) {
	id := ol.DerivedRunID(time.Unix(0, 0), "wf")
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "OPENLINEAGE_PARENT_ID" {
				return v
			}
			return ""
		}
	}
	p := lineage.ParentFromEnv(env("md-prod/nightly.backtest/"+id), "")
	if p == nil || p.Job.Namespace != "md-prod" || p.Job.Name != "nightly.backtest" || p.Run.RunID != id {
		t.Fatalf("%+v", p)
	}
	for _, bad := range []string{"", "ns/name", "ns/name/not-a-uuid", "/name/" + id, "ns//" + id} {
		if lineage.ParentFromEnv(env(bad), "") != nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// RTSAPC_OPENLINEAGE_URL (the URL apply posts declarations to) selects the
// HTTP transport with its path as the endpoint; EnvSelects tells a caller
// whether the environment chose anything.
func TestFromEnvRtsapcURL(t *testing.T) {
	paths := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path
	}))
	defer srv.Close()
	env := map[string]string{"RTSAPC_OPENLINEAGE_URL": srv.URL + "/custom/lineage", "OPENLINEAGE_URL": "http://elsewhere.invalid"}
	getenv := func(k string) string { return env[k] }
	if !lineage.EnvSelects(getenv) || lineage.EnvSelects(func(string) string { return "" }) {
		t.Fatal("EnvSelects")
	}
	tr, err := lineage.FromEnv(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Send(context.Background(), lineage.Message{Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if p := <-paths; p != "/custom/lineage" {
		t.Fatalf("posted to %q", p)
	}
	env["RTSAPC_OPENLINEAGE_URL"] = "marquez:5000"
	if _, err := lineage.FromEnv(getenv); err == nil {
		t.Fatal("a URL without scheme accepted")
	}
}
