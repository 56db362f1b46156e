package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Normalize turns v into plain JSON values (map[string]any, []any, string,
// json.Number, bool, nil) through an encoding round trip, so that values
// from targets, state and plan files compare equal when they mean the same.
func Normalize(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeJSON(data)
}

func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// NormalizeObject is Normalize for an object.
func NormalizeObject(v any) (map[string]any, error) {
	n, err := Normalize(v)
	if err != nil {
		return nil, err
	}
	m, _ := n.(map[string]any)
	return m, nil
}

// Canonical is the canonical JSON encoding of v (object keys sorted, no HTML
// escaping), the input of digests.
func Canonical(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Digest is "sha256:" + the hex sha256 of v's canonical JSON.
func Digest(v any) string {
	sum := sha256.Sum256(Canonical(v))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// equal compares normalised JSON values; numbers compare by value.
func equal(a, b any) bool {
	if na, ok := a.(json.Number); ok {
		if nb, ok := b.(json.Number); ok {
			return numEqual(na, nb)
		}
		return false
	}
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok || !equal(x, y) {
				return false
			}
		}
		return true
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !equal(av[i], bv[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func numEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	if x, err := a.Int64(); err == nil {
		if y, err := b.Int64(); err == nil {
			return x == y
		}
	}
	x, err1 := a.Float64()
	y, err2 := b.Float64()
	return err1 == nil && err2 == nil && x == y
}

// Project keeps of live only the fields that appear in at least one of the
// shapes (the desired body and the last applied one): servers add defaults,
// status and bookkeeping that rtsapc does not manage and must not report.
// Lists are projected element by element.
func Project(live any, shapes ...any) any {
	lm, ok := live.(map[string]any)
	if ok {
		var ms []map[string]any
		for _, s := range shapes {
			if m, ok := s.(map[string]any); ok {
				ms = append(ms, m)
			}
		}
		if len(ms) == 0 {
			return live
		}
		out := map[string]any{}
		for k, v := range lm {
			var sub []any
			for _, m := range ms {
				if sv, ok := m[k]; ok {
					sub = append(sub, sv)
				}
			}
			if len(sub) > 0 {
				out[k] = Project(v, sub...)
			}
		}
		return out
	}
	ll, ok := live.([]any)
	if ok {
		out := make([]any, len(ll))
		for i, v := range ll {
			var sub []any
			for _, s := range shapes {
				if sl, ok := s.([]any); ok && i < len(sl) {
					sub = append(sub, sl[i])
				}
			}
			if len(sub) > 0 {
				out[i] = Project(v, sub...)
			} else {
				out[i] = v
			}
		}
		return out
	}
	return live
}

// FieldChange is one changed field.
type FieldChange struct {
	// Path is the field's location: object keys and list indexes (as
	// decimal strings).
	Path   []string `json:"path"`
	Action Action   `json:"action"`
	Before any      `json:"before,omitempty"`
	After  any      `json:"after,omitempty"`
	// Sensitive: the values are redacted.
	Sensitive bool `json:"sensitive,omitempty"`
}

// DiffValues lists the field changes from before to after, sorted by path.
// Objects are compared key by key, lists element by element; a changed
// scalar or a change of type is one change at that path.
func DiffValues(before, after any) []FieldChange {
	var out []FieldChange
	diffAt(nil, before, after, &out)
	return out
}

func diffAt(path []string, before, after any, out *[]FieldChange) {
	if equal(before, after) {
		return
	}
	p := append([]string(nil), path...)
	bm, bok := before.(map[string]any)
	am, aok := after.(map[string]any)
	if bok && aok {
		keys := map[string]bool{}
		for k := range bm {
			keys[k] = true
		}
		for k := range am {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			bv, inB := bm[k]
			av, inA := am[k]
			switch {
			case !inB:
				*out = append(*out, FieldChange{Path: append(p, k), Action: Create, After: av})
			case !inA:
				*out = append(*out, FieldChange{Path: append(p, k), Action: Delete, Before: bv})
			default:
				diffAt(append(p, k), bv, av, out)
			}
		}
		return
	}
	bl, bok := before.([]any)
	al, aok := after.([]any)
	if bok && aok {
		for i := 0; i < max(len(bl), len(al)); i++ {
			ip := append(p, strconv.Itoa(i))
			switch {
			case i >= len(bl):
				*out = append(*out, FieldChange{Path: ip, Action: Create, After: al[i]})
			case i >= len(al):
				*out = append(*out, FieldChange{Path: ip, Action: Delete, Before: bl[i]})
			default:
				diffAt(ip, bl[i], al[i], out)
			}
		}
		return
	}
	switch {
	case before == nil:
		*out = append(*out, FieldChange{Path: p, Action: Create, After: after})
	case after == nil:
		*out = append(*out, FieldChange{Path: p, Action: Delete, Before: before})
	default:
		*out = append(*out, FieldChange{Path: p, Action: Update, Before: before, After: after})
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// RenderPath renders a field path: spec.job["retention.ms"].args[0].
func RenderPath(p []string) string {
	var b strings.Builder
	for i, s := range p {
		if _, err := strconv.Atoi(s); err == nil && i > 0 {
			b.WriteString("[" + s + "]")
			continue
		}
		if isIdent(s) {
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
			continue
		}
		b.WriteString("[" + strconv.Quote(s) + "]")
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r == '-' && i > 0 || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return true
}
