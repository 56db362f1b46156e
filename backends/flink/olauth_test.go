package flink

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/lang/diag"
)

func apiKeyOpts(settings ...string) *backends.Options {
	s := map[string]string{SetOLURL: "http://marquez:5000", openlineage.SetAPIKeySecret: "ol-auth/api-key"}
	for i := 0; i+1 < len(settings); i += 2 {
		s[settings[i]] = settings[i+1]
	}
	return &backends.Options{Version: "test", Env: testOpts.Env, Settings: s}
}

// With openlineage.apiKeySecret and the http transport, an init container
// reads the key from the Secret (never a literal) and writes the client's
// auth section into openlineage.yml on a memory emptyDir; the main
// container points OPENLINEAGE_CONFIG at it; no container but the init one
// holds the key, and flinkConfiguration sets no auth key (which would
// replace the file's auth section).
func TestListenerAPIKeyFromSecret(t *testing.T) {
	pl := features()
	r, ds := PipelineResources(program(pl), pl, apiKeyOpts())
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	spec := r.Deployment.Spec
	var init *Container
	for i, c := range spec.PodTemplate.Spec.InitContainers {
		if c.Name == "render-openlineage" {
			init = &spec.PodTemplate.Spec.InitContainers[i]
		}
	}
	if init == nil {
		t.Fatalf("no render-openlineage init container: %+v", spec.PodTemplate.Spec.InitContainers)
	}
	if len(init.Env) != 1 || init.Env[0].Name != openlineage.APIKeyEnv || init.Env[0].Value != "" || init.Env[0].ValueFrom == nil ||
		init.Env[0].ValueFrom.SecretKeyRef == nil || init.Env[0].ValueFrom.SecretKeyRef.Name != "ol-auth" || init.Env[0].ValueFrom.SecretKeyRef.Key != "api-key" {
		t.Errorf("init env %+v: want %s from secretKeyRef ol-auth/api-key", init.Env, openlineage.APIKeyEnv)
	}
	if len(init.VolumeMounts) != 1 || init.VolumeMounts[0].Name != "openlineage" || init.VolumeMounts[0].MountPath != olConfigMount {
		t.Errorf("init mounts %+v", init.VolumeMounts)
	}
	var vol *Volume
	for i, v := range spec.PodTemplate.Spec.Volumes {
		if v.Name == "openlineage" {
			vol = &spec.PodTemplate.Spec.Volumes[i]
		}
	}
	if vol == nil || vol.EmptyDir == nil || vol.EmptyDir.Medium != "Memory" {
		t.Errorf("openlineage volume %+v, want a memory emptyDir", vol)
	}
	main := spec.PodTemplate.Spec.Containers[0]
	cfg, mounted := "", false
	for _, e := range main.Env {
		if e.Name == olConfigEnv {
			cfg = e.Value
		}
		if e.Name == openlineage.APIKeyEnv {
			t.Errorf("main container holds %s", e.Name)
		}
	}
	for _, m := range main.VolumeMounts {
		mounted = mounted || (m.Name == "openlineage" && m.MountPath == olConfigMount && m.ReadOnly)
	}
	if cfg != olConfigMount+"/"+olConfigFile || !mounted {
		t.Errorf("main container: %s=%q, mounted %v", olConfigEnv, cfg, mounted)
	}
	conf := spec.FlinkConfiguration
	for k := range conf {
		if strings.HasPrefix(k, "openlineage.transport.auth") {
			t.Errorf("flinkConfiguration sets %s, which would replace the file's auth section", k)
		}
	}
	if conf["openlineage.transport.type"] != "http" || conf["openlineage.transport.url"] != "http://marquez:5000" {
		t.Errorf("transport configuration %v", conf)
	}
	if !strings.Contains(init.Command[len(init.Command)-1], olConfigMount+"/"+olConfigFile) {
		t.Errorf("init command does not write %s: %q", olConfigFile, init.Command)
	}
}

// The init container's program writes a configuration whose auth section
// reads back (YAML) as the exact key, whatever its characters, and refuses
// keys it cannot write.
func TestAPIKeyConfigScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("SKIPPING: bash not found; the OpenLineage config writer is NOT tested")
	}
	dir := t.TempDir()
	script := strings.ReplaceAll(olConfigScript(), olConfigMount, dir)
	run := func(key string) ([]byte, error) {
		os.Remove(filepath.Join(dir, olConfigFile))
		cmd := exec.Command(bash, "-c", script)
		cmd.Env = append(os.Environ(), openlineage.APIKeyEnv+"="+key)
		if out, err := cmd.CombinedOutput(); err != nil {
			return out, err
		}
		return os.ReadFile(filepath.Join(dir, olConfigFile))
	}
	for _, key := range []string{"f048521b-dfe8-47cd-9c65-0cb07d57591e", `a"b\c\\d`, "1.50", "null", "true", "ünï €", "$(HOME) ${HOME} $HOME `id`", "'q' : #x - [y] {z} &a *b !t %p @ |", "  spaced  "} {
		data, err := run(key)
		if err != nil {
			t.Fatalf("key %q: %v: %s", key, err, data)
		}
		var got struct {
			Transport struct {
				Type string
				Auth map[string]any
			}
		}
		if err := yaml.Unmarshal(data, &got); err != nil {
			t.Fatalf("key %q: %v\n%s", key, err, data)
		}
		if got.Transport.Type != "http" || got.Transport.Auth["type"] != "api_key" || got.Transport.Auth["apiKey"] != key || len(got.Transport.Auth) != 2 {
			t.Errorf("key %q: config %+v\n%s", key, got, data)
		}
	}
	for _, key := range []string{"", "key\n", "a\rb", "a\tb"} {
		if out, err := run(key); err == nil {
			t.Errorf("key %q was written: %s", key, out)
		}
	}
}

// Malformed references are positioned errors; kafka needs no key; a
// session job cannot carry one.
func TestListenerAPIKeySettings(t *testing.T) {
	pl := features()
	r, ds := PipelineResources(program(pl), pl, apiKeyOpts(SetOLTransport, "kafka"))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	for _, c := range r.Deployment.Spec.PodTemplate.Spec.InitContainers {
		if c.Name == "render-openlineage" {
			t.Error("kafka transport: the API key is written")
		}
	}
	at := diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 3, Column: 2}}
	positioned := func(ds diag.Diagnostics) bool {
		for _, d := range ds {
			if d.Code == diag.FlinkLineageSettings && d.Severity == diag.Error && d.Subject != nil && *d.Subject == at {
				return true
			}
		}
		return false
	}
	for _, ref := range []string{"no-slash", "Bad_Name/key", "ol-auth/bad key", "ol-auth/"} {
		pl := features()
		pl.Pos = at
		if _, ds := PipelineResources(program(pl), pl, apiKeyOpts(openlineage.SetAPIKeySecret, ref)); !positioned(ds) {
			t.Errorf("%q: want a FlinkLineageSettings error at the pipeline, got %v", ref, ds)
		}
	}
	pl = features()
	stripSecrets(pl)
	pl.Pos = at
	if _, ds := PipelineResources(program(pl), pl, apiKeyOpts(SetSession, "s", SetRunnerJar, "https://x/r.jar")); !positioned(ds) {
		t.Errorf("session job with an API key: want a FlinkLineageSettings error, got %v", ds)
	}
}

// The FlinkDeployment with the API key still validates against the CRD.
func TestListenerAPIKeyValidatesAgainstCRD(t *testing.T) {
	set := crdSet(t)
	out, ds := generateAll(t, program(features()), apiKeyOpts())
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	crs := customResources(t, set, out)
	for _, f := range crs {
		if !strings.Contains(string(f.Data), "medium: Memory") {
			t.Errorf("%s: no memory emptyDir", f.Path)
		}
	}
	if len(crs) != 1 {
		t.Errorf("%d custom resources", len(crs))
	}
}

// The processing_engine facet of a flink pipeline names the version the
// backend targets.
func TestEngineVersionRegistered(t *testing.T) {
	if v := openlineage.EngineVersion("flink", &backends.Options{}); v != DefaultVersion {
		t.Errorf("engine version %q, want %q", v, DefaultVersion)
	}
	if v := openlineage.EngineVersion("flink", &backends.Options{Settings: map[string]string{SetVersion: "2.1"}}); v != "2.1" {
		t.Errorf("flink.version not honoured: %q", v)
	}
}
