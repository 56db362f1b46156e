package spark

import (
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
)

// TestPipelineResourcesAreGenerated: the exported objects (which argo
// embeds) encode to the very bytes Generate writes; with spark.schedule the
// backend writes a ScheduledSparkApplication whose template is the
// exported application's spec.
func TestPipelineResourcesAreGenerated(t *testing.T) {
	for _, cron := range []string{"", "0 2 * * *"} {
		pl := backtest()
		opts := &backends.Options{Version: "test", Settings: map[string]string{}}
		if cron != "" {
			opts.Settings[SetSchedule] = cron
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
		var obj any = res.Application
		file := "sparkapplication.yaml"
		if cron != "" {
			file = "scheduledsparkapplication.yaml"
			obj = &ScheduledSparkApplication{TypeMeta: k8s.TypeMeta{APIVersion: "sparkoperator.k8s.io/v1beta2", Kind: "ScheduledSparkApplication"},
				Metadata: res.Application.Metadata, Spec: ScheduledSpec{Schedule: cron, TimeZone: "UTC", ConcurrencyPolicy: "Forbid",
					SuccessfulRunHistoryLimit: 3, FailedRunHistoryLimit: 3, Template: res.Application.Spec}}
		}
		dir := Folder(pl) + "/spark/"
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
	for _, name := range []string{"nightly-backtest", "Back/../test", ".hidden", "a b"} {
		pl := &ir.Pipeline{Name: name}
		if got, want := Folder(pl), artifact.PathSegment(name); got != want {
			t.Errorf("Folder(%q) = %q, want %q", name, got, want)
		}
	}
}
