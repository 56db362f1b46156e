package nifi

import (
	"encoding/json"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler/ir"
)

// TestLineage: a NiFi build writes the flow's lineage declaration next to
// the flow, the openlineage backend's events for the pipeline (byte for
// byte the same job), valid against the OpenLineage schemas, with a
// processing_engine naming nifi at the bundle version.
func TestLineage(t *testing.T) {
	v := oltest.New(t)
	for _, tc := range []struct {
		settings map[string]string
		version  string
	}{{nil, DefaultVersion}, {map[string]string{"nifi.version": "2.4.0"}, "2.4.0"}} {
		pl := newsIngest()
		prog := &ir.Program{Pipelines: []*ir.Pipeline{pl}, SpecDigest: "abc"}
		opts := &backends.Options{Version: "test", Settings: tc.settings}
		set, ds := Backend.Generate(&backends.Gen{Program: prog, Pipelines: prog.Pipelines, Options: opts})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		dir := pl.Name + "/nifi/"
		if set.Get(dir+"flow.json") == nil {
			t.Fatalf("no flow.json among %v", paths(set))
		}
		job, run := set.Get(dir+"openlineage/job.json"), set.Get(dir+"openlineage/run.json")
		if job == nil || run == nil {
			t.Fatalf("lineage declaration missing: %v", paths(set))
		}
		for _, f := range []string{dir + "openlineage/job.json", dir + "openlineage/run.json"} {
			if err := v.Validate(set.Get(f).Data); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		st, _ := openlineage.Build(prog, pl, opts)
		want, err := openlineage.Marshal(st.Job)
		if err != nil {
			t.Fatal(err)
		}
		if string(job.Data) != string(want) {
			t.Errorf("job.json differs from the openlineage backend's:\n%s\nwant\n%s", job.Data, want)
		}
		var ev struct {
			EventType string
			Job       struct{ Namespace, Name string }
			Run       struct {
				RunID  string
				Facets struct {
					Engine struct{ Name, Version string } `json:"processing_engine"`
				}
			}
		}
		if err := json.Unmarshal(run.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.EventType != "OTHER" || ev.Run.Facets.Engine.Name != "nifi" || ev.Run.Facets.Engine.Version != tc.version {
			t.Errorf("run.json: %+v, want OTHER with processing_engine nifi %s", ev, tc.version)
		}
		if ev.Run.RunID != openlineage.DeclarationRunID(prog, pl, opts) || ev.Job.Name != openlineage.JobName(pl) {
			t.Errorf("run.json names run %s of job %s, not the declaration run of %s", ev.Run.RunID, ev.Job.Name, openlineage.JobName(pl))
		}
		if strings.Contains(string(run.Data), "unspecified") {
			t.Errorf("engine version unspecified:\n%s", run.Data)
		}
	}
}

func paths(set *artifact.Set) []string {
	var out []string
	for _, f := range set.Files {
		out = append(out, f.Path)
	}
	return out
}
