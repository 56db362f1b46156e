// Package oltest validates OpenLineage events against the official JSON
// Schemas saved in ../shared/schemas/openlineage (never copied into this
// repository). It is imported only by tests.
//
// An event is validated against OpenLineage.json#/$defs/<Kind> with format
// assertions on (uuid, date-time, uri), and then every facet is validated
// against its own facet schema: the core schema only checks a facet's
// _producer and _schemaURL, so without the second step a malformed
// columnLineage would pass.
package oltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Validator holds the compiled schemas.
type Validator struct {
	events map[string]*jsonschema.Schema // RunEvent, JobEvent, DatasetEvent
	// facets[location][key]: location is run, job, dataset, input, output.
	facets map[string]map[string]*jsonschema.Schema
}

// Dir returns the schema directory found by walking up from the working
// directory to go.mod and then to ../shared/schemas/openlineage, or "".
func Dir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "..", "shared", "schemas", "openlineage")
			if _, err := os.Stat(filepath.Join(p, "OpenLineage.json")); err == nil {
				return p
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// New loads the schemas or skips the test loudly when they are absent.
func New(t testing.TB) *Validator {
	t.Helper()
	dir := Dir()
	if dir == "" {
		t.Skip("SKIP: OpenLineage JSON Schemas not found at <repo>/../shared/schemas/openlineage; events are NOT validated")
	}
	v, err := Load(dir)
	if err != nil {
		t.Fatalf("loading OpenLineage schemas: %v", err)
	}
	return v
}

// Load compiles OpenLineage.json and every facets/*.json under its $id.
func Load(dir string) (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	core, err := readJSON(filepath.Join(dir, "OpenLineage.json"))
	if err != nil {
		return nil, err
	}
	coreID, _ := core.(map[string]any)["$id"].(string)
	if err := c.AddResource(coreID, core); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "facets", "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no facet schemas in %s", dir)
	}
	sort.Strings(files)
	type facetFile struct {
		id, key string
		locs    []string
	}
	var ffs []facetFile
	for _, f := range files {
		doc, err := readJSON(f)
		if err != nil {
			return nil, err
		}
		m, _ := doc.(map[string]any)
		id, _ := m["$id"].(string)
		if id == "" {
			return nil, fmt.Errorf("%s: no $id", f)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, err
		}
		props, _ := m["properties"].(map[string]any)
		if len(props) != 1 {
			return nil, fmt.Errorf("%s: want one facet key in properties, have %d", f, len(props))
		}
		var key string
		for k := range props {
			key = k
		}
		ffs = append(ffs, facetFile{id: id, key: key, locs: locations(filepath.Base(f))})
	}
	v := &Validator{events: map[string]*jsonschema.Schema{}, facets: map[string]map[string]*jsonschema.Schema{}}
	for _, k := range []string{"RunEvent", "JobEvent", "DatasetEvent"} {
		s, err := c.Compile(coreID + "#/$defs/" + k)
		if err != nil {
			return nil, err
		}
		v.events[k] = s
	}
	for _, ff := range ffs {
		s, err := c.Compile(ff.id)
		if err != nil {
			return nil, err
		}
		for _, l := range ff.locs {
			if v.facets[l] == nil {
				v.facets[l] = map[string]*jsonschema.Schema{}
			}
			v.facets[l][ff.key] = s
		}
	}
	return v, nil
}

// locations maps a facet file to where its facet may appear.
func locations(file string) []string {
	switch name := strings.TrimSuffix(file, ".json"); {
	case name == "BaseSubsetDatasetFacet":
		return []string{"input", "output"}
	case name == "LineageFacet":
		return []string{"dataset", "job"}
	case strings.HasSuffix(name, "InputDatasetFacet"):
		return []string{"input"}
	case strings.HasSuffix(name, "OutputDatasetFacet"):
		return []string{"output"}
	case strings.HasSuffix(name, "DatasetFacet"):
		return []string{"dataset"}
	case strings.HasSuffix(name, "JobFacet"):
		return []string{"job"}
	case strings.HasSuffix(name, "RunFacet"):
		return []string{"run"}
	}
	return nil
}

func readJSON(path string) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return jsonschema.UnmarshalJSON(f)
}

// Kind guesses the event kind from its keys: run → RunEvent, dataset →
// DatasetEvent, else JobEvent.
func Kind(doc map[string]any) string {
	if _, ok := doc["run"]; ok {
		return "RunEvent"
	}
	if _, ok := doc["dataset"]; ok {
		return "DatasetEvent"
	}
	return "JobEvent"
}

// Validate checks one event (JSON) of the kind its keys imply.
func (v *Validator) Validate(data []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return errors.New("event is not a JSON object")
	}
	return v.ValidateAs(Kind(m), doc)
}

// ValidateAs checks a decoded event (from jsonschema.UnmarshalJSON) as kind.
func (v *Validator) ValidateAs(kind string, doc any) error {
	s, ok := v.events[kind]
	if !ok {
		return fmt.Errorf("unknown event kind %q", kind)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%s: %v", kind, err)
	}
	m, _ := doc.(map[string]any)
	var errs []error
	check := func(where, loc string, facets any) {
		fm, _ := facets.(map[string]any)
		keys := make([]string, 0, len(fm))
		for k := range fm {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fs, ok := v.facets[loc][k]
			if !ok {
				errs = append(errs, fmt.Errorf("%s.%s: no %s facet schema for key %q", where, k, loc, k))
				continue
			}
			if err := fs.Validate(map[string]any{k: fm[k]}); err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %v", where, k, err))
			}
		}
	}
	if run, ok := m["run"].(map[string]any); ok {
		check("run.facets", "run", run["facets"])
	}
	if job, ok := m["job"].(map[string]any); ok {
		check("job.facets", "job", job["facets"])
	}
	if ds, ok := m["dataset"].(map[string]any); ok {
		check("dataset.facets", "dataset", ds["facets"])
	}
	for _, side := range []string{"inputs", "outputs"} {
		list, _ := m[side].([]any)
		for i, d := range list {
			dm, _ := d.(map[string]any)
			where := fmt.Sprintf("%s[%d]", side, i)
			check(where+".facets", "dataset", dm["facets"])
			check(where+".inputFacets", "input", dm["inputFacets"])
			check(where+".outputFacets", "output", dm["outputFacets"])
		}
	}
	return errors.Join(errs...)
}

// ValidateLines validates every non-empty line of JSON-lines data.
func (v *Validator) ValidateLines(data []byte) error {
	var errs []error
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := v.Validate(line); err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}

// MustJSON marshals v for tests.
func MustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
