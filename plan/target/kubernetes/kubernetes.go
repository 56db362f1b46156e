// Package kubernetes is the Kubernetes target: objects are applied with
// server-side apply under the field manager "rtsapc" (so fields others own
// stay theirs, and fields rtsapc stops setting are removed), read back in
// one list per kind and namespace, and deleted when no longer desired.
package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"rtsap.dev/rtsapc/plan/target"
)

// Name is the target's name in addresses; FieldManager the server-side
// apply manager.
const (
	Name         = "kubernetes"
	FieldManager = "rtsapc"
)

// Target applies objects to one cluster.
type Target struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	// Timeout bounds each request and the wait for a deletion (0: 30s).
	Timeout time.Duration
}

var _ target.Target = (*Target)(nil)

// NewFromKubeconfig connects with a kubeconfig file (its current context).
func NewFromKubeconfig(path string) (*Target, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return New(cfg)
}

// New connects with a REST config.
func New(cfg *rest.Config) (*Target, error) {
	cfg = rest.CopyConfig(cfg)
	// Plans read and apply hundreds of objects; client-go's default of
	// 5 requests/s would make them crawl.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 500, 1000
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Target{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}, nil
}

func (t *Target) Name() string { return Name }

func (t *Target) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := t.Timeout
	if d <= 0 {
		d = 30 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

// ref is what locates an object.
type ref struct {
	gvk       schema.GroupVersionKind
	namespace string
	name      string
}

func refOf(r *target.Resource) (ref, error) {
	apiVersion, _ := r.Body["apiVersion"].(string)
	kind, _ := r.Body["kind"].(string)
	md, _ := r.Body["metadata"].(map[string]any)
	if apiVersion == "" || kind == "" || md == nil {
		return ref{}, fmt.Errorf("%s: not a Kubernetes object", r.Addr)
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return ref{}, fmt.Errorf("%s: %w", r.Addr, err)
	}
	name, _ := md["name"].(string)
	ns, _ := md["namespace"].(string)
	return ref{gvk: gv.WithKind(kind), namespace: ns, name: name}, nil
}

// resource maps a kind to its REST resource; ok is false when the cluster
// does not know the kind (yet: its CRD may be in the same plan).
func (t *Target) resource(rf ref) (dynamic.ResourceInterface, bool, error) {
	m, err := t.mapper.RESTMapping(rf.gvk.GroupKind(), rf.gvk.Version)
	if meta.IsNoMatchError(err) {
		// Discovery is cached; a CRD applied since may have added it.
		t.mapper.Reset()
		m, err = t.mapper.RESTMapping(rf.gvk.GroupKind(), rf.gvk.Version)
	}
	if meta.IsNoMatchError(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := rf.namespace
		if ns == "" {
			ns = "default"
		}
		return t.dyn.Resource(m.Resource).Namespace(ns), true, nil
	}
	return t.dyn.Resource(m.Resource), true, nil
}

// Read lists each kind once per namespace when several objects share them,
// and gets single objects directly.
func (t *Target) Read(ctx context.Context, rs []*target.Resource) (map[string]map[string]any, error) {
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	type group struct {
		ri    dynamic.ResourceInterface
		addrs map[string]string // name → addr
	}
	groups := map[string]*group{}
	var keys []string
	for _, r := range rs {
		rf, err := refOf(r)
		if err != nil {
			return nil, err
		}
		ri, ok, err := t.resource(rf)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // the kind does not exist: neither does the object
		}
		k := rf.gvk.String() + "|" + rf.namespace
		g := groups[k]
		if g == nil {
			g = &group{ri: ri, addrs: map[string]string{}}
			groups[k] = g
			keys = append(keys, k)
		}
		g.addrs[rf.name] = r.Addr
	}
	sort.Strings(keys)
	out := map[string]map[string]any{}
	for _, k := range keys {
		g := groups[k]
		if len(g.addrs) <= 2 {
			for name, addr := range g.addrs {
				obj, err := g.ri.Get(ctx, name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					continue
				}
				if err != nil {
					return nil, err
				}
				out[addr] = clean(obj.Object)
			}
			continue
		}
		list, err := g.ri.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			if addr, ok := g.addrs[list.Items[i].GetName()]; ok {
				out[addr] = clean(list.Items[i].Object)
			}
		}
	}
	return out, nil
}

// clean drops server bookkeeping that is never desired.
func clean(obj map[string]any) map[string]any {
	if md, ok := obj["metadata"].(map[string]any); ok {
		for _, k := range []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp"} {
			delete(md, k)
		}
	}
	return obj
}

func (t *Target) Apply(ctx context.Context, r *target.Resource, _ map[string]any) error {
	rf, err := refOf(r)
	if err != nil {
		return err
	}
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	ri, ok, err := t.resource(rf)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the cluster does not serve %s (is its CustomResourceDefinition installed?)", rf.gvk)
	}
	data, err := json.Marshal(r.Body)
	if err != nil {
		return err
	}
	var obj unstructured.Unstructured
	if err := obj.UnmarshalJSON(data); err != nil {
		return err
	}
	// Force: rtsapc owns what the spec says; a field someone changed by
	// hand (drift) is taken back, as the plan showed.
	_, err = ri.Apply(ctx, rf.name, &obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	return err
}

func (t *Target) Delete(ctx context.Context, r *target.Resource) error {
	rf, err := refOf(r)
	if err != nil {
		return err
	}
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	ri, ok, err := t.resource(rf)
	if err != nil || !ok {
		return err
	}
	bg := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, rf.name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if apierrors.IsNotFound(err) {
		return nil
	}
	// Not waiting for it to be gone: finalizers may need controllers that
	// are not there (a namespace needs kube-controller-manager), and
	// Kubernetes objects are never replaced (no Replacer), so nothing is
	// created again under the same name in this apply.
	return err
}

// Ready knows CRDs (Established), namespaces (Active), the Flink and Spark
// operators' states, and Ready conditions; objects whose status nobody
// sets (no operator installed) are reported as unknown, and not waited for.
func (t *Target) Ready(ctx context.Context, r *target.Resource) (target.Readiness, error) {
	rf, err := refOf(r)
	if err != nil {
		return target.Readiness{}, err
	}
	ctx, cancel := t.ctx(ctx)
	defer cancel()
	ri, ok, err := t.resource(rf)
	if err != nil {
		return target.Readiness{}, err
	}
	if !ok {
		return target.Readiness{Known: true, Detail: "kind not served yet"}, nil
	}
	obj, err := ri.Get(ctx, rf.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return target.Readiness{Known: true, Detail: "not found"}, nil
	}
	if err != nil {
		return target.Readiness{}, err
	}
	return readiness(rf.gvk.Kind, obj.Object), nil
}

func readiness(kind string, obj map[string]any) target.Readiness {
	status, _ := obj["status"].(map[string]any)
	str := func(path ...string) string {
		v, _, _ := unstructured.NestedString(obj, path...)
		return v
	}
	cond := func(typ string) (string, bool) {
		conds, _ := status["conditions"].([]any)
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == typ {
				s, _ := m["status"].(string)
				return s, true
			}
		}
		return "", false
	}
	switch kind {
	case "CustomResourceDefinition":
		s, _ := cond("Established")
		return target.Readiness{Known: true, Ready: s == "True", Detail: "waiting for Established"}
	case "Namespace":
		return target.Readiness{Known: true, Ready: str("status", "phase") == "Active", Detail: "phase " + str("status", "phase")}
	case "FlinkDeployment", "FlinkSessionJob":
		if status == nil {
			return target.Readiness{Detail: "no status (is the Flink operator running?)"}
		}
		st := str("status", "lifecycleState")
		job := str("status", "jobStatus", "state")
		if st == "FAILED" || job == "FAILED" {
			return target.Readiness{Known: true, Detail: "failed: " + str("status", "error")}
		}
		return target.Readiness{Known: true, Ready: st == "STABLE" || st == "DEPLOYED" || job == "RUNNING", Detail: "lifecycle " + st + ", job " + job}
	case "SparkApplication":
		if status == nil {
			return target.Readiness{Detail: "no status (is the Spark operator running?)"}
		}
		s := str("status", "applicationState", "state")
		return target.Readiness{Known: true, Ready: s == "RUNNING" || s == "COMPLETED", Detail: "state " + s}
	}
	if s, ok := cond("Ready"); ok {
		return target.Readiness{Known: true, Ready: s == "True", Detail: "Ready=" + s}
	}
	return target.Readiness{Ready: true, Known: true}
}
