package flink

import (
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
)

// TestPipelineResourcesAreGenerated: the exported objects (which argo
// embeds) encode to the very bytes Generate writes, in application and
// session mode, and a batch pipeline runs in batch mode.
func TestPipelineResourcesAreGenerated(t *testing.T) {
	for _, session := range []string{"", "md-session"} {
		pl := features()
		pl.Mode = ir.Batch
		stripSecrets(pl)
		opts := &backends.Options{Version: "test", Settings: map[string]string{SetRunnerJar: "https://repo.example/sql-runner.jar"}}
		if session != "" {
			opts.Settings[SetSession] = session
		}
		prog := &ir.Program{Pipelines: []*ir.Pipeline{pl}, SpecDigest: "abc"}
		set, ds := generateAll(t, prog, opts)
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		res, rds := PipelineResources(prog, pl, opts)
		if rds.HasErrors() {
			t.Fatal(rds)
		}
		var obj any = res.Deployment
		file := "flinkdeployment.yaml"
		if session != "" {
			obj, file = res.SessionJob, "flinksessionjob.yaml"
			if res.Deployment != nil || res.SessionJob == nil {
				t.Fatalf("session %q: want only a FlinkSessionJob, got %+v", session, res)
			}
			if got := res.SessionJob.Spec.FlinkConfiguration["execution.runtime-mode"]; got != "BATCH" {
				t.Errorf("batch session job: execution.runtime-mode = %q, want BATCH", got)
			}
		} else if got := res.Deployment.Spec.FlinkConfiguration["execution.runtime-mode"]; got != "BATCH" {
			t.Errorf("batch deployment: execution.runtime-mode = %q, want BATCH", got)
		}
		dir := Folder(pl) + "/flink/"
		for path, o := range map[string]any{dir + file: obj, dir + "configmap.yaml": res.ConfigMap} {
			want := set.Get(path)
			if want == nil {
				t.Fatalf("Generate wrote no %s", path)
			}
			got, err := k8s.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want.Data) {
				t.Errorf("%s: PipelineResources differs from Generate:\n%s\nvs\n%s", path, got, want.Data)
			}
		}
	}
}

// TestFolderIsPathSegment: output folders follow artifact.PathSegment, as in
// every backend; object names stay DNS-derived.
func TestFolderIsPathSegment(t *testing.T) {
	for _, name := range []string{"equities-vwap", "Équités/../vwap", ".hidden", "a b"} {
		pl := &ir.Pipeline{Name: name}
		if got, want := Folder(pl), artifact.PathSegment(name); got != want {
			t.Errorf("Folder(%q) = %q, want %q", name, got, want)
		}
	}
}
