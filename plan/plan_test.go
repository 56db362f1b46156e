package plan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/plan/target/dir"
	"rtsap.dev/rtsapc/state"
)

type env struct {
	t       *testing.T
	root    string
	store   *state.Local
	targets map[string]target.Target
}

func newEnv(t *testing.T) *env {
	d := t.TempDir()
	return &env{t: t, root: filepath.Join(d, "out"), store: &state.Local{Path: filepath.Join(d, "state.json")},
		targets: map[string]target.Target{"dir": &dir.Target{Root: filepath.Join(d, "out")}}}
}

func (e *env) plan(desired []*target.Resource, jobs ...*plan.JobGraph) *plan.Plan {
	e.t.Helper()
	st, err := e.store.Read(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	p, ds := plan.Build(context.Background(), &plan.Config{Desired: desired, Jobs: jobs, State: st, Targets: e.targets})
	if ds.HasErrors() {
		e.t.Fatal(ds)
	}
	return p
}

func (e *env) apply(p *plan.Plan) {
	e.t.Helper()
	st, _ := e.store.Read(context.Background())
	if ds := plan.CheckStale(context.Background(), p, st, e.targets); ds.HasErrors() {
		e.t.Fatal(ds)
	}
	if _, ds := plan.Apply(context.Background(), &plan.ApplyConfig{Plan: p, Targets: e.targets, Store: e.store, State: st}); ds.HasErrors() {
		e.t.Fatal(ds)
	}
}

func human(p *plan.Plan) string {
	var b bytes.Buffer
	plan.WriteHuman(&b, p, plan.HumanOptions{})
	return b.String()
}

func files(m map[string]string) []*target.Resource {
	var out []*target.Resource
	for p, c := range m {
		out = append(out, dir.Resource(p, []byte(c), "vwap", target.Config))
	}
	return out
}

func actions(p *plan.Plan) string {
	var s []string
	for _, c := range p.Changes {
		s = append(s, c.Action.Symbol()+" "+c.Addr)
	}
	return strings.Join(s, "\n")
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	want := map[string]string{"vwap/flink/job.sql": "SELECT 1;\nFROM a;\n", "vwap/flink/deploy.yaml": "kind: X\n"}
	p := e.plan(files(want))
	if got := actions(p); got != "+ dir.file[\"vwap/flink/deploy.yaml\"]\n+ dir.file[\"vwap/flink/job.sql\"]" {
		t.Fatalf("first plan:\n%s", got)
	}
	if p.Summary != (plan.Summary{Add: 2}) {
		t.Errorf("summary %+v", p.Summary)
	}
	e.apply(p)
	if b, _ := os.ReadFile(filepath.Join(e.root, "vwap/flink/job.sql")); string(b) != want["vwap/flink/job.sql"] {
		t.Fatalf("job.sql = %q", b)
	}

	// No changes after apply.
	p = e.plan(files(want))
	if p.HasChanges() || len(p.Drift) > 0 || len(p.Records) > 0 {
		t.Fatalf("plan after apply has changes:\n%s", human(p))
	}
	if h := human(p); !strings.Contains(h, "No changes.") {
		t.Errorf("human view: %s", h)
	}

	// Edit: exactly one field-level change with a line diff.
	want["vwap/flink/job.sql"] = "SELECT 2;\nFROM a;\n"
	p = e.plan(files(want))
	if got := actions(p); got != `~ dir.file["vwap/flink/job.sql"]` {
		t.Fatalf("plan after edit:\n%s", got)
	}
	h := human(p)
	for _, s := range []string{"~ content:", "- SELECT 1;", "+ SELECT 2;", "  FROM a;", "Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."} {
		if !strings.Contains(h, s) {
			t.Errorf("human view lacks %q:\n%s", s, h)
		}
	}
	e.apply(p)

	// Drift: a manual edit is reported apart from the change that reverts it.
	os.WriteFile(filepath.Join(e.root, "vwap/flink/deploy.yaml"), []byte("kind: Y\n"), 0o644)
	p = e.plan(files(want))
	if len(p.Drift) != 1 || p.Drift[0].Addr != `dir.file["vwap/flink/deploy.yaml"]` || p.Drift[0].Action != plan.Update {
		t.Fatalf("drift = %+v", p.Drift)
	}
	if got := actions(p); got != `~ dir.file["vwap/flink/deploy.yaml"]` {
		t.Fatalf("plan after drift:\n%s", got)
	}
	if h := human(p); !strings.Contains(h, "Drift:") || !strings.Contains(h, "+ kind: Y") {
		t.Errorf("human drift view:\n%s", h)
	}
	e.apply(p)

	// Prune: a file no longer desired is deleted, with its empty directory.
	delete(want, "vwap/flink/deploy.yaml")
	want["other/x.txt"] = "x"
	p = e.plan(files(want))
	if got := actions(p); got != "+ dir.file[\"other/x.txt\"]\n- dir.file[\"vwap/flink/deploy.yaml\"]" {
		t.Fatalf("prune plan:\n%s", got)
	}
	e.apply(p)
	if _, err := os.Stat(filepath.Join(e.root, "vwap/flink/deploy.yaml")); !os.IsNotExist(err) {
		t.Errorf("deploy.yaml still there: %v", err)
	}

	// Destroy removes everything and leaves an empty state.
	st, _ := e.store.Read(context.Background())
	p, _ = plan.Build(context.Background(), &plan.Config{Destroy: true, State: st, Targets: e.targets})
	if p.Summary.Destroy != 2 {
		t.Fatalf("destroy plan:\n%s", human(p))
	}
	e.apply(p)
	st, _ = e.store.Read(context.Background())
	if len(st.Resources) != 0 {
		t.Errorf("state after destroy: %d resources", len(st.Resources))
	}
	if ents, _ := os.ReadDir(e.root); len(ents) != 0 {
		t.Errorf("root not empty after destroy: %v", ents)
	}
}

func TestStalePlan(t *testing.T) {
	e := newEnv(t)
	p1 := e.plan(files(map[string]string{"a": "1"}))
	p2 := e.plan(files(map[string]string{"a": "2"}))
	e.apply(p1)
	st, _ := e.store.Read(context.Background())
	ds := plan.CheckStale(context.Background(), p2, st, e.targets)
	if len(ds) != 1 || ds[0].Code != diag.StalePlan || !strings.Contains(ds[0].Detail, "serial 0, now") {
		t.Fatalf("CheckStale = %v; want StalePlan on serial", ds)
	}
	// A live change after the plan also makes it stale.
	p3 := e.plan(files(map[string]string{"a": "3"}))
	os.WriteFile(filepath.Join(e.root, "a"), []byte("manual"), 0o644)
	ds = plan.CheckStale(context.Background(), p3, st, e.targets)
	if len(ds) != 1 || ds[0].Code != diag.StalePlan || !strings.Contains(ds[0].Detail, `dir.file["a"] changed`) {
		t.Fatalf("CheckStale = %v; want StalePlan on the live file", ds)
	}
}

func TestPlanFileRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.apply(e.plan(files(map[string]string{"a": "1", "b": "1"})))
	p := e.plan(files(map[string]string{"a": "2", "c": "3"}))
	var buf bytes.Buffer
	if err := plan.WritePlanFile(&buf, p); err != nil {
		t.Fatal(err)
	}
	q, err := plan.ReadPlanFile(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if human(q) != human(p) {
		t.Errorf("plan file changes the view:\n%s\nvs\n%s", human(q), human(p))
	}
	e.apply(q)
	if got := actions(e.plan(files(map[string]string{"a": "2", "c": "3"}))); got != "" {
		t.Errorf("after applying the plan file, plan still has:\n%s", got)
	}
	if _, err := plan.ReadPlanFile(strings.NewReader(`{"kind": "other"}`)); err == nil {
		t.Error("ReadPlanFile accepted a foreign document")
	}
}

// A crash midway: what was applied is recorded; the next plan shows only the
// rest, and applying it finishes the job.
func TestPartialApply(t *testing.T) {
	e := newEnv(t)
	want := map[string]string{"a": "1", "b": "1", "c": "1"}
	p := e.plan(files(want))
	n := 0
	stop := func(*plan.Change) error {
		if n++; n == 2 {
			return os.ErrDeadlineExceeded
		}
		return nil
	}
	_, ds := plan.Apply(context.Background(), &plan.ApplyConfig{Plan: p, Targets: e.targets, Store: e.store, AfterEach: stop})
	if !ds.HasErrors() {
		t.Fatal("apply did not stop")
	}
	st, _ := e.store.Read(context.Background())
	if len(st.Resources) != 2 || st.Serial != 2 {
		t.Fatalf("state after crash: %d resources serial %d; want 2, 2", len(st.Resources), st.Serial)
	}
	p = e.plan(files(want))
	if got := actions(p); got != `+ dir.file["c"]` {
		t.Fatalf("plan after crash:\n%s", got)
	}
	e.apply(p)
	if e.plan(files(want)).HasChanges() {
		t.Error("changes left after the re-run")
	}
}

func TestSecretsNeverShown(t *testing.T) {
	const secret = "hunter2-do-not-leak"
	e := newEnv(t)
	mk := func(pw string) []*target.Resource {
		return []*target.Resource{{Addr: `mem.file["conn.json"]`, Target: "mem", Type: "file", Name: "conn.json", Stage: target.Config,
			Body: map[string]any{"content": "x", "password": pw, "nested": map[string]any{"sasl.jaas.config": pw, "secretName": "kept"}}}}
	}
	// The dir target keeps only content; this test is about what plan
	// output, plan files and state hold, so it uses a target that stores
	// whole bodies.
	e.targets["mem"] = &memTarget{m: map[string]map[string]any{}}
	p := e.plan(mk(secret))
	var out bytes.Buffer
	plan.WriteHuman(&out, p, plan.HumanOptions{Color: true})
	plan.WriteJSON(&out, p)
	plan.WritePlanFile(&out, p)
	e.apply(p)
	p = e.plan(mk(secret + "-rotated"))
	plan.WriteHuman(&out, p, plan.HumanOptions{})
	plan.WriteJSON(&out, p)
	plan.WritePlanFile(&out, p)
	st, _ := os.ReadFile(e.store.Path)
	out.Write(st)
	if bytes.Contains(out.Bytes(), []byte("hunter2")) {
		t.Fatalf("a secret leaked:\n%s", out.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("kept")) {
		t.Errorf("a secret reference (secretName) was redacted")
	}
	// The rotated secret is still a change, shown redacted.
	if len(p.Changes) != 1 || !strings.Contains(human(p), "~ password: (sensitive value) → (sensitive value)") {
		t.Errorf("rotated secret not shown as a redacted change:\n%s", human(p))
	}
	// A plan file cannot carry it, so applying one refuses.
	var pf bytes.Buffer
	plan.WritePlanFile(&pf, p)
	q, _ := plan.ReadPlanFile(&pf)
	stt, _ := e.store.Read(context.Background())
	_, ds := plan.Apply(context.Background(), &plan.ApplyConfig{Plan: q, Targets: e.targets, Store: e.store, State: stt})
	if len(ds) != 1 || ds[0].Code != diag.SensitivePlanValue {
		t.Errorf("applying a redacted plan file = %v; want SensitivePlanValue", ds)
	}
}

func TestJSONViewIsTheHumanSource(t *testing.T) {
	e := newEnv(t)
	p := e.plan(files(map[string]string{"a": "1"}))
	var b bytes.Buffer
	plan.WriteJSON(&b, p)
	var v map[string]any
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format_version", "operation", "prior_state", "changes", "drift", "jobs", "summary"} {
		if _, ok := v[k]; !ok {
			t.Errorf("JSON view lacks %q", k)
		}
	}
	c := v["changes"].([]any)[0].(map[string]any)
	if c["action"] != "create" || c["address"] != `dir.file["a"]` || c["stage"] != "config" {
		t.Errorf("change = %v", c)
	}
	if _, ok := c["after"]; ok {
		t.Error("the JSON view carries bodies (only plan files do)")
	}
}

// memTarget keeps bodies in memory: a stand-in for targets (Kubernetes
// Secrets) whose bodies can hold secret values.
type memTarget struct{ m map[string]map[string]any }

func (t *memTarget) Name() string { return "mem" }
func (t *memTarget) Read(_ context.Context, rs []*target.Resource) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for _, r := range rs {
		if b, ok := t.m[r.Addr]; ok {
			out[r.Addr] = b
		}
	}
	return out, nil
}
func (t *memTarget) Apply(_ context.Context, r *target.Resource, _ map[string]any) error {
	t.m[r.Addr] = r.Body
	return nil
}
func (t *memTarget) Delete(_ context.Context, r *target.Resource) error {
	delete(t.m, r.Addr)
	return nil
}
func (t *memTarget) Ready(context.Context, *target.Resource) (target.Readiness, error) {
	return target.Readiness{Ready: true, Known: true}, nil
}

func TestViewsDoNotChangeThePlan(t *testing.T) {
	e := newEnv(t)
	g := &plan.JobGraph{Pipeline: "vwap", Nodes: []*plan.JobNode{{Name: "a", Op: "source"}}}
	p := e.plan(files(map[string]string{"a": "1"}), g)
	var b bytes.Buffer
	plan.WriteJSON(&b, p)
	plan.WriteHuman(&b, p, plan.HumanOptions{})
	if len(p.Jobs) != 1 || p.Jobs[0].Graph == nil {
		t.Fatalf("rendering dropped the job graph the apply records")
	}
	e.apply(p)
	if q := e.plan(files(map[string]string{"a": "1"}), g); q.HasChanges() {
		t.Errorf("job recorded by apply still planned:\n%s", human(q))
	}
}

// lostReply applies like dir but reports a failure for one file, as a
// target whose reply is lost after the change was made.
type lostReply struct {
	*dir.Target
	name string
}

func (t *lostReply) Apply(ctx context.Context, r *target.Resource, live map[string]any) error {
	if err := t.Target.Apply(ctx, r, live); err != nil {
		return err
	}
	if r.Name == t.name {
		return os.ErrDeadlineExceeded
	}
	return nil
}

// Applied but not recorded: the next plan finds the live resource already
// as desired, shows no change, and the next apply records it.
func TestAppliedButNotRecorded(t *testing.T) {
	e := newEnv(t)
	e.targets["dir"] = &lostReply{Target: e.targets["dir"].(*dir.Target), name: "b"}
	want := map[string]string{"a": "1", "b": "1"}
	_, ds := plan.Apply(context.Background(), &plan.ApplyConfig{Plan: e.plan(files(want)), Targets: e.targets, Store: e.store})
	if !ds.HasErrors() {
		t.Fatal("apply did not fail")
	}
	e.targets["dir"] = e.targets["dir"].(*lostReply).Target
	p := e.plan(files(want))
	if p.HasChanges() || len(p.Records) != 1 || p.Records[0].Action != "adopt" || p.Records[0].Addr != `dir.file["b"]` {
		t.Fatalf("plan after a lost reply:\n%s", human(p))
	}
	if !strings.Contains(human(p), `adopt dir.file["b"]: the live resource is already as desired; the state will record it`) {
		t.Errorf("view:\n%s", human(p))
	}
	e.apply(p)
	st, _ := e.store.Read(context.Background())
	if st.Lookup(`dir.file["b"]`) == nil {
		t.Fatal("adopted resource not recorded")
	}
	if p := e.plan(files(want)); p.HasChanges() || len(p.Records) > 0 {
		t.Errorf("still planned:\n%s", human(p))
	}
}
