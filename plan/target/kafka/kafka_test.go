package kafka_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"rtsap.dev/rtsapc/internal/testenv"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/plan/target/kafka"
	"rtsap.dev/rtsapc/state"
)

func topic(name string, partitions, rf int, configs map[string]any) *target.Resource {
	body := map[string]any{"partitions": partitions, "replicationFactor": rf}
	if configs != nil {
		body["configs"] = configs
	}
	return &target.Resource{Addr: plan.TopicAddr(name), Target: "kafka", Type: "topic", Name: name, Stage: target.Prerequisites, Body: body}
}

type fixture struct {
	t       *testing.T
	targets map[string]target.Target
	store   *state.Local
	adm     *kadm.Client
	brokers []string
}

// list asks through a new client each time: kadm answers ListTopics from
// the client's metadata cache, which may predate the last change.
func (f *fixture) list(topics ...string) kadm.TopicDetails {
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.brokers...))
	if err != nil {
		f.t.Fatal(err)
	}
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(context.Background(), topics...)
	if err != nil {
		f.t.Fatal(err)
	}
	return td
}

func setup(t *testing.T) (*fixture, func(key int16, fn func(kmsg.Request) (kmsg.Response, error, bool))) {
	c := testenv.Kafka(t)
	kt, err := kafka.New(c.ListenAddrs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kt.Close)
	cl, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	t.Cleanup(cl.Close)
	return &fixture{t: t, targets: map[string]target.Target{"kafka": kt}, store: &state.Local{Path: filepath.Join(t.TempDir(), "state.json")},
		adm: kadm.NewClient(cl), brokers: c.ListenAddrs()}, c.ControlKey
}

func (f *fixture) plan(rs ...*target.Resource) *plan.Plan {
	f.t.Helper()
	st, _ := f.store.Read(context.Background())
	p, ds := plan.Build(context.Background(), &plan.Config{Desired: rs, State: st, Targets: f.targets})
	if ds.HasErrors() {
		f.t.Fatal(ds)
	}
	return p
}

func (f *fixture) apply(p *plan.Plan) diag.Diagnostics {
	st, _ := f.store.Read(context.Background())
	_, ds := plan.Apply(context.Background(), &plan.ApplyConfig{Plan: p, Targets: f.targets, Store: f.store, State: st})
	return ds
}

func view(p *plan.Plan) string {
	var b bytes.Buffer
	plan.WriteHuman(&b, p, plan.HumanOptions{})
	return b.String()
}

func TestTopicsLifecycle(t *testing.T) {
	f, _ := setup(t)
	ctx := context.Background()
	want := []*target.Resource{
		topic("md.trades", 3, 1, map[string]any{"retention.ms": "86400000", "cleanup.policy": "delete"}),
		topic("md.quotes", 2, 3, map[string]any{"compression.type": "zstd"}),
	}
	p := f.plan(want...)
	if p.Summary.Add != 2 {
		t.Fatalf("first plan:\n%s", view(p))
	}
	if ds := f.apply(p); ds.HasErrors() {
		t.Fatal(ds)
	}
	td := f.list("md.trades", "md.quotes")
	if len(td["md.trades"].Partitions) != 3 || len(td["md.quotes"].Partitions[0].Replicas) != 3 {
		t.Fatalf("topics not created as asked: %+v", td)
	}
	if p := f.plan(want...); p.HasChanges() || len(p.Drift) > 0 {
		t.Fatalf("plan after apply:\n%s", view(p))
	}

	// Edit: more partitions, a changed and a removed config.
	want[0] = topic("md.trades", 6, 1, map[string]any{"retention.ms": "172800000"})
	p = f.plan(want...)
	h := view(p)
	for _, s := range []string{
		`~ kafka.topic["md.trades"]`,
		`~ configs["retention.ms"]: "86400000" → "172800000"`,
		`- configs["cleanup.policy"]: "delete"`,
		`~ partitions: 3 → 6`,
		"Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy.",
	} {
		if !strings.Contains(h, s) {
			t.Errorf("plan lacks %q:\n%s", s, h)
		}
	}
	if ds := f.apply(p); ds.HasErrors() {
		t.Fatal(ds)
	}
	if p := f.plan(want...); p.HasChanges() {
		t.Fatalf("plan after the edit was applied:\n%s", view(p))
	}

	// Drift: a config changed with another client is reported.
	if _, err := f.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "compression.type", Value: kadm.StringPtr("gzip")}}, "md.quotes"); err != nil {
		t.Fatal(err)
	}
	p = f.plan(want...)
	if len(p.Drift) != 1 || p.Drift[0].Addr != `kafka.topic["md.quotes"]` {
		t.Fatalf("drift not reported:\n%s", view(p))
	}
	if h := view(p); !strings.Contains(h, `~ configs["compression.type"]: "zstd" → "gzip"`) {
		t.Errorf("drift view:\n%s", h)
	}
	if ds := f.apply(p); ds.HasErrors() {
		t.Fatal(ds)
	}

	// Fewer partitions: a replacement, with the data loss spelled out.
	want[1] = topic("md.quotes", 1, 3, map[string]any{"compression.type": "zstd"})
	p = f.plan(want...)
	if p.Summary.Replace != 1 || !strings.Contains(view(p), "partitions cannot decrease (2 → 1)") {
		t.Fatalf("replace plan:\n%s", view(p))
	}
	if ds := f.apply(p); ds.HasErrors() {
		t.Fatal(ds)
	}
	if td := f.list("md.quotes"); len(td["md.quotes"].Partitions) != 1 {
		t.Errorf("md.quotes has %d partitions after replace", len(td["md.quotes"].Partitions))
	}

	// Prune.
	p = f.plan(want[0])
	if p.Summary.Destroy != 1 {
		t.Fatalf("prune plan:\n%s", view(p))
	}
	if ds := f.apply(p); ds.HasErrors() {
		t.Fatal(ds)
	}
	if td := f.list("md.quotes"); td["md.quotes"].Err == nil {
		t.Error("md.quotes still exists after prune")
	}
}

// The broker refuses the second topic once: the first is recorded, the
// error is reported, and the re-run finishes.
func TestFaultMidApply(t *testing.T) {
	f, control := setup(t)
	calls := 0
	control(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
		calls++
		if calls != 2 {
			return nil, nil, false
		}
		r := req.(*kmsg.CreateTopicsRequest)
		resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewCreateTopicsResponseTopic()
			st.Topic = rt.Topic
			st.ErrorCode = kerr.PolicyViolation.Code
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	want := []*target.Resource{topic("a", 1, 1, nil), topic("b", 1, 1, nil), topic("c", 1, 1, nil)}
	ds := f.apply(f.plan(want...))
	if len(ds) != 1 || ds[0].Code != diag.ApplyFailed || !strings.Contains(ds[0].Detail, "POLICY_VIOLATION") {
		t.Fatalf("apply = %v; want ApplyFailed with the broker's error", ds)
	}
	st, _ := f.store.Read(context.Background())
	if len(st.Resources) != 1 || st.Resources[0].Name != "a" {
		t.Fatalf("state after the fault holds %d resources", len(st.Resources))
	}
	p := f.plan(want...)
	if p.Summary.Add != 2 {
		t.Fatalf("plan after the fault:\n%s", view(p))
	}
	if ds := f.apply(p); ds.HasErrors() {
		t.Fatal(ds)
	}
	if p := f.plan(want...); p.HasChanges() {
		t.Fatalf("changes left:\n%s", view(p))
	}
}

// An unreachable cluster is an error naming the target, not a plan that
// would create everything.
func TestUnreachable(t *testing.T) {
	kt, _ := kafka.New([]string{"127.0.0.1:1"})
	defer kt.Close()
	kt.Timeout = 2e9
	_, ds := plan.Build(context.Background(), &plan.Config{Desired: []*target.Resource{topic("a", 1, 1, nil)}, Targets: map[string]target.Target{"kafka": kt}})
	if len(ds) != 1 || ds[0].Code != diag.TargetUnreachable {
		t.Fatalf("Build = %v; want TargetUnreachable", ds)
	}
}
