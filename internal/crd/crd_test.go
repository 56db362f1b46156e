package crd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func schemas(t *testing.T) string {
	t.Helper()
	d, ok := FindSchemas()
	if !ok {
		t.Skip("SKIPPING: upstream CRDs not found (../shared/schemas or $RTSAPC_SCHEMAS); CRD validation is NOT tested")
	}
	return d
}

func load(t *testing.T, sub string) *Set {
	t.Helper()
	s, err := Cached(filepath.Join(schemas(t), sub))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// examples reads every document of the upstream example files in dir.
func examples(t *testing.T, dir string) map[string]map[string]any {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no examples in %s", dir)
	}
	out := map[string]map[string]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocs(data) {
			obj, err := decode(doc)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out[filepath.Base(f)+"#"+string(rune('0'+i))] = obj
		}
	}
	return out
}

func TestUpstreamExamplesPass(t *testing.T) {
	for _, sub := range []string{"flink", "spark"} {
		set := load(t, sub)
		for name, obj := range examples(t, filepath.Join(schemas(t), sub, "examples")) {
			if errs := set.Validate(obj); len(errs) > 0 {
				t.Errorf("%s/%s: unexpected errors: %v", sub, name, errs)
			}
		}
	}
}

func TestArgoExamplesPassBothVersions(t *testing.T) {
	for _, sub := range []string{"argo", "argo/v4.1.2"} {
		set := load(t, sub)
		for name, obj := range examples(t, filepath.Join(schemas(t), "argo", "examples")) {
			errs := set.Validate(obj)
			if name == "k8s-jobs.yaml#0" {
				// Upstream's example indents "name: k8s-jobs" into an
				// annotation's text, so it has no name: the API server
				// rejects it too. Check that this is the only problem.
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), "metadata.name: Required value") {
					t.Errorf("%s/%s: want only the missing-name error, got %v", sub, name, errs)
				}
				continue
			}
			if len(errs) > 0 {
				t.Errorf("%s/%s: unexpected errors: %v", sub, name, errs)
			}
		}
	}
}

func mustYAML(t *testing.T, s string) map[string]any {
	t.Helper()
	obj, err := decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

const goodFlink = `
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: sql-example
  namespace: md
spec:
  image: flink:2.2
  flinkVersion: v2_2
  serviceAccount: flink
  flinkConfiguration:
    execution.checkpointing.dir: s3://ck/x
  jobManager: {resource: {memory: "2048m", cpu: 1}}
  taskManager: {resource: {memory: "2048m", cpu: 1}}
  job:
    jarURI: local:///opt/flink/usrlib/sql-runner.jar
    args: ["/opt/flink/usrlib/sql-scripts/job.sql"]
    parallelism: 1
    upgradeMode: savepoint
`

func TestFlinkNegatives(t *testing.T) {
	set := load(t, "flink")
	if errs := set.Validate(mustYAML(t, goodFlink)); len(errs) != 0 {
		t.Fatalf("good manifest rejected: %v", errs)
	}
	cases := []struct{ old, new, want string }{
		{"flinkVersion: v2_2", "flinkVersion: v2_3", `spec.flinkVersion: Unsupported value: "v2_3"`},
		{"upgradeMode: savepoint", "upgradeMode: sometimes", `spec.job.upgradeMode: Unsupported value: "sometimes"`},
		{"parallelism: 1", "parallelism: 1\n    bogusField: 1", `unknown field "spec.job.bogusField"`},
		{"jobManager: {resource:", "jobManager: {resources: {}, resource:", `unknown field "spec.jobManager.resources"`},
		{"parallelism: 1", "parallelism: one", `spec.job.parallelism: Invalid value: "string"`},
		{"name: sql-example", "name: Sql_Example", `metadata.name: Invalid value: "Sql_Example"`},
		{"namespace: md", "namespace: md.x", `metadata.namespace: Invalid value: "md.x"`},
		{"kind: FlinkDeployment", "kind: FlinkDeploymentX", `no CRD loaded`},
	}
	for _, c := range cases {
		src := strings.Replace(goodFlink, c.old, c.new, 1)
		if src == goodFlink {
			t.Fatalf("bad case %q", c.old)
		}
		errs := set.Validate(mustYAML(t, src))
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), c.want) {
			t.Errorf("%s → %s: want an error containing %q, got %q", c.old, c.new, c.want, all)
		}
	}
}

func TestAnnotationAndLabelValidation(t *testing.T) {
	set := load(t, "flink")
	obj := mustYAML(t, goodFlink)
	md := obj["metadata"].(map[string]any)
	md["labels"] = map[string]any{"app.kubernetes.io/name": "has space"}
	md["annotations"] = map[string]any{"bad key!": "x"}
	errs := set.Validate(obj)
	got := ""
	for _, e := range errs {
		got += e.Error() + "\n"
	}
	for _, want := range []string{"metadata.labels: Invalid value: \"has space\"", "metadata.annotations: Invalid value: \"bad key!\""} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
}

// Argo v4 carries CEL rules; v3.7.3 does not. A DAG task with both depends
// and dependencies fails only against v4.
func TestCELRules(t *testing.T) {
	wf := `
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: t}
      - {name: b, template: t, depends: a, dependencies: [a]}
  - name: t
    container: {image: busybox}
`
	v4 := load(t, "argo/v4.1.2")
	v3 := load(t, "argo")
	if errs := v3.Validate(mustYAML(t, wf)); len(errs) != 0 {
		t.Errorf("v3.7.3 should accept, got %v", errs)
	}
	errs := v4.Validate(mustYAML(t, wf))
	if len(errs) == 0 {
		t.Fatal("v4.1.2 accepted a task with both depends and dependencies")
	}
	t.Logf("v4 errors: %v", errs)
}

func TestParseSkipsNonCRDs(t *testing.T) {
	s, err := Parse("x.yaml", []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"))
	if err != nil || len(s) != 0 {
		t.Fatalf("got %v, %v", s, err)
	}
	if _, err := Parse("bad.yaml", []byte("kind: [")); err == nil {
		t.Fatal("want error for bad YAML")
	}
}

func TestValidateDoesNotPanicOnOddInput(t *testing.T) {
	set := load(t, "spark")
	for _, doc := range []string{
		`{apiVersion: sparkoperator.k8s.io/v1beta2, kind: SparkApplication, metadata: 3, spec: []}`,
		`{apiVersion: sparkoperator.k8s.io/v1beta2, kind: SparkApplication}`,
		`{apiVersion: sparkoperator.k8s.io/v1beta2, kind: SparkApplication, metadata: {name: x}, spec: {sparkConf: {a: 1}}}`,
	} {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		if errs := set.Validate(obj); len(errs) == 0 {
			t.Errorf("%s: want errors", doc)
		}
	}
}
