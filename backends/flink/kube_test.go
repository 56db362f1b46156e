package flink

import (
	"context"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopSharedKube()
	os.Exit(code)
}

// The manifests are accepted by a real kube-apiserver with the operator's
// CRDs installed: a server-side dry-run create with strict field
// validation (unknown fields are errors).
func TestManifestsAcceptedByAPIServer(t *testing.T) {
	k, err := testenv.SharedKube()
	if err != nil {
		t.Fatalf("kube-apiserver: %v", err)
	}
	if k == nil {
		t.Skip(testenv.KubeSkipMessage)
	}
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "md-prod"}}}
	if _, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx, ns, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	sessionPl := features()
	stripSecrets(sessionPl)
	for _, c := range []struct {
		pl   *ir.Pipeline
		opts *backends.Options
	}{
		{features(), testOpts},
		{sessionPl, &backends.Options{Env: testOpts.Env, Settings: map[string]string{SetSession: "shared", SetRunnerJar: "https://x.example/r.jar"}}},
	} {
		set, ds := generateAll(t, program(c.pl), c.opts)
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		n := 0
		for _, f := range set.Files {
			if f.Kind != artifact.Manifest {
				continue
			}
			n++
			dryRunCreate(t, dyn, f)
		}
		if n != 2 {
			t.Errorf("%d manifests", n)
		}
	}
	// The check can fail: an unknown field is refused.
	bad := &artifact.File{Path: "bad.yaml", Kind: artifact.Manifest, Object: &artifact.Object{APIVersion: "flink.apache.org/v1beta1", Kind: "FlinkDeployment"},
		Data: []byte("apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata: {name: bad, namespace: md-prod}\nspec: {flinkVersion: v2_2, job: {jarURI: local:///x.jar, bogusField: 1}}\n")}
	obj, _ := k8s.Decode(bad.Data)
	u := &unstructured.Unstructured{Object: obj}
	_, err = dyn.Resource(schema.GroupVersionResource{Group: "flink.apache.org", Version: "v1beta1", Resource: "flinkdeployments"}).Namespace("md-prod").
		Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
	if err == nil || !strings.Contains(err.Error(), "bogusField") {
		t.Errorf("unknown field accepted: %v", err)
	}
}

func dryRunCreate(t *testing.T, dyn dynamic.Interface, f *artifact.File) {
	t.Helper()
	obj, err := k8s.Decode(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	gv, _ := schema.ParseGroupVersion(f.Object.APIVersion)
	res := map[string]string{"ConfigMap": "configmaps", "FlinkDeployment": "flinkdeployments", "FlinkSessionJob": "flinksessionjobs",
		"SparkApplication": "sparkapplications", "ScheduledSparkApplication": "scheduledsparkapplications"}[f.Object.Kind]
	ri := dyn.Resource(gv.WithResource(res)).Namespace(u.GetNamespace())
	if _, err := ri.Create(context.Background(), u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}); err != nil {
		t.Errorf("%s rejected by the API server: %v", f.Path, err)
	}
}
