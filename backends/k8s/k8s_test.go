package k8s

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/internal/crd"
	"rtsap.dev/rtsapc/lang/diag"
)

// hostile reads ../shared/hostile/<file> (names.json or strings.json).
func hostile(t *testing.T, file string) []string {
	t.Helper()
	schemas, ok := crd.FindSchemas()
	if !ok {
		t.Skip("SKIPPING: ../shared not found; hostile corpus NOT tested")
	}
	data, err := os.ReadFile(filepath.Join(schemas, "..", "hostile", file))
	if err != nil {
		t.Skipf("SKIPPING: hostile corpus not found: %v", err)
	}
	var out []string
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeriveName(t *testing.T) {
	cases := []struct {
		in   string
		r    NameRule
		want string
	}{
		{"equities-vwap", DNSLabel, "equities-vwap"},
		{"Equities VWAP", DNSLabel, "equities-vwap-"},
		{"a_b", DNSLabel, "a-b-"},
		{"1starts_with_digit", DNS1035Label, "x1starts-with-digit-"},
		{"价格", DNSLabel, "x-"},
		{"dot.ted", DNSSubdomain, "dot.ted"},
		{"dot.ted", DNSLabel, "dot-ted-"},
		{"-", DNSLabel, "x-"},
	}
	for _, c := range cases {
		got := DeriveName(c.in, c.r)
		if !strings.HasPrefix(got, c.want) || (c.want == c.in && got != c.in) {
			t.Errorf("DeriveName(%q) = %q, want prefix %q", c.in, got, c.want)
		}
		if !valid(got, c.r) {
			t.Errorf("DeriveName(%q) = %q is not valid under %+v", c.in, got, c.r)
		}
	}
	if DeriveName("a b", DNSLabel) == DeriveName("a_b", DNSLabel) {
		t.Error("names differing only in replaced characters derive to the same name")
	}
}

func TestDeriveHostileNames(t *testing.T) {
	seen := map[string]string{}
	for _, n := range hostile(t, "names.json") {
		for _, r := range []NameRule{DNSLabel, DNS1035Label, DNSSubdomain, {MaxLen: 45, LetterFirst: true}} {
			got := DeriveName(n, r)
			var msgs []string
			if r.Dots {
				msgs = utilvalidation.IsDNS1123Subdomain(got)
			} else {
				msgs = utilvalidation.IsDNS1123Label(got)
			}
			if len(msgs) > 0 || len(got) > r.MaxLen {
				t.Errorf("DeriveName(%q, %+v) = %q: %v", n, r, got, msgs)
			}
			if r == DNSLabel {
				if prev, ok := seen[got]; ok {
					t.Errorf("%q and %q both derive to %q", prev, n, got)
				}
				seen[got] = n
			}
		}
	}
}

func TestNamesCollision(t *testing.T) {
	var n Names
	a, err := n.Derive("FlinkDeployment", "vwap", DNSLabel)
	if err != nil || a != "vwap" {
		t.Fatal(a, err)
	}
	if _, err := n.Derive("FlinkDeployment", "vwap", DNSLabel); err != nil {
		t.Errorf("same original twice: %v", err)
	}
	// "x-<hash of 'Vwap'>" cannot collide by accident; a literal name that
	// equals another's derived form does.
	d := DeriveName("Vwap", DNSLabel)
	if _, err := n.Derive("FlinkDeployment", "Vwap", DNSLabel); err != nil {
		t.Fatal(err)
	}
	_, err = n.Derive("FlinkDeployment", d, DNSLabel)
	var ce *CollisionError
	if err == nil || !asCollision(err, &ce) || ce.First != "Vwap" || ce.Second != d {
		t.Fatalf("want a collision between %q and %q, got %v", "Vwap", d, err)
	}
	// Different kinds do not collide.
	if _, err := n.Derive("ConfigMap", d, DNSLabel); err != nil {
		t.Error(err)
	}
}

func asCollision(err error, ce **CollisionError) bool {
	c, ok := err.(*CollisionError)
	*ce = c
	return ok
}

func TestMetaAndManifestRoundTrip(t *testing.T) {
	strs := hostile(t, "strings.json")
	names := hostile(t, "names.json")
	prog := &ir.Program{SpecDigest: "abc123"}
	opts := &backends.Options{Version: "v0.1.0", Env: &ir.Environment{Name: "prod", Namespace: "md-prod", Labels: []ir.KV{{Key: "team", Value: "md"}}}}
	c := NewContext(prog, opts)
	for i, orig := range append(names, strs...) {
		pl := &ir.Pipeline{Name: orig, Owner: orig}
		name := DeriveName(orig, DNSSubdomain)
		m := c.Meta(name, "flink", orig, pl)
		data := map[string]string{"job.sql": orig, "x": "-- " + orig}
		f, err := Manifest("p/flink/configmap.yaml", orig, ConfigMap(m, data))
		if err != nil {
			t.Fatalf("%d %q: %v", i, orig, err)
		}
		obj, err := Decode(f.Data)
		if err != nil {
			t.Fatalf("%q: YAML does not load back: %v\n%s", orig, err, f.Data)
		}
		md := obj["metadata"].(map[string]any)
		ann := md["annotations"].(map[string]any)
		if ann[AnnoPipeline] != orig || ann[AnnoOwner] != orig {
			t.Errorf("%q: annotations changed the value: %q", orig, ann[AnnoPipeline])
		}
		if name != orig && ann[AnnoName] != orig {
			t.Errorf("%q: original name not kept in %s", orig, AnnoName)
		}
		got := obj["data"].(map[string]any)
		if got["job.sql"] != orig || got["x"] != "-- "+orig {
			t.Errorf("%q: data changed: %q", orig, got["job.sql"])
		}
		if ds := Validate([]*artifact.File{f}, opts); ds.HasErrors() {
			t.Errorf("%q: %v", orig, ds)
		}
		if f.Object.Name != name || f.Object.Namespace != "md-prod" || f.Object.Kind != "ConfigMap" {
			t.Errorf("object %+v", f.Object)
		}
	}
}

func TestMetaLabels(t *testing.T) {
	c := NewContext(&ir.Program{SpecDigest: "d"}, &backends.Options{Env: &ir.Environment{Name: "dev", Namespace: "ns", Labels: []ir.KV{{Key: "team", Value: "x"}, {Key: LabelManagedBy, Value: "nope"}}}})
	m := c.Meta("vwap", "flink", "", &ir.Pipeline{Name: "Vwap Bars", Labels: []ir.KV{{Key: "tier", Value: "1"}}})
	want := map[string]string{"team": "x", "tier": "1", LabelManagedBy: ManagedBy, LabelName: "vwap", LabelComponent: "flink", LabelEnv: "dev", LabelPipeline: DeriveName("Vwap Bars", DNSLabel), LabelPartOf: DeriveName("Vwap Bars", DNSLabel)}
	for k, v := range want {
		if m.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, m.Labels[k], v)
		}
	}
	if len(m.Labels) != len(want) {
		t.Errorf("labels %v", m.Labels)
	}
	if m.Annotations[AnnoSpecDigest] != "d" || m.Annotations[AnnoVersion] != "devel" || m.Annotations[AnnoPipeline] != "Vwap Bars" {
		t.Errorf("annotations %v", m.Annotations)
	}
}

func TestInvalidLabelIsReported(t *testing.T) {
	c := NewContext(nil, nil)
	m := c.Meta("vwap", "", "", &ir.Pipeline{Name: "vwap", Labels: []ir.KV{{Key: "tier", Value: "has space"}}})
	f, err := Manifest("vwap/flink/cm.yaml", "vwap", ConfigMap(m, map[string]string{"bad key/": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	ds := Validate([]*artifact.File{f}, nil)
	if !ds.HasErrors() || ds[0].Code != diag.InvalidArtifact {
		t.Fatalf("want InvalidArtifact, got %v", ds)
	}
	for _, want := range []string{`metadata.labels: Invalid value: "has space"`, `data["bad key/"]`} {
		if !strings.Contains(ds.Error(), want) {
			t.Errorf("want %q in %v", want, ds)
		}
	}
}

func TestSecretEnv(t *testing.T) {
	e, err := SecretEnv(&ir.Secret{Name: "timescale", Key: "password"})
	if err != nil || e.Name != "RTSAP_SECRET_TIMESCALE_PASSWORD" || e.Value != "" || e.ValueFrom.SecretKeyRef.Name != "timescale" || e.ValueFrom.SecretKeyRef.Key != "password" {
		t.Fatalf("%+v %v", e, err)
	}
	for _, s := range []*ir.Secret{{Name: "Bad Name", Key: "k"}, {Name: "ok", Key: "bad/key"}, {Name: "ok", Key: "k", Env: "1X"}} {
		if _, err := SecretEnv(s); err == nil {
			t.Errorf("%+v: want error", s)
		}
	}
}

func TestKustomization(t *testing.T) {
	c := NewContext(nil, &backends.Options{Env: &ir.Environment{Namespace: "md"}})
	files := []*artifact.File{
		{Path: "p/flink/b.yaml", Kind: artifact.Manifest},
		{Path: "p/flink/a.yaml", Kind: artifact.Manifest},
		{Path: "p/flink/job.sql", Kind: artifact.SQL},
		{Path: "p/flink/sub/c.yaml", Kind: artifact.Manifest},
		{Path: "q/flink/d.yaml", Kind: artifact.Manifest},
	}
	f, err := c.Kustomization("p/flink", files, "p")
	if err != nil {
		t.Fatal(err)
	}
	want := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: md\nresources:\n- a.yaml\n- b.yaml\n"
	if string(f.Data) != want || f.Path != "p/flink/kustomization.yaml" {
		t.Errorf("got %s:\n%s", f.Path, f.Data)
	}
}

func TestValidateCRDAndSkip(t *testing.T) {
	dir, ok := crd.FindSchemas()
	if !ok {
		t.Skip("SKIPPING: upstream CRDs not found; CRD validation NOT tested")
	}
	bad := map[string]any{"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
		"metadata": map[string]any{"name": "x"}, "spec": map[string]any{"job": map[string]any{"upgradeMode": "sometimes"}}}
	f, err := Manifest("x/flink/d.yaml", "x", bad)
	if err != nil {
		t.Fatal(err)
	}
	ds := Validate([]*artifact.File{f}, &backends.Options{Settings: map[string]string{SchemasSetting: dir}})
	if !ds.HasErrors() || !strings.Contains(ds.Error(), "sometimes") {
		t.Errorf("want an upgradeMode error, got %v", ds)
	}
	ds = Validate([]*artifact.File{f}, &backends.Options{Settings: map[string]string{SchemasSetting: ""}})
	_ = ds // empty setting falls back to FindSchemas, which finds them
	t.Setenv(crd.SchemasEnv, filepath.Join(t.TempDir(), "none"))
	ds = Validate([]*artifact.File{f}, nil)
	if ds.HasErrors() || len(ds) != 1 || ds[0].Severity != diag.Warning || !strings.Contains(ds[0].Summary, "skipped") {
		t.Errorf("want one skip warning, got %v", ds)
	}
}

func TestLabelProblems(t *testing.T) {
	got := LabelProblems([]ir.KV{{Key: "team", Value: "md"}, {Key: "bad key", Value: "x"}, {Key: "tier", Value: "has space"}})
	if len(got) != 2 || !strings.Contains(got[0], "bad key") || !strings.Contains(got[1], "has space") {
		t.Errorf("%q", got)
	}
}
