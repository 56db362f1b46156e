package kubernetes_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/internal/testenv"
	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/plan/target/kubernetes"
	"rtsap.dev/rtsapc/state"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopSharedKube()
	os.Exit(code)
}

func kube(t *testing.T) *testenv.Kube {
	t.Helper()
	k, err := testenv.SharedKube()
	if err != nil {
		t.Fatalf("kube-apiserver: %v", err)
	}
	if k == nil {
		t.Skip(testenv.KubeSkipMessage)
	}
	return k
}

const secretValue = "hunter2-kube-secret"

func manifests(ns string, parallelism int, withConfig bool, sql string) *artifact.Set {
	set := &artifact.Set{}
	add := func(p, y string) {
		set.Add(&artifact.File{Path: p, Kind: artifact.Manifest, Data: []byte(y), Pipeline: "vwap", Target: "flink"})
	}
	add("vwap/flink/namespace.yaml", fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", ns))
	if withConfig {
		add("vwap/flink/configmap.yaml", fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vwap-sql\n  namespace: %s\ndata:\n  job.sql: %q\n", ns, sql))
	}
	add("vwap/flink/secret.yaml", fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: vwap-creds\n  namespace: %s\nstringData:\n  password: %s\n", ns, secretValue))
	add("vwap/flink/deployment.yaml", fmt.Sprintf(`apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: vwap
  namespace: %s
  labels: {app.kubernetes.io/managed-by: rtsapc}
spec:
  image: flink:2.2
  flinkVersion: v2_2
  serviceAccount: flink
  flinkConfiguration: {taskmanager.numberOfTaskSlots: "2"}
  jobManager: {resource: {memory: 2048m, cpu: 1}}
  taskManager: {resource: {memory: 2048m, cpu: 1}}
  job: {jarURI: "local:///opt/flink/usrlib/sql-runner.jar", parallelism: %d, upgradeMode: savepoint}
`, ns, parallelism))
	set.Sort()
	return set
}

type fixture struct {
	t       *testing.T
	ns      string
	targets map[string]target.Target
	store   *state.Local
	out     bytes.Buffer // every rendering, for the secret scan
}

func (f *fixture) plan(set *artifact.Set) *plan.Plan {
	f.t.Helper()
	desired, _, ds := plan.Desired(nil, set, plan.Routing{Kubernetes: true})
	if ds.HasErrors() {
		f.t.Fatal(ds)
	}
	st, _ := f.store.Read(context.Background())
	p, ds := plan.Build(context.Background(), &plan.Config{Desired: desired, State: st, Targets: f.targets})
	if ds.HasErrors() {
		f.t.Fatal(ds)
	}
	plan.WriteJSON(&f.out, p)
	plan.WritePlanFile(&f.out, p)
	return p
}

func (f *fixture) view(p *plan.Plan) string {
	var b bytes.Buffer
	plan.WriteHuman(&b, p, plan.HumanOptions{})
	f.out.Write(b.Bytes())
	return b.String()
}

func (f *fixture) apply(p *plan.Plan) {
	f.t.Helper()
	st, _ := f.store.Read(context.Background())
	if _, ds := plan.Apply(context.Background(), &plan.ApplyConfig{Plan: p, Targets: f.targets, Store: f.store, State: st}); ds.HasErrors() {
		f.t.Fatal(ds)
	}
}

func TestKubernetesLifecycle(t *testing.T) {
	k := kube(t)
	kt, err := kubernetes.NewFromKubeconfig(k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	f := &fixture{t: t, ns: "rtsapc-" + hex.EncodeToString(b), targets: map[string]target.Target{"kubernetes": kt},
		store: &state.Local{Path: filepath.Join(t.TempDir(), "state.json")}}
	ctx := context.Background()

	p := f.plan(manifests(f.ns, 2, true, "SELECT 1"))
	h := f.view(p)
	if p.Summary.Add != 4 || !strings.Contains(h, fmt.Sprintf(`+ kubernetes.FlinkDeployment["%s/vwap"]`, f.ns)) {
		t.Fatalf("first plan:\n%s", h)
	}
	// Stages: the namespace before the config, the job last.
	var order []string
	for _, c := range p.Changes {
		order = append(order, c.Type)
	}
	if got := strings.Join(order, ","); got != "Namespace,ConfigMap,Secret,FlinkDeployment" {
		t.Errorf("apply order %s", got)
	}
	f.apply(p)
	if p := f.plan(manifests(f.ns, 2, true, "SELECT 1")); p.HasChanges() || len(p.Drift) > 0 {
		t.Fatalf("plan after apply:\n%s", f.view(p))
	}

	// A manual change through the API server, by another field manager.
	dyn, _ := dynamic.NewForConfig(k.Config)
	cm := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(f.ns)
	if _, err := cm.Patch(ctx, "vwap-sql", types.MergePatchType, []byte(`{"data":{"job.sql":"SELECT 666"}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	p = f.plan(manifests(f.ns, 4, true, "SELECT 1"))
	h = f.view(p)
	for _, s := range []string{
		"Drift: these resources changed outside rtsapc",
		fmt.Sprintf(`~ kubernetes.ConfigMap["%s/vwap-sql"]`, f.ns),
		`~ data["job.sql"]: "SELECT 1" → "SELECT 666"`,
		`~ data["job.sql"]: "SELECT 666" → "SELECT 1"`,
		`~ spec.job.parallelism: 2 → 4`,
		"Plan: 0 to add, 2 to change, 0 to replace, 0 to destroy.",
	} {
		if !strings.Contains(h, s) {
			t.Errorf("plan lacks %q:\n%s", s, h)
		}
	}
	f.apply(p)
	got, _ := cm.Get(ctx, "vwap-sql", metav1.GetOptions{})
	if d, _ := got.Object["data"].(map[string]any); d["job.sql"] != "SELECT 1" {
		t.Errorf("drift not reverted: %v", got.Object["data"])
	}
	mf := got.GetManagedFields()
	if len(mf) == 0 || mf[0].Manager != kubernetes.FieldManager && (len(mf) < 2 || mf[1].Manager != kubernetes.FieldManager) {
		t.Errorf("field managers %v, want rtsapc among them", mf)
	}

	// Deleted by hand: drift, and created again.
	if err := cm.Delete(ctx, "vwap-sql", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p = f.plan(manifests(f.ns, 4, true, "SELECT 1"))
	if h := f.view(p); !strings.Contains(h, "# deleted outside rtsapc") || p.Summary.Add != 1 {
		t.Fatalf("plan after manual delete:\n%s", h)
	}
	f.apply(p)

	// Prune: the ConfigMap is no longer desired.
	p = f.plan(manifests(f.ns, 4, false, ""))
	if p.Summary.Destroy != 1 {
		t.Fatalf("prune plan:\n%s", f.view(p))
	}
	f.apply(p)
	if _, err := cm.Get(ctx, "vwap-sql", metav1.GetOptions{}); err == nil {
		t.Error("ConfigMap still exists after prune")
	}

	// The secret value reached the cluster, and nothing rtsapc wrote.
	sec, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Namespace(f.ns).Get(ctx, "vwap-creds", metav1.GetOptions{})
	if err != nil || sec.Object["data"] == nil {
		t.Fatalf("secret not applied: %v", err)
	}
	stData, _ := os.ReadFile(f.store.Path)
	f.out.Write(stData)
	if bytes.Contains(f.out.Bytes(), []byte(secretValue)) || bytes.Contains(f.out.Bytes(), []byte(base64.StdEncoding.EncodeToString([]byte(secretValue)))) {
		t.Fatal("the secret value appears in plan output, a plan file or the state")
	}

	// Destroy: jobs first, the namespace last.
	st, _ := f.store.Read(ctx)
	p, _ = plan.Build(ctx, &plan.Config{Destroy: true, State: st, Targets: f.targets})
	order = nil
	for _, c := range p.Changes {
		order = append(order, c.Type)
	}
	if got := strings.Join(order, ","); got != "FlinkDeployment,Secret,Namespace" {
		t.Errorf("destroy order %s", got)
	}
	f.apply(p)
}
