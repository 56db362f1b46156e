package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
)

// lineageReceiver is a Marquez-compatible endpoint that validates each
// event against the official schemas and keeps it.
type lineageReceiver struct {
	t      *testing.T
	v      *oltest.Validator
	mu     sync.Mutex
	events []ol.RunEvent
	raw    [][]byte
}

func (rc *lineageReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/lineage" || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("%s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	if err := rc.v.Validate(data); err != nil {
		rc.t.Errorf("invalid event: %v\n%s", err, data)
	}
	var ev ol.RunEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		rc.t.Errorf("%v", err)
	}
	rc.mu.Lock()
	rc.events = append(rc.events, ev)
	rc.raw = append(rc.raw, data)
	rc.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

func equitiesExample(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Prism")
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	p := filepath.Join(root, "examples", "equities-vwap")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("EXAMPLE MISSING: %v", err)
	}
	return p
}

// TestRunPostsLineage: `rtsapc run --lineage URL` on Prism (kfake, a few
// events) posts START then COMPLETE of one run to an HTTP receiver; every
// event validates; they name the job and datasets as `rtsapc lineage`
// does, carry the column lineage, and count the rows each sink wrote.
func TestRunPostsLineage(t *testing.T) {
	example := equitiesExample(t)
	rc := &lineageReceiver{t: t, v: oltest.New(t)}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	dir := t.TempDir()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Dir: dir, Getenv: func(string) string { return "" }}
	if code := Run(context.Background(), env, []string{"run", example, "--events", "300", "--preview", "0", "--lineage", srv.URL}); code != ExitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "lineage: 2 events → "+srv.URL) {
		t.Errorf("stderr lacks the lineage report:\n%s", errb.String())
	}

	// The identity `rtsapc lineage` prints.
	var lout, lerr bytes.Buffer
	lenv := &Env{Stdout: &lout, Stderr: &lerr, Dir: dir, Getenv: func(string) string { return "" }}
	if code := Run(context.Background(), lenv, []string{"lineage", example}); code != ExitOK {
		t.Fatalf("lineage: exit %d: %s", code, lerr.String())
	}
	var static ol.JobEvent
	if err := json.Unmarshal([]byte(strings.SplitN(lout.String(), "\n", 2)[0]), &static); err != nil {
		t.Fatal(err)
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.events) != 2 {
		t.Fatalf("%d events, want START and COMPLETE", len(rc.events))
	}
	start, end := rc.events[0], rc.events[1]
	if start.EventType != ol.Start || end.EventType != ol.Complete {
		t.Fatalf("events %s, %s", start.EventType, end.EventType)
	}
	if start.Run.RunID == "" || start.Run.RunID != end.Run.RunID {
		t.Fatalf("run ids %q, %q", start.Run.RunID, end.Run.RunID)
	}
	if !end.EventTime.After(start.EventTime) {
		t.Errorf("COMPLETE at %v, not after START at %v", end.EventTime, start.EventTime)
	}
	for _, ev := range rc.events {
		if ev.Job.Namespace != static.Job.Namespace || ev.Job.Name != static.Job.Name {
			t.Errorf("%s names job %s/%s, lineage prints %s/%s", ev.EventType, ev.Job.Namespace, ev.Job.Name, static.Job.Namespace, static.Job.Name)
		}
		if ev.Job.Facets == nil || ev.Job.Facets.JobType == nil || ev.Job.Facets.JobType.ProcessingType != ol.Streaming ||
			ev.Job.Facets.SourceCodeLocation == nil || ev.Job.Facets.Ownership == nil {
			t.Errorf("%s: static job facets missing: %+v", ev.EventType, ev.Job.Facets)
		}
		if len(ev.Inputs) != len(static.Inputs) || len(ev.Outputs) != len(static.Outputs) {
			t.Fatalf("%s: %d inputs, %d outputs; lineage declares %d, %d", ev.EventType, len(ev.Inputs), len(ev.Outputs), len(static.Inputs), len(static.Outputs))
		}
		for i, o := range ev.Outputs {
			if o.Namespace != static.Outputs[i].Namespace || o.Name != static.Outputs[i].Name {
				t.Errorf("output %d is %s/%s, lineage declares %s/%s", i, o.Namespace, o.Name, static.Outputs[i].Namespace, static.Outputs[i].Name)
			}
			if o.Facets == nil || o.Facets.ColumnLineage == nil || o.Facets.Schema == nil {
				t.Errorf("%s: output %s lacks schema or columnLineage", ev.EventType, o.Name)
			}
		}
	}
	if end.Run.Facets == nil || end.Run.Facets.ProcessingEngine == nil || end.Run.Facets.ProcessingEngine.Name != "beam" {
		t.Errorf("COMPLETE lacks processing_engine beam: %s", rc.raw[1])
	}
	// Row counts: what each sink file holds (sinks writing the same
	// dataset add up; the equities example's sinks write distinct ones).
	withStats := 0
	for _, o := range end.Outputs {
		if o.OutputFacets == nil || o.OutputFacets.OutputStatistics == nil {
			continue
		}
		withStats++
		if o.OutputFacets.OutputStatistics.RowCount < 0 {
			t.Errorf("output %s: row count %d", o.Name, o.OutputFacets.OutputStatistics.RowCount)
		}
	}
	if withStats != len(end.Outputs) {
		t.Errorf("%d of %d outputs carry outputStatistics", withStats, len(end.Outputs))
	}
	bars, err := os.ReadFile(filepath.Join(dir, "out", "run", "equities-vwap", "bars.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := int64(bytes.Count(bars, []byte("\n"))); n == 0 || !hasRowCount(end.Outputs, n) {
		t.Errorf("no output counts the %d rows of bars.jsonl: %s", n, rc.raw[1])
	}
}

func hasRowCount(outs []ol.OutputDataset, n int64) bool {
	for _, o := range outs {
		if o.OutputFacets != nil && o.OutputFacets.OutputStatistics != nil && o.OutputFacets.OutputStatistics.RowCount == n {
			return true
		}
	}
	return false
}

// TestRunLineageDefaultsAndFaults: without --lineage or environment the
// events land in out/run/<pipeline>/openlineage.jsonl (valid, START then
// COMPLETE); an unreachable endpoint costs the run nothing but a report;
// a bad --lineage is a usage error.
func TestRunLineageDefaultsAndFaults(t *testing.T) {
	example := equitiesExample(t)
	v := oltest.New(t)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Dir: dir, Getenv: func(string) string { return "" }}
	if code := Run(context.Background(), env, []string{"run", example, "--events", "100", "--preview", "0"}); code != ExitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, errb.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "out", "run", "equities-vwap", "openlineage.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.ValidateLines(data); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"eventType":"START"`) || !strings.Contains(lines[1], `"eventType":"COMPLETE"`) {
		t.Fatalf("default file:\n%s", data)
	}

	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	errb.Reset()
	if code := Run(context.Background(), env, []string{"run", example, "--events", "100", "--preview", "0", "--lineage", dead}); code != ExitOK {
		t.Fatalf("unreachable lineage endpoint: exit %d\nstderr:\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "pipeline equities-vwap finished") || !strings.Contains(errb.String(), "lineage: 0 events → "+dead+" (2 failed, 0 dropped") {
		t.Errorf("stderr:\n%s", errb.String())
	}

	// The environment's choice, when no flag is given.
	errb.Reset()
	envFile := filepath.Join(dir, "env.jsonl")
	env.Getenv = func(k string) string {
		if k == "RTSAPC_LINEAGE" {
			return "file:" + envFile
		}
		return ""
	}
	if code := Run(context.Background(), env, []string{"run", example, "--events", "50", "--preview", "0"}); code != ExitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, errb.String())
	}
	if data, err := os.ReadFile(envFile); err != nil || strings.Count(string(data), "\n") != 2 {
		t.Errorf("RTSAPC_LINEAGE file: %v\n%s", err, data)
	}

	errb.Reset()
	if code := Run(context.Background(), env, []string{"run", example, "--lineage", "carrier-pigeon"}); code != ExitUsage {
		t.Errorf("--lineage carrier-pigeon: exit %d, want %d", code, ExitUsage)
	}
}
