package flink

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/cuespec"
)

// TestLineageWiring: for every flink pipeline of the examples, the sql
// facet of its OpenLineage job is the job.sql the backend writes, the job
// event still validates, and the listener configuration names the job and
// namespace exactly as the declarations (and `rtsapc lineage`) do.
func TestLineageWiring(t *testing.T) {
	v := oltest.New(t)
	dir, _ := filepath.Abs("../../examples")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Skipf("SKIP: no examples: %v", err)
	}
	opts := &backends.Options{Version: "test", Settings: map[string]string{openlineage.SetNamespace: "md", SetOLURL: "http://marquez:5000"}}
	seen := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		f, ds := cuespec.Load(&cuespec.Config{Dir: dir}, []string{"./" + e.Name()})
		if ds.HasErrors() {
			t.Fatalf("%s: %v", e.Name(), ds)
		}
		prog, cds := compiler.Compile(f, &compiler.Config{})
		if cds.HasErrors() {
			t.Fatalf("%s: %v", e.Name(), cds)
		}
		for _, pl := range prog.Pipelines {
			if pl.Engine != "flink" || Backend.Check(pl, opts).HasErrors() {
				continue
			}
			seen++
			set, gds := Backend.Generate(&backends.Gen{Program: prog, Pipelines: []*ir.Pipeline{pl}, Options: opts})
			if gds.HasErrors() {
				t.Fatalf("%s: %v", pl.Name, gds)
			}
			script := set.Get(Folder(pl) + "/flink/" + scriptFile)
			st, _ := openlineage.Build(prog, pl, opts)
			sql := st.Job.Job.Facets.SQL
			if script == nil || sql == nil || sql.Query != string(script.Data) || sql.Dialect != "flink" {
				t.Errorf("%s: sql facet %+v is not job.sql", pl.Name, sql)
			}
			data, err := json.Marshal(st.Job)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Validate(data); err != nil {
				t.Errorf("%s: %v", pl.Name, err)
			}
			r, _ := PipelineResources(prog, pl, opts)
			if r.Deployment == nil {
				t.Fatalf("%s: no FlinkDeployment", pl.Name)
			}
			conf := r.Deployment.Spec.FlinkConfiguration
			want := map[string]string{
				"execution.job-status-changed-listeners": olListenerFactory,
				"openlineage.job.name":                   st.Job.Job.Name,
				"openlineage.job.namespace":              st.Job.Job.Namespace,
				"openlineage.transport.type":             "http",
				"openlineage.transport.url":              "http://marquez:5000",
				"openlineage.transport.endpoint":         "/api/v1/lineage",
			}
			if pl.Owner != "" {
				want["openlineage.job.owners.team"] = pl.Owner
			}
			for k, v := range want {
				if conf[k] != v {
					t.Errorf("%s: flinkConfiguration %s = %q, want %q", pl.Name, k, conf[k], v)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no flink pipeline in the examples")
	}
}
