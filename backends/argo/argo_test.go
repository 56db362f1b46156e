package argo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/internal/crd"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/diag"
)

func at(line int) diag.Range {
	return diag.Range{Filename: "spec.cue", Start: diag.Pos{Line: line, Column: 3}, End: diag.Pos{Line: line, Column: 3}}
}

var barType = rtype.RecordOf(
	rtype.Field{Name: "symbol", Type: rtype.StringType},
	rtype.Field{Name: "ts", Type: rtype.TimestampMillis},
	rtype.Field{Name: "close", Type: rtype.DecimalOf(18, 6)},
)

func batchPipeline(name, engine string) *ir.Pipeline {
	src := &ir.Node{ID: 1, Name: "bars", Out: barType, Pos: at(30), Op: &ir.Source{Bounded: true, Schema: barType,
		Connector: ir.Connector{Kind: "s3", Format: "parquet", Options: []ir.Option{{Key: "bucket", Value: "md-archive"}, {Key: "path", Value: "bars/1m/"}}}}}
	sink := &ir.Node{ID: 2, Name: "results", Out: barType, Inputs: []ir.NodeID{1}, Pos: at(34), Op: &ir.Sink{
		Connector: ir.Connector{Kind: "postgres", Options: []ir.Option{{Key: "table", Value: "backtest.results"}, {Key: "url", Value: "postgres://pg:5432/research"}}}}}
	if engine == "beam" {
		// The Beam runtime reads Kafka: the pipeline reads a topic to its
		// end (--bounded), with SASL credentials from a Secret.
		src.Op = &ir.Source{Bounded: true, Schema: barType, Connector: ir.Connector{Kind: "kafka", Format: "json",
			Options: []ir.Option{{Key: "brokers", Value: []any{"kafka:9092"}}, {Key: "topic", Value: "backtest.results"},
				{Key: "password", Value: &ir.Secret{Name: "kafka-report", Key: "password"}}}}}
	}
	return &ir.Pipeline{Name: name, Mode: ir.Batch, Engine: engine, Owner: "quant", Nodes: []*ir.Node{src, sink}, Pos: at(28),
		Deploy: ir.Deploy{Parallelism: 4, Memory: "4g"}}
}

// nightly: a scheduled DAG of a container, a Spark backtest and a Beam
// report, with retries, timeouts, parameters and an onExit step.
func nightly() *ir.Program {
	backtest := batchPipeline("backtest", "spark")
	report := batchPipeline("daily-report", "beam")
	w := &ir.Workflow{Name: "nightly-backtest", Description: "Nightly backtest of the momentum strategies",
		Schedule: &ir.Schedule{Cron: "30 1 * * 1-5", Timezone: "America/New_York", ConcurrencyPolicy: "Forbid", StartingDeadline: 10 * time.Minute},
		Params:   []ir.KV{{Key: "strategy", Value: "momentum"}, {Key: "as_of", Value: "{{workflow.creationTimestamp.Y}}"}},
		Steps: []*ir.Step{
			{Name: "snapshot", Container: &ir.Container{Image: "ghcr.io/acme/md-snapshot:1.4", Command: []string{"/snapshot"},
				Args: []string{"--date", "{{workflow.parameters.as_of}}"}, Env: []ir.KV{{Key: "BUCKET", Value: "md-archive"}}},
				Retry: &ir.Retry{Limit: 3, Policy: "OnFailure", Backoff: 30 * time.Second, Factor: 2, MaxDuration: 10 * time.Minute}, Pos: at(40)},
			{Name: "backtest", Pipeline: backtest, DependsOn: []string{"snapshot"}, Timeout: 2 * time.Hour,
				Params: []ir.KV{{Key: "strategy", Value: "{{workflow.parameters.strategy}}"}}, Pos: at(45)},
			{Name: "report", Pipeline: report, DependsOn: []string{"backtest"}, Retry: &ir.Retry{Limit: 1}, Pos: at(50)},
		},
		OnExit:         &ir.Step{Name: "notify", Container: &ir.Container{Image: "ghcr.io/acme/notify:2", Args: []string{"{{workflow.status}}"}}, Pos: at(55)},
		ActiveDeadline: 6 * time.Hour, Pos: at(38)}
	return &ir.Program{Pipelines: []*ir.Pipeline{backtest, report}, Workflows: []*ir.Workflow{w}, SpecDigest: "0123abcd"}
}

// adhoc: an unscheduled workflow running a Flink batch job.
func adhoc() *ir.Program {
	recompute := batchPipeline("recompute-bars", "flink")
	w := &ir.Workflow{Name: "Recompute Bars", Steps: []*ir.Step{{Name: "recompute", Pipeline: recompute, Pos: at(12)}}, Pos: at(10)}
	return &ir.Program{Pipelines: []*ir.Pipeline{recompute}, Workflows: []*ir.Workflow{w}}
}

func rejected() *ir.Program {
	stream := batchPipeline("live", "flink")
	stream.Mode = ir.Streaming
	flow := batchPipeline("ingest", "nifi")
	w := &ir.Workflow{Name: "bad", Schedule: &ir.Schedule{Cron: "every day", Timezone: "Mars/Olympus", ConcurrencyPolicy: "Sometimes"},
		Params: []ir.KV{{Key: "as of", Value: "x"}},
		Steps: []*ir.Step{
			{Name: "live", Pipeline: stream, Pos: at(5)},
			{Name: "ingest", Pipeline: flow, Pos: at(6)},
			{Name: "main", Container: &ir.Container{Image: "busybox"}, Pos: at(7)},
			{Name: "slow", Container: &ir.Container{Image: "busybox"}, Retry: &ir.Retry{Limit: 2, Factor: 1.5, Policy: "Sometimes"}, Pos: at(8)},
			{Name: "orphan", Container: &ir.Container{Image: "busybox"}, DependsOn: []string{"nowhere"}, Pos: at(9)},
		}, Pos: at(3)}
	return &ir.Program{Pipelines: []*ir.Pipeline{stream, flow}, Workflows: []*ir.Workflow{w}}
}

var cases = map[string]func() *ir.Program{"nightly": nightly, "adhoc": adhoc, "rejected": rejected}

func render(ds diag.Diagnostics) []byte {
	var b strings.Builder
	for _, d := range ds.Sort() {
		b.WriteString(d.Error())
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func schemas(t testing.TB) string {
	d, ok := crd.FindSchemas()
	if !ok {
		t.Skip("SKIPPING: ../shared/schemas not found; Argo output cannot be checked against Argo's CRDs")
	}
	return d
}

func TestGolden(t *testing.T) {
	dir := schemas(t)
	golden.Run(t, "testdata", func(t *golden.T) {
		mk, ok := cases[t.Name]
		if !ok {
			t.Fatalf("no IR builder for case %s", t.Name)
		}
		prog := mk()
		r := backends.NewRegistry()
		r.MustRegister(Backend)
		set, ds := r.Generate(prog, []string{"argo"}, &backends.Options{Version: "test"})
		t.Out("diagnostics", render(ds))
		if ds.HasErrors() {
			return
		}
		for _, f := range set.Files {
			t.Out(f.Path, f.Data)
		}
		checkJobs(t.T, dir, set)
	})
}

// checkJobs validates the resources embedded in resource templates against
// their operators' CRDs.
func checkJobs(t *testing.T, dir string, set *artifact.Set) {
	for _, f := range set.Files {
		if f.Object == nil || f.Object.Kind != "WorkflowTemplate" {
			continue
		}
		var wt WorkflowTemplate
		if err := yaml.Unmarshal(f.Data, &wt); err != nil {
			t.Fatal(err)
		}
		for _, tpl := range wt.Spec.Templates {
			if tpl.Resource == nil {
				continue
			}
			m := strings.ReplaceAll(tpl.Resource.Manifest, "{{='{{'}}", "{{")
			obj, err := k8s.Decode([]byte(m))
			if err != nil {
				t.Fatal(err)
			}
			sub := map[string]string{"SparkApplication": "spark", "FlinkDeployment": "flink", "FlinkSessionJob": "flink"}[obj["kind"].(string)]
			cs, err := crd.Cached(filepath.Join(dir, sub))
			if err != nil {
				t.Fatal(err)
			}
			// generateName objects have no name until created; give one
			// for validation.
			obj["metadata"].(map[string]any)["name"] = "x"
			for _, e := range cs.Validate(obj) {
				t.Errorf("%s template %s: %v", f.Path, tpl.Name, e)
			}
		}
	}
}

func TestDiagnosticPositions(t *testing.T) {
	ds := Check(rejected(), &backends.Options{})
	want := map[string][]diag.Code{
		"spec.cue:3:3": {diag.ArgoInvalidSchedule, diag.UnrepresentableName},
		"spec.cue:5:3": {diag.ArgoUnsupportedStep},
		"spec.cue:6:3": {diag.ArgoUnsupportedStep},
		"spec.cue:7:3": {diag.ArgoNameCollision},
		"spec.cue:8:3": {diag.ArgoUnsupportedRetry},
		"spec.cue:9:3": {diag.ArgoUnknownDependency},
	}
	got := map[string]map[diag.Code]bool{}
	for _, d := range ds {
		if d.Subject == nil {
			t.Errorf("unpositioned: %v", d)
			continue
		}
		k := d.Subject.String()
		if got[k] == nil {
			got[k] = map[diag.Code]bool{}
		}
		got[k][d.Code] = true
	}
	for pos, codes := range want {
		for _, c := range codes {
			if !got[pos][c] {
				t.Errorf("no %v at %s; got %v", c, pos, ds)
			}
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{30 * time.Second: "30s", 2 * time.Hour: "2h", 90 * time.Minute: "1h30m", 1500 * time.Millisecond: "1500ms"} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(Duration(d)); err != nil || back != d {
			t.Errorf("%q does not parse back to %v", Duration(d), d)
		}
	}
}

func hostile(t *testing.T, file string) []string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		p := filepath.Dir(dir)
		if p == dir {
			t.Fatal("no go.mod")
		}
		dir = p
	}
	data, err := os.ReadFile(filepath.Join(dir, "..", "shared", "hostile", file))
	if err != nil {
		t.Skipf("SKIPPING: hostile corpus not found: %v", err)
	}
	var out []string
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostile: every hostile name as a workflow, step and pipeline name and
// every hostile string as a description and container argument yield
// manifests that validate against both CRD sets and load back to the same
// values; names are derived, originals kept in annotations.
func TestHostile(t *testing.T) {
	schemas(t)
	var values []string
	dup := map[string]bool{}
	for _, v := range append(hostile(t, "names.json"), hostile(t, "strings.json")...) {
		if !dup[v] { // workflow names are unique in a spec
			dup[v] = true
			values = append(values, v)
		}
	}
	var wfs []*ir.Workflow
	var pls []*ir.Pipeline
	for i, v := range values {
		pl := batchPipeline(v, []string{"spark", "flink", "beam"}[i%3])
		pls = append(pls, pl)
		wfs = append(wfs, &ir.Workflow{Name: v, Description: v, Steps: []*ir.Step{
			{Name: v, Pipeline: pl, Pos: at(2)},
			{Name: v + "-after", Container: &ir.Container{Image: "busybox", Args: []string{v}, Env: []ir.KV{{Key: "V", Value: v}}}, DependsOn: []string{v}, Pos: at(3)},
		}, Pos: at(1)})
	}
	// Workflow names that derive alike are a collision, reported: drop those
	// and generate the rest.
	prog := &ir.Program{Pipelines: pls, Workflows: wfs}
	set, ds := Backend.Generate(&backends.Gen{Program: prog, Options: &backends.Options{}})
	for _, d := range ds {
		if d.Code != diag.ArgoNameCollision {
			t.Errorf("unexpected: %v", d)
		}
	}
	if ds.HasErrors() {
		t.Fatalf("collisions among hostile names: %v", ds)
	}
	seen := map[string]bool{}
	for _, f := range set.Files {
		if seen[f.Path] {
			t.Errorf("two files at %s", f.Path)
		}
		seen[f.Path] = true
		var obj map[string]any
		if err := yaml.Unmarshal(f.Data, &obj); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		if f.Object == nil || f.Object.Kind != "WorkflowTemplate" {
			continue
		}
		var wt WorkflowTemplate
		if err := yaml.UnmarshalStrict(f.Data, &wt); err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		orig := wt.Metadata.Annotations["rtsap.dev/workflow"]
		if wt.Metadata.Annotations["rtsap.dev/description"] != orig {
			t.Errorf("%s: description did not survive: %q vs %q", f.Path, wt.Metadata.Annotations["rtsap.dev/description"], orig)
		}
		for _, tpl := range wt.Spec.Templates {
			if tpl.Container != nil && tpl.Name != emitLineage && tpl.Metadata != nil && tpl.Metadata.Annotations[k8s.AnnoPipeline] == "" {
				if !reflect.DeepEqual(tpl.Container.Args, []string{orig}) {
					t.Errorf("%s: args %q, want %q", f.Path, tpl.Container.Args, orig)
				}
			}
			if tpl.Resource != nil && strings.Contains(strings.ReplaceAll(strings.ReplaceAll(tpl.Resource.Manifest, "{{='{{'}}", ""), "'{{workflow.uid}}'", ""), "{{") {
				t.Errorf("%s: unescaped template tag in manifest", f.Path)
			}
		}
	}
}
