// Package k8s is the Kubernetes manifest support shared by the backends that
// emit Kubernetes objects (flink, spark, argo). It keeps user names from
// breaking or colliding in object names, writes deterministic YAML, and
// validates what it writes.
//
// The API, in the order a backend uses it:
//
//   - [NewContext] from the backend options and program: namespace and labels
//     of the selected environment, provenance (spec digest, rtsapc version).
//   - [Names].Derive: a DNS-safe object name for a user name under a
//     [NameRule]; the original goes into the rtsap.dev/name annotation, and
//     two different names that derive to the same object name are an error.
//   - [Context].Meta: ObjectMeta with the standard labels
//     (app.kubernetes.io/*, rtsap.dev/pipeline) and provenance annotations.
//   - [ConfigMap] for scripts; [SecretEnv] for secrets, which are only ever
//     referenced (secretKeyRef), never embedded.
//   - [Manifest]: encode an object (a struct with json tags, or a map) as
//     YAML with sigs.k8s.io/yaml into an artifact file; [Kustomization] lists
//     a folder's manifests.
//   - [Validate]: every manifest against its CRD (internal/crd) and every
//     object's metadata as the API server would check it.
//
// YAML key order: sigs.k8s.io/yaml converts through JSON into generic maps,
// so keys come out sorted at every level (as kubectl prints them). Output is
// therefore deterministic whatever the Go types; struct field order does not
// matter.
package k8s

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/compiler/ir"
)

// Well-known label and annotation keys.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelComponent = "app.kubernetes.io/component"
	LabelPartOf    = "app.kubernetes.io/part-of"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelPipeline  = "rtsap.dev/pipeline" // derived (DNS-safe) pipeline name
	LabelEnv       = "rtsap.dev/environment"

	AnnoPipeline   = "rtsap.dev/pipeline"    // the pipeline's name as written
	AnnoName       = "rtsap.dev/name"        // the user name an object name was derived from
	AnnoSpecDigest = "rtsap.dev/spec-digest" // sha256 of the spec sources
	AnnoVersion    = "rtsap.dev/rtsapc-version"
	AnnoOwner      = "rtsap.dev/owner"

	ManagedBy = "rtsapc"
)

// TypeMeta is apiVersion and kind.
type TypeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// ObjectMeta is the part of metav1.ObjectMeta that generated objects use.
// Name is empty only when GenerateName is set: objects that a workflow
// creates once per run (argo's resource templates) get a server-made name.
type ObjectMeta struct {
	Name         string            `json:"name,omitempty"`
	GenerateName string            `json:"generateName,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// Context carries what every object of one build shares.
type Context struct {
	Env        string // environment name, "" without --env
	Namespace  string // "" = none (kubectl's current namespace)
	EnvLabels  []ir.KV
	SpecDigest string
	Version    string
}

// NewContext reads the environment and provenance from the options and
// program. Both may be nil.
func NewContext(p *ir.Program, opts *backends.Options) *Context {
	c := &Context{Version: "devel"}
	if p != nil {
		c.SpecDigest = p.SpecDigest
	}
	if opts != nil {
		if opts.Version != "" {
			c.Version = opts.Version
		}
		if e := opts.Env; e != nil {
			c.Env, c.Namespace, c.EnvLabels = e.Name, e.Namespace, e.Labels
		}
	}
	return c
}

// Meta returns the metadata of an object named name (already derived) for
// pipeline pl (nil for objects outside a pipeline, such as a workflow's),
// with component as app.kubernetes.io/component and original as the user
// name it was derived from ("" when name is not derived from one).
//
// Labels: environment labels, pipeline labels, then the standard ones
// (which win). Annotations: provenance and the original names. Invalid label
// keys or values are reported by [Validate], never dropped here.
func (c *Context) Meta(name, component, original string, pl *ir.Pipeline) ObjectMeta {
	m := ObjectMeta{Name: name, Namespace: c.Namespace, Labels: map[string]string{}, Annotations: map[string]string{}}
	for _, kv := range c.EnvLabels {
		m.Labels[kv.Key] = kv.Value
	}
	if pl != nil {
		for _, kv := range pl.Labels {
			m.Labels[kv.Key] = kv.Value
		}
	}
	m.Labels[LabelManagedBy] = ManagedBy
	m.Labels[LabelName] = DeriveName(name, DNSLabel)
	if component != "" {
		m.Labels[LabelComponent] = component
	}
	if c.Env != "" && isLabelValue(c.Env) {
		m.Labels[LabelEnv] = c.Env
	} else if c.Env != "" {
		m.Annotations[LabelEnv] = c.Env
	}
	if pl != nil {
		pn := DeriveName(pl.Name, DNSLabel)
		m.Labels[LabelPipeline] = pn
		m.Labels[LabelPartOf] = pn
		m.Annotations[AnnoPipeline] = pl.Name
		if pl.Owner != "" {
			m.Annotations[AnnoOwner] = pl.Owner
		}
	}
	if original != "" && original != name {
		m.Annotations[AnnoName] = original
	}
	if c.SpecDigest != "" {
		m.Annotations[AnnoSpecDigest] = c.SpecDigest
	}
	m.Annotations[AnnoVersion] = c.Version
	return m
}

func isLabelValue(s string) bool { return len(utilvalidation.IsValidLabelValue(s)) == 0 }

// NameRule constrains derived names.
type NameRule struct {
	MaxLen int
	// LetterFirst requires a leading letter (DNS-1035 labels; the Flink
	// operator's resource-name rule).
	LetterFirst bool
	// Dots allows '.' (DNS-1123 subdomains).
	Dots bool
}

// Common rules.
var (
	DNSLabel     = NameRule{MaxLen: 63}                    // most object names, label values
	DNS1035Label = NameRule{MaxLen: 63, LetterFirst: true} // Service-like names
	DNSSubdomain = NameRule{MaxLen: 253, Dots: true}       // ConfigMap, Secret, CR names
)

// DeriveName turns any string into a name under r, deterministically:
// lower-case ASCII letters and digits are kept, every other run of
// characters becomes one '-', and leading/trailing '-' are trimmed. A name
// that is already valid is returned unchanged. When characters were
// replaced, the result was cut to fit, or nothing usable remained, an
// 8-hex-digit hash of the original is appended so that names differing only
// in replaced characters ("a b", "a_b") still differ; a rule requiring a
// leading letter gets "x" in front of a digit.
func DeriveName(s string, r NameRule) string {
	if r.MaxLen <= 0 {
		r.MaxLen = 63
	}
	if valid(s, r) {
		return s
	}
	var b strings.Builder
	dash := false
	for _, ch := range strings.ToLower(s) {
		ok := (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (r.Dots && ch == '.')
		if ok {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(ch)
			dash = false
			continue
		}
		dash = true
	}
	base := strings.Trim(b.String(), "-.")
	if r.LetterFirst && base != "" && !(base[0] >= 'a' && base[0] <= 'z') {
		base = "x" + base
	}
	sum := sha256.Sum256([]byte(s))
	suffix := hex.EncodeToString(sum[:4])
	if base == "" {
		base = "x"
	}
	if max := r.MaxLen - len(suffix) - 1; len(base) > max {
		base = strings.TrimRight(base[:max], "-.")
	}
	return base + "-" + suffix
}

var (
	labelRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

func valid(s string, r NameRule) bool {
	if s == "" || len(s) > r.MaxLen {
		return false
	}
	if r.LetterFirst && !(s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	if r.Dots {
		for _, part := range strings.Split(s, ".") {
			if !labelRe.MatchString(part) {
				return false
			}
		}
		return true
	}
	return labelRe.MatchString(s)
}

// Names derives object names and detects collisions: two different user
// names that derive to the same object name of the same kind.
type Names struct {
	seen map[string]string // kind + "\x00" + derived → original
}

// CollisionError reports two user names that derive to one object name.
type CollisionError struct {
	Kind, Name    string
	First, Second string
}

func (e *CollisionError) Error() string {
	return fmt.Sprintf("%s name %q is derived from both %q and %q; rename one of them", e.Kind, e.Name, e.First, e.Second)
}

// Derive returns the object name of kind for original under r, or a
// *CollisionError when another original already has that name. Deriving
// the same original twice returns the same name.
func (n *Names) Derive(kind, original string, r NameRule) (string, error) {
	name := DeriveName(original, r)
	return name, n.Reserve(kind, name, original)
}

// Reserve records that name of kind belongs to original (for names built
// from a derived name plus a fixed suffix).
func (n *Names) Reserve(kind, name, original string) error {
	if n.seen == nil {
		n.seen = map[string]string{}
	}
	k := kind + "\x00" + name
	if prev, ok := n.seen[k]; ok && prev != original {
		return &CollisionError{Kind: kind, Name: name, First: prev, Second: original}
	}
	n.seen[k] = original
	return nil
}

// ConfigMapObject is a core/v1 ConfigMap.
type ConfigMapObject struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta        `json:"metadata"`
	Data     map[string]string `json:"data"`
}

// ConfigMap returns a ConfigMap holding data (file name → content). Keys
// must match [-._a-zA-Z0-9]+; [Validate] checks them.
func ConfigMap(meta ObjectMeta, data map[string]string) *ConfigMapObject {
	return &ConfigMapObject{TypeMeta: TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, Metadata: meta, Data: data}
}

// EnvVar is a container environment variable; secrets appear only as
// ValueFrom.SecretKeyRef.
type EnvVar struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// EnvVarSource selects a key of a Secret.
type EnvVarSource struct {
	SecretKeyRef *SecretKeySelector `json:"secretKeyRef,omitempty"`
}

// SecretKeySelector names a Secret and a key in it.
type SecretKeySelector struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
var secretKeyRe = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// SecretEnvName is the environment variable a secret is exposed as: s.Env
// when set, else RTSAP_SECRET_<NAME>_<KEY> upper-cased with other
// characters as '_'.
func SecretEnvName(s *ir.Secret) string {
	if s.Env != "" {
		return s.Env
	}
	up := func(x string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z':
				return r - 'a' + 'A'
			case (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'):
				return r
			}
			return '_'
		}, x)
	}
	return "RTSAP_SECRET_" + up(s.Name) + "_" + up(s.Key)
}

// SecretEnv returns the env var that exposes secret s by reference. It
// fails when the Secret name, key or variable name cannot be written as a
// valid reference (the secret cannot be renamed silently).
func SecretEnv(s *ir.Secret) (EnvVar, error) {
	name := SecretEnvName(s)
	if !envNameRe.MatchString(name) {
		return EnvVar{}, fmt.Errorf("environment variable name %q for secret %q is not a C identifier", name, s.Name)
	}
	if msgs := utilvalidation.IsDNS1123Subdomain(s.Name); len(msgs) > 0 {
		return EnvVar{}, fmt.Errorf("secret name %q is not a valid Kubernetes Secret name: %s", s.Name, strings.Join(msgs, "; "))
	}
	if !secretKeyRe.MatchString(s.Key) || len(s.Key) > 253 {
		return EnvVar{}, fmt.Errorf("secret key %q is not a valid Secret data key (letters, digits, '-', '_', '.')", s.Key)
	}
	return EnvVar{Name: name, ValueFrom: &EnvVarSource{SecretKeyRef: &SecretKeySelector{Name: s.Name, Key: s.Key}}}, nil
}

// SortEnv sorts env vars by name and drops exact duplicates.
func SortEnv(env []EnvVar) []EnvVar {
	sort.SliceStable(env, func(i, j int) bool { return env[i].Name < env[j].Name })
	out := env[:0]
	for i, e := range env {
		if i > 0 && e.Name == out[len(out)-1].Name {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Marshal encodes obj as YAML (sigs.k8s.io/yaml: through JSON, keys sorted).
func Marshal(obj any) ([]byte, error) {
	return yaml.Marshal(obj)
}

// Manifest encodes obj as one YAML document at path. obj must marshal to a
// JSON object with apiVersion, kind and metadata.name.
func Manifest(path, pipeline string, obj any) (*artifact.File, error) {
	data, err := Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if head.APIVersion == "" || head.Kind == "" || head.Metadata.Name == "" {
		return nil, fmt.Errorf("%s: object without apiVersion, kind or metadata.name", path)
	}
	return &artifact.File{
		Path: path, Kind: artifact.Manifest, Data: data, Pipeline: pipeline,
		Object: &artifact.Object{APIVersion: head.APIVersion, Kind: head.Kind, Namespace: head.Metadata.Namespace, Name: head.Metadata.Name},
	}, nil
}

// KustomizationObject is a kustomize.config.k8s.io/v1beta1 Kustomization.
type KustomizationObject struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Namespace  string            `json:"namespace,omitempty"`
	Labels     []KustomizeLabels `json:"labels,omitempty"`
	Resources  []string          `json:"resources"`
}

// KustomizeLabels is one entry of a Kustomization's labels.
type KustomizeLabels struct {
	Pairs map[string]string `json:"pairs"`
}

// Kustomization returns kustomization.yaml for folder dir listing every
// Manifest file of files directly in dir (sorted), with the context's
// namespace.
func (c *Context) Kustomization(dir string, files []*artifact.File, pipeline string) (*artifact.File, error) {
	k := KustomizationObject{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization", Namespace: c.Namespace, Resources: []string{}}
	dir = strings.TrimSuffix(dir, "/")
	for _, f := range files {
		if f.Kind != artifact.Manifest {
			continue
		}
		rest, ok := strings.CutPrefix(f.Path, dir+"/")
		if !ok || strings.Contains(rest, "/") {
			continue
		}
		k.Resources = append(k.Resources, rest)
	}
	sort.Strings(k.Resources)
	data, err := Marshal(k)
	if err != nil {
		return nil, err
	}
	return &artifact.File{Path: dir + "/kustomization.yaml", Kind: artifact.YAML, Data: data, Pipeline: pipeline}, nil
}

// Decode reads one YAML document into a generic object (integral numbers as
// int64), for validation and tests.
func Decode(data []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("empty document")
	}
	return m, nil
}

// LabelProblems lists the labels that Kubernetes would reject (key not a
// qualified name, value not a label value), as sentences, so a backend can
// report them at the spec position instead of emitting an invalid object.
func LabelProblems(labels []ir.KV) []string {
	var out []string
	for _, kv := range labels {
		if msgs := utilvalidation.IsQualifiedName(kv.Key); len(msgs) > 0 {
			out = append(out, fmt.Sprintf("label key %q is not a Kubernetes label key: %s", kv.Key, strings.Join(msgs, "; ")))
		}
		if msgs := utilvalidation.IsValidLabelValue(kv.Value); len(msgs) > 0 {
			out = append(out, fmt.Sprintf("label %q has value %q, which is not a Kubernetes label value: %s", kv.Key, kv.Value, strings.Join(msgs, "; ")))
		}
	}
	return out
}
