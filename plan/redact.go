package plan

import "strings"

// Redacted replaces every sensitive value in plan output, plan files and
// state.
const Redacted = "(sensitive value)"

// sensitiveKey reports whether a field named key holds a secret value (as
// opposed to a reference to one: secretName, secretKeyRef stay visible).
func sensitiveKey(key string) bool {
	k := strings.ToLower(key)
	k = strings.NewReplacer(".", "", "_", "", "-", "").Replace(k)
	switch {
	case strings.HasSuffix(k, "password"), strings.HasSuffix(k, "passwd"),
		strings.HasSuffix(k, "jaasconfig"), strings.HasSuffix(k, "privatekey"),
		strings.HasSuffix(k, "clientsecret"), strings.HasSuffix(k, "secretkey"),
		strings.HasSuffix(k, "accesskey"), strings.HasSuffix(k, "apikey"),
		strings.HasSuffix(k, "token"), k == "secret", k == "credentials":
		return true
	}
	return false
}

// Redact returns a copy of body with sensitive values replaced by
// [Redacted], and whether anything was replaced. Sensitive are scalar values
// under sensitive-sounding keys, and every value of a Kubernetes Secret's
// data and stringData.
func Redact(body map[string]any) (map[string]any, bool) {
	secretObj := body["kind"] == "Secret" && body["apiVersion"] == "v1"
	out, _ := redact(body, false, secretObj, 0).(map[string]any)
	return out, !equal(any(body), any(out))
}

func redact(v any, sensitive, secretObj bool, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			s := sensitive || sensitiveKey(k) || (secretObj && depth == 0 && (k == "data" || k == "stringData"))
			out[k] = redact(e, s, false, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redact(e, sensitive, false, depth+1)
		}
		return out
	case nil:
		return nil
	}
	if sensitive {
		return Redacted
	}
	return v
}
