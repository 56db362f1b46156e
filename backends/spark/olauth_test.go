package spark

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/lang/diag"
)

func apiKeyOpts(settings ...string) *backends.Options {
	s := map[string]string{SetOLURL: "http://marquez:5000", openlineage.SetAPIKeySecret: "ol-auth/api-key"}
	for i := 0; i+1 < len(settings); i += 2 {
		s[settings[i]] = settings[i+1]
	}
	return &backends.Options{Version: "test", Settings: s}
}

// podEnv is what the kubelet makes of env: secretKeyRef values from
// secrets, and $(NAME) in literal values expanded from the variables
// defined before ($$ is a literal $), as in k8s.io/kubernetes
// third_party/forked/golang/expansion.
func podEnv(t *testing.T, env []k8s.EnvVar, secrets map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ref := regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	for _, e := range env {
		if e.ValueFrom != nil {
			sk := e.ValueFrom.SecretKeyRef
			if sk == nil || e.Value != "" {
				t.Fatalf("%s: %+v", e.Name, e)
			}
			out[e.Name] = secrets[sk.Name+"/"+sk.Key]
			continue
		}
		out[e.Name] = ref.ReplaceAllStringFunc(e.Value, func(m string) string {
			if m == "$$" {
				return "$"
			}
			if v, ok := out[m[2:len(m)-1]]; ok {
				return v
			}
			return m // undefined (or defined later): left as is
		})
	}
	return out
}

// clientConfig is the configuration the OpenLineage Java client reads
// from OPENLINEAGE__* variables (OpenLineageEnvParser): key parts
// lower-cased, snake_case to camelCase, values read as JSON when they parse
// as JSON, else kept as strings.
func clientConfig(env map[string]string) map[string]any {
	root := map[string]any{}
	for k, v := range env {
		rest, ok := strings.CutPrefix(k, "OPENLINEAGE__")
		if !ok {
			continue
		}
		var parts []string
		for _, p := range strings.Split(rest, "__") {
			words := strings.Split(strings.ToLower(p), "_")
			for i := 1; i < len(words); i++ {
				if words[i] != "" {
					words[i] = strings.ToUpper(words[i][:1]) + words[i][1:]
				}
			}
			parts = append(parts, strings.Join(words, ""))
		}
		var val any
		if json.Unmarshal([]byte(v), &val) != nil {
			val = v
		}
		node := root
		for _, p := range parts[:len(parts)-1] {
			next, _ := node[p].(map[string]any)
			if next == nil {
				next = map[string]any{}
				node[p] = next
			}
			node = next
		}
		node[parts[len(parts)-1]] = val
	}
	return root
}

// With openlineage.apiKeySecret and the http transport, the driver reads
// the API key from the Secret (never a literal), and the variables the
// client reads give it transport.auth {type: api_key, apiKey: <the key>}
// exactly, whatever the key looks like; the executors and the
// SparkApplication's files never hold it, and sparkConf sets no auth key
// (which would replace the environment's auth section).
func TestListenerAPIKeyFromSecret(t *testing.T) {
	opts := apiKeyOpts()
	pl := streaming()
	r, ds := PipelineResources(progOf(pl), pl, opts)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	spec := r.Application.Spec
	var keyIdx, refIdx = -1, -1
	for i, e := range spec.Driver.Env {
		switch e.Name {
		case openlineage.APIKeyEnv:
			keyIdx = i
			if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
				e.ValueFrom.SecretKeyRef.Name != "ol-auth" || e.ValueFrom.SecretKeyRef.Key != "api-key" {
				t.Errorf("%s is not from secretKeyRef ol-auth/api-key: %+v", e.Name, e)
			}
		case envOLAuthAPIKey:
			refIdx = i
		}
	}
	if keyIdx < 0 || refIdx < 0 || refIdx < keyIdx {
		t.Fatalf("driver env %+v: want %s (secretKeyRef) before %s", spec.Driver.Env, openlineage.APIKeyEnv, envOLAuthAPIKey)
	}
	for _, e := range spec.Executor.Env {
		if strings.HasPrefix(e.Name, "OPENLINEAGE") {
			t.Errorf("executor env holds %s", e.Name)
		}
	}
	for k := range spec.SparkConf {
		if strings.HasPrefix(k, "spark.openlineage.transport.auth") {
			t.Errorf("sparkConf sets %s, which would replace the auth section from the environment", k)
		}
	}
	if spec.SparkConf["spark.openlineage.transport.type"] != "http" || spec.SparkConf["spark.openlineage.transport.url"] != "http://marquez:5000" {
		t.Errorf("transport conf %v", spec.SparkConf)
	}
	for _, key := range []string{"f048521b-dfe8-47cd-9c65-0cb07d57591e", "1.50", "null", "123 456", "MiXeD CaSe", "ünï$(HOME)$$x", "[a]", "{x}"} {
		env := podEnv(t, spec.Driver.Env, map[string]string{"ol-auth/api-key": key})
		got := clientConfig(env)
		want := map[string]any{"transport": map[string]any{"type": "http", "auth": map[string]any{"type": "api_key", "apiKey": key}}}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Errorf("key %q: client config %s, want %s", key, gj, wj)
		}
	}
	// No file names the key: the manifest holds only the reference.
	set, gds := generateAll(t, progOf(streaming()), opts)
	if gds.HasErrors() {
		t.Fatal(gds)
	}
	found := false
	for _, f := range set.Files {
		if strings.Contains(string(f.Data), "secretKeyRef:\n          key: api-key\n          name: ol-auth") {
			found = true
		}
	}
	if !found {
		t.Error("no manifest references the API key Secret")
	}
}

// The API key is for the http transport only; a malformed reference is a
// positioned error.
func TestListenerAPIKeySettings(t *testing.T) {
	pl := streaming()
	r, ds := PipelineResources(progOf(pl), pl, apiKeyOpts(SetOLTransport, "kafka"))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	for _, e := range r.Application.Spec.Driver.Env {
		if strings.HasPrefix(e.Name, "OPENLINEAGE") {
			t.Errorf("kafka transport: driver env holds %s", e.Name)
		}
	}
	for _, ref := range []string{"no-slash", "Bad_Name/key", "ol-auth/bad key", "ol-auth/"} {
		pl := streaming()
		pl.Pos = diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 3, Column: 2}}
		_, ds := PipelineResources(progOf(pl), pl, apiKeyOpts(openlineage.SetAPIKeySecret, ref))
		ok := false
		for _, d := range ds {
			if d.Code == diag.SparkLineageSettings && d.Severity == diag.Error && d.Subject != nil && *d.Subject == pl.Pos {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%q: want a SparkLineageSettings error at the pipeline, got %v", ref, ds)
		}
	}
}

// The SparkApplication with the API key still validates against the CRD.
func TestListenerAPIKeyValidatesAgainstCRD(t *testing.T) {
	set := crdSet(t)
	out, ds := generateAll(t, progOf(streaming()), apiKeyOpts())
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if n := len(customResources(t, set, out)); n != 1 {
		t.Errorf("%d custom resources", n)
	}
}

// An image tagged with another Spark release line than sparkVersion is a
// warning at the pipeline; other tags are not.
func TestImageTagVersion(t *testing.T) {
	for _, c := range []struct {
		image, version string
		warn           bool
	}{
		{"registry.internal/rtsap/spark:3.5.3", "", true},
		{"apache/spark:3.5.1-scala2.12-java17-python3-ubuntu", "", true},
		{"registry.internal/rtsap/spark:4.0.4", "", false},
		{"registry.internal/rtsap/spark:4.0.1-python3", "", false},
		{"registry.internal/rtsap/spark:v4.0", "", false},
		{"registry.internal/rtsap/spark:3.5.3", "3.5.3", false},
		{"registry.internal:5000/spark", "", false},
		{"registry.internal:5000/spark:latest", "", false},
		{"spark@sha256:0123456789abcdef", "", false},
		{"spark:3.5.3@sha256:0123456789abcdef", "", true},
	} {
		pl := streaming()
		pl.Pos = diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 3, Column: 2}}
		pl.Deploy.Image = c.image
		opts := &backends.Options{Version: "test"}
		if c.version != "" {
			opts.Settings = map[string]string{SetVersion: c.version}
		}
		_, ds := PipelineResources(progOf(pl), pl, opts)
		got := false
		for _, d := range ds {
			if d.Code == diag.SparkImageVersion {
				got = d.Severity == diag.Warning && d.Subject != nil && *d.Subject == pl.Pos && strings.Contains(d.Detail, c.image)
			}
		}
		if got != c.warn {
			t.Errorf("%s (spark.version %q): warning %v, want %v: %v", c.image, c.version, got, c.warn, ds)
		}
	}
}

// The processing_engine facet of a spark pipeline names the version the
// backend targets.
func TestEngineVersionRegistered(t *testing.T) {
	if v := openlineage.EngineVersion("spark", &backends.Options{}); v != DefaultVersion {
		t.Errorf("engine version %q, want %q", v, DefaultVersion)
	}
	if v := openlineage.EngineVersion("spark", &backends.Options{Settings: map[string]string{SetVersion: "4.1.0"}}); v != "4.1.0" {
		t.Errorf("spark.version not honoured: %q", v)
	}
}
