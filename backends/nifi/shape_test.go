package nifi

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"rtsap.dev/rtsapc/backends"
)

// TestShapeMatchesRealExport compares the generated flow with a flow NiFi
// exported itself (../shared/schemas/nifi/Kafka_to_S3.json): every object
// the backend writes (the snapshot, the process group, processors,
// connections and their ends, controller services, bundles, property
// descriptors, parameter contexts and parameters, positions) has exactly the
// keys the real export has for that kind of object, with the same JSON
// types. Keys the export has that the backend leaves out are reported too.
func TestShapeMatchesRealExport(t *testing.T) {
	path := filepath.Join(schemaDir(t), "nifi", "Kafka_to_S3.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("SKIPPING: %v", err)
	}
	var real map[string]any
	if err := json.Unmarshal(data, &real); err != nil {
		t.Fatal(err)
	}
	snap, ds := Flow(equitiesToTimescale(), &backends.Options{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	out, _ := Encode(snap)
	var gen map[string]any
	if err := json.Unmarshal(out, &gen); err != nil {
		t.Fatal(err)
	}
	want, got := shapes(real), shapes(gen)
	for _, kind := range []string{"", "flowContents", "flowContents.processors[]", "flowContents.processors[].bundle",
		"flowContents.connections[]", "flowContents.connections[].source", "flowContents.controllerServices[]",
		"flowContents.controllerServices[].controllerServiceApis[]", "parameterContexts.*", "parameterContexts.*.parameters[]"} {
		if got[kind] == nil || want[kind] == nil {
			t.Errorf("%q: missing from the comparison (generated %v, export %v)", kind, got[kind] != nil, want[kind] != nil)
		}
	}
	// funnels: the export has none; their shape is VersionedFunnel's.
	delete(got, "flowContents.funnels[]")
	delete(got, "flowContents.funnels[].position")
	// bends: the export's connections are straight; a bend is a position.
	delete(got, "flowContents.connections[].bends[]")
	for kind, keys := range got {
		wk, ok := want[kind]
		if !ok {
			t.Errorf("%s: no such object in the real export", kind)
			continue
		}
		for k, typ := range keys {
			if wt, ok := wk[k]; !ok {
				t.Errorf("%s: key %q not in the real export", kind, k)
			} else if wt != typ && wt != "null" && typ != "null" {
				t.Errorf("%s.%s: %s, real export has %s", kind, k, typ, wt)
			}
		}
		for k := range wk {
			if _, ok := keys[k]; !ok && !optional[kind+"."+k] {
				t.Errorf("%s: real export has key %q, generated flow does not", kind, k)
			}
		}
	}
}

// optional keys: a sensitive parameter has no value (as in the export); the
// generated parameters without a value show the same.
var optional = map[string]bool{
	"parameterContexts.*.parameters[].value": true,
	// only for properties that name files or URLs
	"flowContents.processors[].propertyDescriptors.*.resourceDefinition":         true,
	"flowContents.controllerServices[].propertyDescriptors.*.resourceDefinition": true,
}

// shapes maps an object path (arrays as [], map values as *) to its keys and
// their JSON types; property maps are not descended into.
func shapes(doc map[string]any) map[string]map[string]string {
	out := map[string]map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if path == "parameterContexts" || path == "externalControllerServices" || path == "parameterProviders" {
				for _, e := range x {
					walk(path+".*", e)
				}
				return
			}
			if _, ok := out[path]; !ok {
				out[path] = map[string]string{}
			}
			for k, e := range x {
				out[path][k] = jsonType(e)
				switch k {
				case "properties", "propertyDescriptors", "style":
					if k == "propertyDescriptors" {
						for _, d := range e.(map[string]any) {
							walk(path+".propertyDescriptors.*", d)
						}
					}
					continue
				}
				sub := k
				if path != "" {
					sub = path + "." + k
				}
				walk(sub, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		}
	}
	walk("", doc)
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", v)
}

func schemaDir(t *testing.T) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "schemas")
		}
		p := filepath.Dir(dir)
		if p == dir {
			t.Fatal("no go.mod")
		}
		dir = p
	}
}
