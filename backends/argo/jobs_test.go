package argo

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/beamgo"
	"rtsap.dev/rtsapc/backends/flink"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/backends/spark"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/sink"
)

// TestJobsAreTheEnginesObjects builds the workflows with the spark and flink
// targets alongside: every job a resource template creates is the object
// of <pipeline>/<engine>/ but for metadata.generateName and the name of the
// ConfigMap it mounts, and every script ConfigMap in the workflow folder is
// the engine folder's but for its name (<workflow>-<engine's name>).
func TestJobsAreTheEnginesObjects(t *testing.T) {
	schemas(t)
	for _, c := range []struct {
		name, engine string
		mk           func() *ir.Program
	}{{"nightly", "spark", nightly}, {"adhoc", "flink", adhoc}} {
		name := c.name
		r := backends.NewRegistry()
		r.MustRegister(Backend)
		r.MustRegister(spark.Backend)
		r.MustRegister(flink.Backend)
		set, ds := r.Generate(c.mk(), []string{"argo", c.engine}, &backends.Options{Version: "test"})
		if ds.HasErrors() {
			t.Fatalf("%s: %v", name, ds)
		}
		jobs, cms := 0, 0
		renamed := map[string]string{} // workflow's ConfigMap → engine's
		for _, f := range set.Files {
			if f.Target != "argo" {
				continue
			}
			base := f.Path[strings.LastIndex(f.Path, "/")+1:]
			if seg, ok := strings.CutPrefix(base, "configmap-"); ok {
				cms++
				seg = strings.TrimSuffix(seg, ".yaml")
				wf := set.Get(seg + "/" + c.engine + "/configmap.yaml")
				if wf == nil {
					t.Fatalf("%s: no engine configmap.yaml for %s", name, f.Path)
				}
				got, err := k8s.Decode(f.Data)
				if err != nil {
					t.Fatal(err)
				}
				want, err := k8s.Decode(wf.Data)
				if err != nil {
					t.Fatal(err)
				}
				gm, wm := got["metadata"].(map[string]any), want["metadata"].(map[string]any)
				gn, wn := gm["name"].(string), wm["name"].(string)
				if !strings.HasSuffix(gn, "-"+wn) || gm["annotations"].(map[string]any)["rtsap.dev/workflow"] == nil {
					t.Errorf("%s: %s is named %q, want <workflow>-%s with the workflow annotated", name, f.Path, gn, wn)
				}
				renamed[gn] = wn
				delete(gm, "name")
				delete(wm, "name")
				delete(gm["annotations"].(map[string]any), "rtsap.dev/workflow")
				delete(gm["labels"].(map[string]any), k8s.LabelName)
				delete(wm["labels"].(map[string]any), k8s.LabelName)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s is not the engine folder's configmap.yaml but for its name", name, f.Path)
				}
				continue
			}
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
				jobs++
				m := strings.ReplaceAll(tpl.Resource.Manifest, "{{='{{'}}", "{{")
				for argoName, engineName := range renamed {
					if !strings.Contains(m, "name: "+argoName+"\n") {
						t.Errorf("%s: template %s does not mount %s", name, tpl.Name, argoName)
					}
					m = strings.ReplaceAll(m, "name: "+argoName+"\n", "name: "+engineName+"\n")
				}
				got, err := k8s.Decode([]byte(m))
				if err != nil {
					t.Fatal(err)
				}
				meta := got["metadata"].(map[string]any)
				gn, _ := meta["generateName"].(string)
				if gn == "" || meta["name"] != nil {
					t.Errorf("%s: template %s: want generateName only, got %v", name, tpl.Name, meta)
				}
				delete(meta, "generateName")
				seg := artifact.PathSegment(tpl.Metadata.Annotations[k8s.AnnoPipeline])
				kind := strings.ToLower(got["kind"].(string)) + ".yaml"
				wf := set.Get(seg + "/" + c.engine + "/" + kind)
				if wf == nil {
					t.Fatalf("%s: no %s for pipeline folder %s", name, kind, seg)
				}
				want, err := k8s.Decode(wf.Data)
				if err != nil {
					t.Fatal(err)
				}
				wmeta := want["metadata"].(map[string]any)
				if wn := wmeta["name"].(string); wn+"-" != gn {
					t.Errorf("%s: generateName %q, engine object named %q", name, gn, wn)
				}
				delete(wmeta, "name")
				// The one change besides the name: a Spark job's listener
				// hangs its runs under the workflow's run.
				if got["kind"] == "SparkApplication" {
					gc := got["spec"].(map[string]any)["sparkConf"].(map[string]any)
					wc := want["spec"].(map[string]any)["sparkConf"].(map[string]any)
					parent := map[string]any{"spark.openlineage.parentJobNamespace": "rtsapc",
						"spark.openlineage.parentJobName": wt.Metadata.Annotations["rtsap.dev/workflow"],
						"spark.openlineage.parentRunId":   "{{workflow.uid}}"}
					for k, v := range parent {
						if gc[k] != v {
							t.Errorf("%s: template %s: %s = %v, want %v", name, tpl.Name, k, gc[k], v)
						}
						gc[k] = wc[k]
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: template %s creates something else than %s:\n%v\nvs\n%v", name, tpl.Name, wf.Path, got, want)
				}
			}
		}
		if jobs != 1 || cms != 1 {
			t.Errorf("%s: %d jobs and %d script ConfigMaps, want 1 and 1", name, jobs, cms)
		}
	}
}

// TestGenerateNameFitsOperators: long pipeline names get a generateName
// prefix short enough for the Flink operator's 45-character rule (and
// Spark's driver pod name), still a valid name itself.
func TestGenerateNameFitsOperators(t *testing.T) {
	long := strings.Repeat("very-long-pipeline-name-", 4)
	for _, c := range []struct {
		max  int
		name string
	}{{flinkPrefixLen, k8s.DeriveName(long, k8s.NameRule{MaxLen: 45, LetterFirst: true})}, {sparkPrefixLen, k8s.DeriveName(long, k8s.NameRule{MaxLen: 50, LetterFirst: true})}, {flinkPrefixLen, "short"}} {
		m := &k8s.ObjectMeta{Name: c.name}
		generateName(m, c.max)
		p := strings.TrimSuffix(m.GenerateName, "-")
		if m.Name != "" || len(p) > c.max || k8s.DeriveName(p, k8s.NameRule{MaxLen: c.max, LetterFirst: true}) != p {
			t.Errorf("generateName(%q, %d) = %q (name %q)", c.name, c.max, m.GenerateName, m.Name)
		}
		if len(c.name) <= c.max && p != c.name {
			t.Errorf("a name that fits was changed: %q → %q", c.name, p)
		}
	}
}

// TestFlinkSessionStep: with flink.session the step creates the flink
// backend's FlinkSessionJob (valid against its CRD), and no script
// ConfigMap is written (the session cluster reads flink.scriptDir).
func TestFlinkSessionStep(t *testing.T) {
	dir := schemas(t)
	opts := &backends.Options{Version: "test", Settings: map[string]string{
		flink.SetSession: "batch-session", flink.SetRunnerJar: "https://repo.example/sql-runner.jar"}}
	set, ds := Backend.Generate(&backends.Gen{Program: adhoc(), Options: opts})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	wt := set.Get("Recompute%20Bars/argo/workflowtemplate.yaml")
	if wt == nil {
		t.Fatal("no workflow template")
	}
	if !strings.Contains(string(wt.Data), "kind: FlinkSessionJob") || !strings.Contains(string(wt.Data), "deploymentName: batch-session") {
		t.Errorf("the step does not create a FlinkSessionJob on batch-session:\n%s", wt.Data)
	}
	for _, f := range set.Files {
		if strings.Contains(f.Path, "/configmap-") {
			t.Errorf("%s written for a session job", f.Path)
		}
	}
	checkJobs(t, dir, set)
}

// TestBeamStepFlags: the flags a Beam step passes are flags of the beam
// backend's generated program (--endpoint is the Beam SDK's own), and its
// secrets are exposed under the variables the runtime reads.
func TestBeamStepFlags(t *testing.T) {
	pl := batchPipeline("daily-report", "beam")
	src, err := beamgo.MainGo(pl, &backends.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	prog := &ir.Program{Pipelines: []*ir.Pipeline{pl}, Workflows: []*ir.Workflow{{Name: "w", Steps: []*ir.Step{{Name: "s", Pipeline: pl, Pos: at(2)}}, Pos: at(1)}}}
	set, ds := Backend.Generate(&backends.Gen{Program: prog, Options: &backends.Options{Settings: map[string]string{"beam.endpoint": "beam-jobserver:8099"}}})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	var wt WorkflowTemplate
	if err := yaml.Unmarshal(set.Get("w/argo/workflowtemplate.yaml").Data, &wt); err != nil {
		t.Fatal(err)
	}
	var c *Container
	for _, tpl := range wt.Spec.Templates {
		if tpl.Name == "s" {
			c = tpl.Container
		}
	}
	if c == nil {
		t.Fatal("no container for the Beam step")
	}
	want := []string{"--bounded", "--runner=universal", "--endpoint=beam-jobserver:8099"}
	if !reflect.DeepEqual(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	for _, f := range []string{`flag.Bool("bounded"`, `flag.String("runner"`} {
		if !strings.Contains(string(src), f) {
			t.Errorf("the generated program has no %s", f)
		}
	}
	env := map[string]k8s.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e, ok := env[sink.SecretEnv(&ir.Secret{Name: "kafka-report", Key: "password"})]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Errorf("secret env %+v, want the runtime's variable by secretKeyRef", c.Env)
	}
	// The program's run hangs under the workflow's (lineage.ParentFromEnv)
	// and goes where the settings say (no URL: the console).
	if got := env["OPENLINEAGE_PARENT_ID"].Value; got != "rtsapc/w/{{workflow.uid}}" {
		t.Errorf("OPENLINEAGE_PARENT_ID %q", got)
	}
	if got := env["RTSAPC_LINEAGE"].Value; got != "console" || len(c.Env) != 3 {
		t.Errorf("lineage env %+v, want RTSAPC_LINEAGE=console besides the parent and the secret", c.Env)
	}
}

// TestObjectsDeclaredOnce: two workflows running one Spark pipeline, built
// with the spark target too, declare every Kubernetes object in one file
// only (plan/apply refuses an object declared twice).
func TestObjectsDeclaredOnce(t *testing.T) {
	schemas(t)
	prog := nightly()
	w2 := &ir.Workflow{Name: "rerun", Steps: []*ir.Step{{Name: "backtest", Pipeline: prog.Pipelines[0], Pos: at(60)}}, Pos: at(59)}
	prog.Workflows = append(prog.Workflows, w2)
	r := backends.NewRegistry()
	r.MustRegister(Backend)
	r.MustRegister(spark.Backend)
	set, ds := r.Generate(prog, []string{"argo", "spark"}, &backends.Options{Version: "test"})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	seen := map[artifact.Object]string{}
	cms := 0
	for _, f := range set.Files {
		if f.Object == nil {
			continue
		}
		if f.Object.Kind == "ConfigMap" && strings.Contains(f.Path, "/argo/configmap-") {
			cms++
		}
		if prev, ok := seen[*f.Object]; ok {
			t.Errorf("%s %s declared by %s and %s", f.Object.Kind, f.Object.Name, prev, f.Path)
		}
		seen[*f.Object] = f.Path
	}
	if cms != 2 {
		t.Errorf("%d script ConfigMaps in workflow folders, want 2", cms)
	}
}
