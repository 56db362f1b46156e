// Package crd validates custom resources against the openAPIV3Schema of their
// CustomResourceDefinition with the Kubernetes API server's own code
// (k8s.io/apiextensions-apiserver), the way the server does on create:
//
//   - apiVersion and kind must be the CRD's group/version and kind;
//   - metadata as for any object (name a DNS subdomain, namespace a DNS label,
//     label and annotation keys and values);
//   - unknown fields, as strict field validation reports them (pruning with
//     TrackUnknownFieldPaths);
//   - the schema: types, enums, required, patterns, formats, min/max;
//   - embedded resources and x-kubernetes-list-type sets and maps;
//   - x-kubernetes-validations CEL rules, with the server's cost limits.
//
// Use it as:
//
//	set, err := crd.Load(paths...)          // or crd.LoadDir(dir)
//	errs := set.Validate(obj)                // obj: a decoded manifest
//	for _, e := range errs { fmt.Println(e) } // "spec.job.upgradeMode: Unsupported value: …"
//
// Loading a large CRD (Spark's is 800 KB) takes a fraction of a second; a Set
// is safe for concurrent use and [Cached] shares loaded sets per directory.
package crd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apivalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// FieldError is one validation failure at a field path ("spec.job.parallelism").
type FieldError struct {
	Path    string
	Message string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// Schema is one served version of one CRD.
type Schema struct {
	Group, Version, Kind string
	Namespaced           bool
	// File is the CRD file the schema came from.
	File string

	structural *structuralschema.Structural
	validator  apivalidation.SchemaValidator
	cel        *cel.Validator // nil when the schema has no CEL rules
}

// APIVersion returns group/version.
func (s *Schema) APIVersion() string { return s.Group + "/" + s.Version }

// Set is a collection of schemas keyed by apiVersion and kind.
type Set struct {
	schemas map[string]*Schema
}

func gvk(apiVersion, kind string) string { return apiVersion + ", Kind=" + kind }

// Load reads CRD files (YAML or JSON; files with several documents are
// split on "---" lines) and returns the schemas of every served version.
func Load(paths ...string) (*Set, error) {
	s := &Set{schemas: map[string]*Schema{}}
	var errs []error
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		schemas, err := Parse(p, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, sc := range schemas {
			s.schemas[gvk(sc.APIVersion(), sc.Kind)] = sc
		}
	}
	return s, errors.Join(errs...)
}

// LoadDir loads every *.yaml, *.yml and *.json file directly in dir that is a
// CustomResourceDefinition; other files (examples) are ignored.
func LoadDir(dir string) (*Set, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".json")) {
			continue
		}
		paths = append(paths, filepath.Join(dir, n))
	}
	sort.Strings(paths)
	return Load(paths...)
}

var cache sync.Map // dir → *cacheEntry

type cacheEntry struct {
	once sync.Once
	set  *Set
	err  error
}

// Cached is LoadDir with the result shared across calls for the same dir.
func Cached(dir string) (*Set, error) {
	e, _ := cache.LoadOrStore(filepath.Clean(dir), &cacheEntry{})
	ce := e.(*cacheEntry)
	ce.once.Do(func() { ce.set, ce.err = LoadDir(dir) })
	return ce.set, ce.err
}

// Parse reads the CRDs in data (name is used in errors). Documents that are
// not CustomResourceDefinitions are skipped.
func Parse(name string, data []byte) ([]*Schema, error) {
	var out []*Schema
	for i, doc := range splitDocs(data) {
		var head struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("%s: document %d: %v", name, i+1, err)
		}
		if head.Kind != "CustomResourceDefinition" {
			continue
		}
		var c apiextv1.CustomResourceDefinition
		if err := yaml.Unmarshal(doc, &c); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		for _, v := range c.Spec.Versions {
			if !v.Served {
				continue
			}
			props := v.Schema
			if props == nil || props.OpenAPIV3Schema == nil {
				return nil, fmt.Errorf("%s: %s version %s has no openAPIV3Schema", name, c.Name, v.Name)
			}
			sc, err := compile(props.OpenAPIV3Schema)
			if err != nil {
				return nil, fmt.Errorf("%s: %s %s: %v", name, c.Name, v.Name, err)
			}
			sc.Group, sc.Version, sc.Kind = c.Spec.Group, v.Name, c.Spec.Names.Kind
			sc.Namespaced = c.Spec.Scope == apiextv1.NamespaceScoped
			sc.File = name
			out = append(out, sc)
		}
	}
	return out, nil
}

func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	var cur []string
	flush := func() {
		d := strings.TrimSpace(strings.Join(cur, "\n"))
		if d != "" {
			docs = append(docs, []byte(d+"\n"))
		}
		cur = nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimRight(line, " \r") == "---" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return docs
}

func compile(v1 *apiextv1.JSONSchemaProps) (*Schema, error) {
	var internal apiextensions.JSONSchemaProps
	if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1, &internal, nil); err != nil {
		return nil, fmt.Errorf("converting schema: %v", err)
	}
	st, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, fmt.Errorf("structural schema: %v", err)
	}
	val, _, err := apivalidation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, fmt.Errorf("schema validator: %v", err)
	}
	return &Schema{
		structural: st,
		validator:  val,
		cel:        cel.NewValidator(st, true, celconfig.PerCallLimit),
	}, nil
}

// Lookup returns the schema for apiVersion and kind, or nil.
func (s *Set) Lookup(apiVersion, kind string) *Schema {
	if s == nil {
		return nil
	}
	return s.schemas[gvk(apiVersion, kind)]
}

// Kinds lists "apiVersion, Kind=K" of every schema, sorted.
func (s *Set) Kinds() []string {
	var out []string
	for k := range s.schemas {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ErrUnknownKind is returned (wrapped in a FieldError at "kind") when the set
// has no schema for an object's apiVersion and kind.
var ErrUnknownKind = errors.New("no CRD loaded for this apiVersion and kind")

// Validate validates obj with the schema its apiVersion and kind select.
func (s *Set) Validate(obj map[string]any) []FieldError {
	av, _ := obj["apiVersion"].(string)
	k, _ := obj["kind"].(string)
	sc := s.Lookup(av, k)
	if sc == nil {
		return []FieldError{{Path: "kind", Message: fmt.Sprintf("%v: apiVersion %q, kind %q", ErrUnknownKind, av, k)}}
	}
	return sc.Validate(obj)
}

// ValidateYAML decodes one YAML (or JSON) document and validates it.
func (s *Set) ValidateYAML(doc []byte) []FieldError {
	obj, err := decode(doc)
	if err != nil {
		return []FieldError{{Message: err.Error()}}
	}
	return s.Validate(obj)
}

func decode(doc []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("decoding manifest: %v", err)
	}
	// The API server decodes JSON numbers as int64 when integral, float64
	// otherwise; runtime.DecodeInto with the unstructured JSON scheme does
	// the same.
	var u map[string]any
	if err := unmarshalJSON(j, &u); err != nil {
		return nil, fmt.Errorf("decoding manifest: %v", err)
	}
	return u, nil
}

// Validate validates obj (as decoded from JSON: map[string]any, []any,
// string, bool, int64/float64) against the schema, as the API server does on
// create. obj is not modified. Errors are sorted by path.
func (sc *Schema) Validate(obj map[string]any) (errs []FieldError) {
	defer func() {
		// The validators are not meant to panic; if one does on odd input,
		// report it rather than crash the compiler.
		if r := recover(); r != nil {
			errs = append(errs, FieldError{Message: fmt.Sprintf("internal validator failure: %v", r)})
		}
	}()
	obj = normalize(obj).(map[string]any)
	var fes field.ErrorList

	av, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if kind != sc.Kind {
		fes = append(fes, field.Invalid(field.NewPath("kind"), kind, "must be "+sc.Kind))
	}
	if av != sc.APIVersion() {
		fes = append(fes, field.Invalid(field.NewPath("apiVersion"), av, "must be "+sc.APIVersion()))
	}
	fes = append(fes, validateMeta(obj, sc.Namespaced)...)

	// Unknown fields: prune a copy and record what was dropped, as
	// `kubectl apply --validate=strict` (fieldValidation=Strict) reports.
	pruned := runtime.DeepCopyJSON(obj)
	for _, p := range pruning.PruneWithOptions(pruned, sc.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		fes = append(fes, field.Invalid(nil, nil, "unknown field \""+p+"\""))
	}

	fes = append(fes, apivalidation.ValidateCustomResource(nil, obj, sc.validator)...)
	ctx := context.Background()
	fes = append(fes, schemaobjectmeta.Validate(ctx, nil, obj, sc.structural, false)...)
	fes = append(fes, listtype.ValidateListSetsAndMaps(nil, sc.structural, obj)...)
	if sc.cel != nil && !blocking(fes) {
		celErrs, _ := sc.cel.Validate(ctx, nil, sc.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		fes = append(fes, celErrs...)
	}
	for _, fe := range fes {
		p := fe.Field
		msg := fe.ErrorBody()
		if p == "<nil>" {
			p = ""
		}
		errs = append(errs, FieldError{Path: p, Message: msg})
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Path < errs[j].Path })
	return errs
}

// blocking mirrors the API server: CEL rules are not run over values whose
// types are already wrong.
func blocking(fes field.ErrorList) bool {
	for _, e := range fes {
		if e.Type == field.ErrorTypeTypeInvalid {
			return true
		}
	}
	return false
}

func validateMeta(obj map[string]any, namespaced bool) field.ErrorList {
	path := field.NewPath("metadata")
	raw, ok := obj["metadata"]
	if !ok {
		return field.ErrorList{field.Required(path, "")}
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return field.ErrorList{field.Invalid(path, raw, "must be an object")}
	}
	var meta metav1.ObjectMeta
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &meta); err != nil {
		return field.ErrorList{field.Invalid(path, nil, err.Error())}
	}
	// On create the server derives the name from generateName (adding five
	// random characters) before validating; do the same.
	if meta.Name == "" && meta.GenerateName != "" {
		meta.Name = meta.GenerateName + "abcde"
	}
	// A namespace is optional in a manifest (kubectl fills it in), but when
	// present it must be valid; validate as if it were set.
	requiresNS := namespaced && meta.Namespace != ""
	if namespaced && meta.Namespace == "" {
		meta.Namespace = "default"
		requiresNS = true
	}
	return metavalidation.ValidateObjectMeta(&meta, requiresNS, metavalidation.NameIsDNSSubdomain, path)
}

// ValidateMeta validates only apiVersion/kind presence and metadata, as the
// API server does for any object (for core kinds without a CRD: ConfigMap).
func ValidateMeta(obj map[string]any, namespaced bool) []FieldError {
	var errs []FieldError
	for _, fe := range validateMeta(normalize(obj).(map[string]any), namespaced) {
		errs = append(errs, FieldError{Path: fe.Field, Message: fe.ErrorBody()})
	}
	return errs
}
