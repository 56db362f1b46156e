package openlineage_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/plan/target/openlineage"
	"rtsap.dev/rtsapc/state"
)

// A lineage endpoint receives each declaration's events on apply, once;
// changed declarations are sent again; the plan never reads the endpoint.
func TestDeclarationsPostedOnApply(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/api/v1/lineage" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", 400)
			return
		}
		var ev map[string]any
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
		w.WriteHeader(201)
	}))
	defer srv.Close()
	targets := map[string]target.Target{"openlineage": &openlineage.Target{URL: srv.URL + "/api/v1/lineage"}}
	store := &state.Local{Path: filepath.Join(t.TempDir(), "state.json")}
	set := func(desc string) *artifact.Set {
		s := &artifact.Set{}
		s.Add(&artifact.File{Path: "vwap/openlineage/job.json", Kind: artifact.JSON, Target: "openlineage", Pipeline: "vwap",
			Data: []byte(`{"eventType": "OTHER", "job": {"namespace": "rtsapc", "name": "vwap", "facets": {"documentation": {"description": "` + desc + `"}}}}`)})
		s.Add(&artifact.File{Path: "vwap/openlineage/datasets.jsonl", Kind: artifact.JSONL, Target: "openlineage", Pipeline: "vwap",
			Data: []byte("{\"dataset\": {\"name\": \"a\"}}\n{\"dataset\": {\"name\": \"b\"}}\n")})
		return s
	}
	run := func(desc string) *plan.Plan {
		t.Helper()
		desired, _, ds := plan.Desired(nil, set(desc), plan.Routing{OpenLineage: true})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		st, _ := store.Read(context.Background())
		p, ds := plan.Build(context.Background(), &plan.Config{Desired: desired, State: st, Targets: targets})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		if _, ds := plan.Apply(context.Background(), &plan.ApplyConfig{Plan: p, Targets: targets, Store: store, State: st}); ds.HasErrors() {
			t.Fatal(ds)
		}
		return p
	}
	if p := run("v1"); p.Summary.Add != 2 || p.Changes[0].Addr != `openlineage.declaration["vwap/openlineage/datasets.jsonl"]` {
		t.Fatalf("first plan: %+v", p.Summary)
	}
	if len(got) != 3 {
		t.Fatalf("%d events posted, want 3", len(got))
	}
	if p := run("v1"); p.HasChanges() {
		t.Fatalf("unchanged declarations planned again: %+v", p.Summary)
	}
	if len(got) != 3 {
		t.Fatalf("%d events after a no-op apply, want 3", len(got))
	}
	if p := run("v2"); p.Summary.Change != 1 {
		t.Fatalf("changed declaration: %+v", p.Summary)
	}
	if len(got) != 4 || got[3]["job"].(map[string]any)["facets"].(map[string]any)["documentation"].(map[string]any)["description"] != "v2" {
		t.Fatalf("re-posted events: %v", got[3:])
	}
}

// The target posts through lineage.HTTP: a 503 is retried, the API key
// goes as a Bearer token, a URL without a path posts to /api/v1/lineage,
// and a 4xx fails the apply (it is retried on the next one).
func TestApplyRetriesAndAuth(t *testing.T) {
	var mu sync.Mutex
	var attempts int
	var auth []string
	reject := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		auth = append(auth, r.Header.Get("Authorization"))
		switch {
		case r.URL.Path != "/api/v1/lineage":
			http.Error(w, "not found", 404)
		case reject:
			http.Error(w, "invalid", 422)
		case attempts == 1:
			http.Error(w, "busy", 503)
		default:
			w.WriteHeader(201)
		}
	}))
	defer srv.Close()
	tg := &openlineage.Target{URL: srv.URL, Getenv: func(k string) string {
		if k == "OPENLINEAGE_API_KEY" {
			return "s3cret"
		}
		return ""
	}}
	r := &target.Resource{Name: "vwap", Body: map[string]any{"events": []any{map[string]any{"eventType": "OTHER"}}}}
	if err := tg.Apply(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if attempts != 2 || auth[0] != "Bearer s3cret" || auth[1] != "Bearer s3cret" {
		t.Fatalf("%d attempts, auth %q", attempts, auth)
	}
	reject = true
	mu.Unlock()
	if err := tg.Apply(context.Background(), r, nil); err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("a rejected event: %v", err)
	}
}
