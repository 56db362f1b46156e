package plan_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/internal/testenv"
	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/plan/target/kafka"
	"rtsap.dev/rtsapc/plan/target/kubernetes"
	"rtsap.dev/rtsapc/state"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopSharedKube()
	os.Exit(code)
}

// BenchmarkPlan plans 500 topics (kfake) and, with RTSAPC_KUBE_APISERVER, 300
// Kubernetes objects on a real API server, all on loopback and all already
// applied: the steady-state plan that reads every live resource. The goal
// (issue 7) is under 2 s per plan.
func BenchmarkPlan(b *testing.B) {
	ctx := context.Background()
	c := testenv.Kafka(b)
	kt, err := kafka.New(c.ListenAddrs())
	if err != nil {
		b.Fatal(err)
	}
	defer kt.Close()
	targets := map[string]target.Target{"kafka": kt}
	var desired []*target.Resource
	for i := 0; i < 500; i++ {
		name := fmt.Sprintf("md.bench.topic-%03d", i)
		desired = append(desired, &target.Resource{Addr: plan.TopicAddr(name), Target: "kafka", Type: "topic", Name: name,
			Stage: target.Prerequisites, Body: map[string]any{"partitions": 3, "replicationFactor": 1,
				"configs": map[string]any{"retention.ms": "86400000", "cleanup.policy": "delete"}}})
	}
	objects := 0
	if k, err := testenv.SharedKubeBare(); err != nil {
		b.Fatal(err)
	} else if k != nil {
		kube, err := kubernetes.NewFromKubeconfig(k.Kubeconfig)
		if err != nil {
			b.Fatal(err)
		}
		targets["kubernetes"] = kube
		set := &artifact.Set{}
		set.Add(&artifact.File{Path: "ns.yaml", Kind: artifact.Manifest, Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n")})
		for i := 1; i < 300; i++ {
			set.Add(&artifact.File{Path: fmt.Sprintf("cm-%03d.yaml", i), Kind: artifact.Manifest,
				Data: []byte(fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%03d, namespace: bench, labels: {app: vwap}}\ndata: {job.sql: \"SELECT %d\", parallelism: \"4\"}\n", i, i))})
		}
		objs, _, ds := plan.Desired(nil, set, plan.Routing{Kubernetes: true})
		if ds.HasErrors() {
			b.Fatal(ds)
		}
		desired = append(desired, objs...)
		objects = len(objs)
	} else {
		b.Log(testenv.KubeSkipMessage + " (planning the 500 topics only)")
	}
	store := &state.Local{Path: filepath.Join(b.TempDir(), "state.json")}
	p, ds := plan.Build(ctx, &plan.Config{Desired: desired, Targets: targets})
	if ds.HasErrors() {
		b.Fatal(ds)
	}
	if _, ds := plan.Apply(ctx, &plan.ApplyConfig{Plan: p, Targets: targets, Store: store}); ds.HasErrors() {
		b.Fatal(ds)
	}
	st, _ := store.Read(ctx)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, ds := plan.Build(ctx, &plan.Config{Desired: desired, State: st, Targets: targets})
		if ds.HasErrors() || p.HasChanges() {
			b.Fatalf("steady-state plan has changes or errors: %v %+v", ds, p.Summary)
		}
	}
	b.ReportMetric(float64(500), "topics")
	b.ReportMetric(float64(objects), "k8s-objects")
}
