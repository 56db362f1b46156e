package crd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// unmarshalJSON decodes like the API server's unstructured decoder: integral
// numbers become int64, others float64.
func unmarshalJSON(data []byte, v *map[string]any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return err
	}
	m, ok := convertNumbers(raw).(map[string]any)
	if !ok {
		return fmt.Errorf("a manifest must be an object, got %T", raw)
	}
	*v = m
	return nil
}

func convertNumbers(x any) any {
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			x[k] = convertNumbers(v)
		}
		return x
	case []any:
		for i, v := range x {
			x[i] = convertNumbers(v)
		}
		return x
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if i, err := x.Int64(); err == nil {
				return i
			}
		}
		f, _ := x.Float64()
		return f
	}
	return x
}

// normalize brings Go values (int, []string, map[string]string, structs) to
// the JSON shapes the validators expect, through a JSON round trip. Values
// that are already JSON-shaped come back equal.
func normalize(obj map[string]any) any {
	data, err := json.Marshal(obj)
	if err != nil {
		return obj
	}
	var m map[string]any
	if err := unmarshalJSON(data, &m); err != nil {
		return obj
	}
	return m
}
