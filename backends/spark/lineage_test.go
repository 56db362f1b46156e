package spark

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/lang/cuespec"
)

// TestLineageWiring: for every spark pipeline of the examples, the
// listener configuration is complete (listener, namespace, app name,
// transport, owner) and its parent job facet names the job and namespace
// the declarations (and `rtsapc lineage`) use, under the declaration run
// the build writes to openlineage/run.json. Its sql facet is the SQL the
// program runs, and the job event validates.
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
			if pl.Engine != "spark" || Backend.Check(pl, opts).HasErrors() {
				continue
			}
			seen++
			st, _ := openlineage.Build(prog, pl, opts)
			r, rds := PipelineResources(prog, pl, opts)
			if rds.HasErrors() || r.Application == nil {
				t.Fatalf("%s: %v", pl.Name, rds)
			}
			stmts, err := programSQL(t, r.ConfigMap.Data[mainFile])
			if err != nil {
				t.Fatalf("%s: %v", pl.Name, err)
			}
			sql := st.Job.Job.Facets.SQL
			if sql == nil || len(stmts) == 0 || sql.Query != (&program{sql: stmts}).script() || sql.Dialect != "spark" {
				t.Errorf("%s: sql facet %+v is not the program's SQL", pl.Name, sql)
			}
			data, err := json.Marshal(st.Job)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Validate(data); err != nil {
				t.Errorf("%s: %v", pl.Name, err)
			}
			conf := r.Application.Spec.SparkConf
			want := map[string]string{
				"spark.extraListeners":                 "io.openlineage.spark.agent.OpenLineageSparkListener",
				"spark.openlineage.namespace":          st.Job.Job.Namespace,
				"spark.openlineage.appName":            st.Job.Job.Name,
				"spark.openlineage.transport.type":     "http",
				"spark.openlineage.transport.url":      "http://marquez:5000",
				"spark.openlineage.transport.endpoint": "/api/v1/lineage",
				"spark.openlineage.parentJobNamespace": st.Job.Job.Namespace,
				"spark.openlineage.parentJobName":      st.Job.Job.Name,
				"spark.openlineage.parentRunId":        st.Run.Run.RunID,
			}
			if pl.Owner != "" {
				want["spark.openlineage.job.owners.team"] = pl.Owner
			}
			for k, v := range want {
				if conf[k] != v {
					t.Errorf("%s: sparkConf %s = %q, want %q", pl.Name, k, conf[k], v)
				}
			}
			found := false
			for _, p := range r.Application.Spec.Deps.Packages {
				found = found || p == pkgOL
			}
			if !found {
				t.Errorf("%s: the OpenLineage Spark agent is not among the packages", pl.Name)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no spark pipeline in the examples")
	}
}
