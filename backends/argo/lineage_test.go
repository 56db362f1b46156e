package argo

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lineage"
)

const testRunID = "0f8f3c5e-6c2b-4f58-9b1e-2c1d9a7e4b10"

// received is one request the test's lineage receiver got.
type received struct {
	path, auth string
	body       []byte
}

type receiver struct {
	mu    sync.Mutex
	got   []received
	fails int // answer 500 to this many requests first
	srv   *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fails > 0 {
			r.fails--
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		r.got = append(r.got, received{path: req.URL.Path, auth: req.Header.Get("Authorization"), body: body})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) take() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.got
	r.got = nil
	return out
}

// lineageRig is a generated workflow's lineage steps, ready to run: the
// ConfigMap's files in a folder standing for the /lineage mount, and the
// environment of the lineage-start and emit-lineage containers.
type lineageRig struct {
	dir      string
	bin      string // folder of the shell and tools to use first ("": the system's)
	startEnv []k8s.EnvVar
	endEnv   []k8s.EnvVar
	ds       diag.Diagnostics
}

func newRig(t *testing.T, settings map[string]string) *lineageRig {
	t.Helper()
	set, ds := Backend.Generate(&backends.Gen{Program: nightly(), Options: &backends.Options{Version: "test", Settings: settings}})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	rig := &lineageRig{dir: t.TempDir(), ds: ds}
	var cm struct{ Data map[string]string }
	if err := yaml.Unmarshal(set.Get("nightly-backtest/argo/openlineage.yaml").Data, &cm); err != nil {
		t.Fatal(err)
	}
	for k, v := range cm.Data {
		if err := os.WriteFile(filepath.Join(rig.dir, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var wt WorkflowTemplate
	if err := yaml.Unmarshal(set.Get("nightly-backtest/argo/workflowtemplate.yaml").Data, &wt); err != nil {
		t.Fatal(err)
	}
	for _, tpl := range wt.Spec.Templates {
		if tpl.Container == nil {
			continue
		}
		switch tpl.Name {
		case lineageStart:
			rig.startEnv = tpl.Container.Env
			if got := strings.Join(tpl.Container.Command, " "); got != "sh /lineage/lineage.sh start" {
				t.Fatalf("lineage-start runs %q", got)
			}
		case emitLineage:
			rig.endEnv = tpl.Container.Env
			if got := strings.Join(tpl.Container.Command, " "); got != "sh /lineage/lineage.sh end" {
				t.Fatalf("emit-lineage runs %q", got)
			}
		}
	}
	if rig.startEnv == nil || rig.endEnv == nil {
		t.Fatal("lineage-start or emit-lineage missing")
	}
	return rig
}

// run runs lineage.sh as the container would, with Argo's variables
// substituted as the controller does (workflow.failures is handed over as a
// Go-quoted JSON list) and secrets resolved to apiKey.
func (rig *lineageRig) run(t *testing.T, mode, status, failures, apiKey string) (stdout, stderr string) {
	t.Helper()
	env := rig.startEnv
	if mode == "end" {
		env = rig.endEnv
	}
	vars := map[string]string{workflowUID: testRunID, "{{workflow.status}}": status, "{{workflow.failures}}": failures}
	path := os.Getenv("PATH")
	shell := "sh"
	if rig.bin != "" {
		path = rig.bin + string(os.PathListSeparator) + path
		shell = filepath.Join(rig.bin, "sh")
	}
	cmdEnv := []string{"PATH=" + path, "LINEAGE_DIR=" + rig.dir}
	for _, e := range env {
		v := e.Value
		for k, x := range vars {
			v = strings.ReplaceAll(v, k, x)
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			v = apiKey
		}
		cmdEnv = append(cmdEnv, e.Name+"="+v)
	}
	cmd := exec.Command(shell, filepath.Join(rig.dir, "lineage.sh"), mode)
	cmd.Env = cmdEnv
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("lineage.sh %s exited with %v (it must always exit 0)\nstderr: %s", mode, err, errb.String())
	}
	return out.String(), errb.String()
}

func needTools(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "awk", "date", "tr", "cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: %s not found: the lineage steps' script is NOT run", tool)
		}
	}
}

// runEvent is what the tests read back from an event.
type runEvent struct {
	EventType string
	Run       struct {
		RunID  string
		Facets map[string]json.RawMessage
	}
	Job struct{ Namespace, Name string }
}

func decodeRun(t *testing.T, data []byte) runEvent {
	t.Helper()
	var ev runEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("event is not JSON: %v\n%s", err, data)
	}
	return ev
}

func errorMessage(t *testing.T, ev runEvent) string {
	t.Helper()
	var f struct{ Message, ProgrammingLanguage string }
	raw, ok := ev.Run.Facets["errorMessage"]
	if !ok {
		t.Fatalf("%s event without errorMessage", ev.EventType)
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f.Message
}

// failure is one entry of {{workflow.failures}} as Argo writes it.
type failure struct {
	DisplayName  string `json:"displayName"`
	Message      string `json:"message"`
	TemplateName string `json:"templateName"`
	Phase        string `json:"phase"`
	PodName      string `json:"podName"`
	FinishedAt   string `json:"finishedAt"`
}

// argoFailures renders failures as the controller hands them to the
// template: json.Marshal, then strconv.Quote (workflow/controller/operator.go).
func argoFailures(t *testing.T, fs []failure) string {
	b, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Quote(string(b))
}

// TestLineageScript runs the lineage steps' script with sh and curl against
// a local receiver, as the pods would: START, the job declarations and the
// terminal event for each final status, the errorMessage built from hostile
// failure messages, the API key header, retries; every event validates. It
// runs with the system's shell and awk, and with BusyBox's (the
// curlimages/curl image's sh, awk, date, tr and cat) when installed.
func TestLineageScript(t *testing.T) {
	needTools(t)
	t.Run("system", func(t *testing.T) { testLineageScript(t, "") })
	t.Run("busybox", func(t *testing.T) {
		bb, err := exec.LookPath("busybox")
		if err != nil {
			t.Skip("SKIP: busybox not found (apt-get install busybox): the script is NOT checked with the image's shell and awk")
		}
		bin := t.TempDir()
		for _, tool := range []string{"sh", "awk", "date", "tr", "cat"} {
			if err := os.Symlink(bb, filepath.Join(bin, tool)); err != nil {
				t.Fatal(err)
			}
		}
		testLineageScript(t, bin)
	})
}

func testLineageScript(t *testing.T, bin string) {
	v := oltest.New(t)
	rcv := newReceiver(t)
	rig := newRig(t, map[string]string{"openlineage.url": rcv.srv.URL + "/", "openlineage.endpoint": "api/v1/lineage",
		"openlineage.apiKeySecret": "marquez/api-key"})
	rig.bin = bin

	check := func(what string, got []received, types ...string) []runEvent {
		t.Helper()
		var evs []runEvent
		if len(got) != len(types) {
			t.Fatalf("%s: %d events, want %d (%v)", what, len(got), len(types), types)
		}
		for i, r := range got {
			if r.path != "/api/v1/lineage" || r.auth != "Bearer s3cr3t" {
				t.Errorf("%s: posted to %q with Authorization %q", what, r.path, r.auth)
			}
			if err := v.Validate(r.body); err != nil {
				t.Errorf("%s: event %d does not validate: %v\n%s", what, i, err, r.body)
			}
			if types[i] == "JOB" {
				continue
			}
			ev := decodeRun(t, r.body)
			if ev.EventType != types[i] || ev.Run.RunID != testRunID || ev.Job.Name != "nightly-backtest" || ev.Job.Namespace != "rtsapc" {
				t.Errorf("%s: event %d is %s of run %s of %s/%s, want %s of run %s of rtsapc/nightly-backtest",
					what, i, ev.EventType, ev.Run.RunID, ev.Job.Namespace, ev.Job.Name, types[i], testRunID)
			}
			evs = append(evs, ev)
		}
		return evs
	}

	// START, through one failed attempt (retried).
	rcv.fails = 1
	rig.run(t, "start", "", "", "s3cr3t\n")
	check("start", rcv.take(), "START")

	rig.run(t, "end", "Succeeded", argoFailures(t, nil), "s3cr3t")
	evs := check("succeeded", rcv.take(), "JOB", "JOB", "COMPLETE")
	if _, ok := evs[0].Run.Facets["errorMessage"]; ok {
		t.Error("COMPLETE with an errorMessage")
	}

	// Every hostile name and string as a node name and as its message; the
	// DAG's own "child … failed" entry is left out.
	var fs []failure
	var want []string
	for _, s := range append(hostile(t, "names.json"), hostile(t, "strings.json")...) {
		fs = append(fs, failure{DisplayName: s, Message: s, TemplateName: "t", Phase: "Failed", PodName: "p", FinishedAt: "2026-11-27T01:30:00Z"})
		want = append(want, strings.ToValidUTF8(s, "\uFFFD")+": "+strings.ToValidUTF8(s, "\uFFFD"))
	}
	fs = append(fs, failure{DisplayName: "nightly-backtest", Message: "child 'nightly-backtest-123' failed", Phase: "Failed"})
	quoted := argoFailures(t, fs)
	b, _ := json.Marshal(fs)
	for _, form := range []struct{ name, failures string }{{"Go-quoted", quoted}, {"plain", string(b)}} {
		rig.run(t, "end", "Failed", form.failures, "s3cr3t")
		evs := check("failed, "+form.name, rcv.take(), "JOB", "JOB", "FAIL")
		if got, w := errorMessage(t, evs[0]), "Argo workflow Failed: "+strings.Join(want, "; "); got != w {
			t.Errorf("failed, %s: errorMessage\n%q\nwant\n%q", form.name, got, w)
		}
	}

	// Stopped: the controller fails the nodes it cut short with its own
	// message.
	stopped := argoFailures(t, []failure{{DisplayName: "report", Message: "workflow shutdown with strategy:  Stop", Phase: "Failed"},
		{DisplayName: "nightly-backtest", Message: "child 'nightly-backtest-1' failed", Phase: "Failed"}})
	evs = check("stopped", func() []received { rig.run(t, "end", "Failed", stopped, "s3cr3t"); return rcv.take() }(), "JOB", "JOB", "ABORT")
	if _, ok := evs[0].Run.Facets["errorMessage"]; ok {
		t.Error("ABORT with an errorMessage")
	}

	// Not Argo's list: the text itself, escaped; an Error status.
	for _, s := range hostile(t, "strings.json") {
		if strings.ContainsRune(s, 0) {
			continue // no NUL in an environment variable
		}
		rig.run(t, "end", "Error", s, "s3cr3t")
		evs := check("garbage failures", rcv.take(), "JOB", "JOB", "FAIL")
		w := "Argo workflow Error"
		if s != "" && s != "null" && s != "[]" {
			w += ": " + strings.ToValidUTF8(s, "\uFFFD")
		}
		// A value starting with a quote is read as Go-quoted.
		if got := errorMessage(t, evs[0]); got != w && !strings.HasPrefix(s, `"`) {
			t.Errorf("failures %q: errorMessage %q, want %q", s, got, w)
		}
	}

	// A long failure list is cut at entry boundaries, a long message at
	// 1000 characters, and the event stays valid. (Argo passes the list in
	// an environment variable, which Linux caps at 128 KiB.)
	many := []failure{{DisplayName: "long", Message: strings.Repeat("é\"\\\n", 2000)}}
	for i := 0; i < 100; i++ {
		many = append(many, failure{DisplayName: "step-" + strconv.Itoa(i), Message: strings.Repeat("é\"\\\n", 40)})
	}
	start := time.Now()
	rig.run(t, "end", "Failed", argoFailures(t, many), "s3cr3t")
	evs = check("long failures", rcv.take(), "JOB", "JOB", "FAIL")
	msg := errorMessage(t, evs[0])
	if len(msg) > 8000 || !strings.HasSuffix(msg, "; ...") || !strings.Contains(msg, "...; step-0: é\"\\\né") {
		t.Errorf("long failures: message of %d bytes: %q", len(msg), msg)
	}
	t.Logf("long failures summarised in %v", time.Since(start))

	// A receiver refusing the events does not fail the step.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadRequest) }))
	defer bad.Close()
	rig2 := newRig(t, map[string]string{"openlineage.url": bad.URL})
	rig2.bin = bin
	if _, stderr := rig2.run(t, "end", "Failed", quoted, ""); !strings.Contains(stderr, "could not post FAIL") {
		t.Errorf("no report of the refused event: %s", stderr)
	}
}

// TestLineageScriptConsole: without a URL the events go to the step's log,
// one JSON document after the other.
func TestLineageScriptConsole(t *testing.T) {
	needTools(t)
	v := oltest.New(t)
	rig := newRig(t, nil)
	for _, tc := range []struct {
		mode, status string
		types        []string
	}{{"start", "", []string{"START"}}, {"end", "Error", []string{"JOB", "JOB", "FAIL"}}} {
		out, _ := rig.run(t, tc.mode, tc.status, `"[]"`, "")
		dec := json.NewDecoder(strings.NewReader(out))
		var n int
		for ; ; n++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: stdout is not JSON documents: %v\n%s", tc.mode, err, out)
			}
			if n >= len(tc.types) {
				t.Fatalf("%s: more events than %v:\n%s", tc.mode, tc.types, out)
			}
			if err := v.Validate(raw); err != nil {
				t.Errorf("%s: event %d: %v", tc.mode, n, err)
			}
			if tc.types[n] != "JOB" {
				if ev := decodeRun(t, raw); ev.EventType != tc.types[n] {
					t.Errorf("%s: event %d is %s, want %s", tc.mode, n, ev.EventType, tc.types[n])
				}
			}
		}
		if n != len(tc.types) {
			t.Errorf("%s: %d events, want %d", tc.mode, n, len(tc.types))
		}
	}
}

// TestLineageSettings: kafka is reported (the steps print instead), http
// needs a URL, the API key Secret reference must be <secret>/<key>; the key
// reaches the lineage steps and Beam steps by secretKeyRef only.
func TestLineageSettings(t *testing.T) {
	gen := func(settings map[string]string) (diag.Diagnostics, string) {
		set, ds := Backend.Generate(&backends.Gen{Program: nightly(), Options: &backends.Options{Settings: settings}})
		wt := ""
		if f := set.Get("nightly-backtest/argo/workflowtemplate.yaml"); f != nil {
			wt = string(f.Data)
		}
		return ds, wt
	}
	ds, wt := gen(map[string]string{"openlineage.transport": "kafka", "openlineage.kafka.brokers": "b1:9092"})
	if len(ds) != 1 || ds[0].Code != diag.ArgoLineageSettings || ds[0].Severity != diag.Warning || ds[0].Subject == nil || ds[0].Subject.String() != "spec.cue:38:3" {
		t.Errorf("kafka: %v, want one positioned ArgoLineageSettings warning", ds)
	}
	if !strings.Contains(wt, "value: kafka://b1:9092/openlineage") || strings.Contains(wt, "value: kafka\n") {
		t.Errorf("kafka: Beam steps should produce to Kafka, lineage steps print:\n%s", wt)
	}
	if ds, _ := gen(map[string]string{"openlineage.transport": "http"}); !ds.HasErrors() || ds[0].Code != diag.ArgoLineageSettings {
		t.Errorf("http without URL: %v", ds)
	}
	if ds, _ := gen(map[string]string{"openlineage.url": "http://m:5000", "openlineage.apiKeySecret": "no-key"}); !ds.HasErrors() || ds[0].Code != diag.ArgoLineageSettings {
		t.Errorf("bad apiKeySecret: %v", ds)
	}
	ds, wt = gen(map[string]string{"openlineage.url": "http://m:5000", "openlineage.apiKeySecret": "ol/token"})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	// lineage-start, emit-lineage and the Beam step.
	if n := strings.Count(wt, "name: OPENLINEAGE_API_KEY\n        valueFrom:\n          secretKeyRef:\n            key: token\n            name: ol\n"); n != 3 {
		t.Errorf("%d OPENLINEAGE_API_KEY from secretKeyRef, want 3:\n%s", n, wt)
	}
}

// TestLineageEvent assembles the events the lineage steps post from the
// ConfigMap's static parts and sample dynamic values (a hostile message
// escaped as JSON) and validates them, and the job declarations, against
// the OpenLineage schemas.
func TestLineageEvent(t *testing.T) {
	v := oltest.New(t)
	set, ds := Backend.Generate(&backends.Gen{Program: nightly(), Options: &backends.Options{}})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	f := set.Get("nightly-backtest/argo/openlineage.yaml")
	if f == nil {
		t.Fatal("no openlineage.yaml")
	}
	var cm struct{ Data map[string]string }
	if err := yaml.Unmarshal(f.Data, &cm); err != nil {
		t.Fatal(err)
	}
	head := `{"eventTime":"2026-11-27T01:30:00Z","eventType":"%s","run":{"runId":"` + testRunID + `"},`
	for _, typ := range []string{"START", "COMPLETE", "ABORT"} {
		ev := strings.Replace(head, "%s", typ, 1) + cm.Data["run.json"]
		if err := v.Validate([]byte(ev)); err != nil {
			t.Errorf("%s event: %v\n%s", typ, err, ev)
		}
	}
	for _, s := range hostile(t, "strings.json") {
		msg, _ := json.Marshal(s)
		ev := `{"eventTime":"2026-11-27T01:30:00Z","eventType":"FAIL","run":{"runId":"` + testRunID + `","facets":{"errorMessage":` +
			cm.Data["error.json"] + `"message":` + string(msg) + `}}},` + cm.Data["run.json"]
		if err := v.Validate([]byte(ev)); err != nil {
			t.Errorf("FAIL event: %v\n%s", err, ev)
		}
	}
	n := 0
	for k, data := range cm.Data {
		if strings.HasPrefix(k, "job-") {
			n++
			if err := v.Validate([]byte(data)); err != nil {
				t.Errorf("%s: %v", k, err)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d job declarations, want 2 (backtest, daily-report)", n)
	}
}

// argoSubstitute renders a template value as the controller would: the
// escape tag "{{='{{'}}" yields "{{" and is not read again; other tags are
// looked up in vars.
func argoSubstitute(v string, vars map[string]string) string {
	parts := strings.Split(v, "{{='{{'}}")
	for i, p := range parts {
		for k, x := range vars {
			p = strings.ReplaceAll(p, k, x)
		}
		parts[i] = p
	}
	return strings.Join(parts, "{{")
}

// TestBeamParentHostile: with every hostile name as the workflow's, the
// parent a Beam step's program reads (lineage.ParentFromEnv) is the
// workflow's job and run, and the lineage steps' posts name the same job.
func TestBeamParentHostile(t *testing.T) {
	names := append(hostile(t, "names.json"), hostile(t, "strings.json")...)
	checked := 0
	for _, name := range names {
		pl := batchPipeline("report", "beam")
		w := &ir.Workflow{Name: name, Steps: []*ir.Step{{Name: "report", Pipeline: pl, Pos: at(2)}}, Pos: at(1)}
		g := &gen{prog: &ir.Program{Pipelines: []*ir.Pipeline{pl}, Workflows: []*ir.Workflow{w}}, opts: &backends.Options{}}
		g.ctx, g.names = k8s.NewContext(g.prog, g.opts), &k8s.Names{}
		files := g.workflow(w)
		if g.ds.HasErrors() {
			continue // a name Kubernetes cannot derive is reported elsewhere
		}
		var wt WorkflowTemplate
		for _, f := range files {
			if strings.HasSuffix(f.Path, "/workflowtemplate.yaml") {
				if err := yaml.Unmarshal(f.Data, &wt); err != nil {
					t.Fatal(err)
				}
			}
		}
		found := false
		for _, tpl := range wt.Spec.Templates {
			for _, e := range containerEnv(tpl) {
				if e.Name != "OPENLINEAGE_PARENT_ID" {
					continue
				}
				found = true
				checked++
				v := argoSubstitute(e.Value, map[string]string{workflowUID: testRunID})
				p := lineage.ParentFromEnv(func(string) string { return v }, "")
				if p == nil || p.Job.Namespace != "rtsapc" || p.Job.Name != name || p.Run.RunID != testRunID {
					t.Errorf("workflow %q: OPENLINEAGE_PARENT_ID %q reads as %+v", name, e.Value, p)
				}
			}
		}
		if !found {
			t.Errorf("workflow %q: no OPENLINEAGE_PARENT_ID", name)
		}
	}
	if checked != len(names) {
		t.Errorf("%d of %d hostile workflow names checked", checked, len(names))
	}
}

func containerEnv(tpl *Template) []k8s.EnvVar {
	if tpl.Container == nil {
		return nil
	}
	return tpl.Container.Env
}
