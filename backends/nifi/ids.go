package nifi

import "github.com/google/uuid"

// namespace roots every identifier: a flow's ids are UUIDs (version 5)
// derived from the pipeline name and the component's role, so the same spec
// always yields the same ids and NiFi matches components across re-imports.
var namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://rtsap.dev/rtsapc/nifi"))

// id derives a stable identifier from parts; parts are joined with a NUL so
// that ("a b", "c") and ("a", "b c") never collide.
func id(parts ...string) string {
	var b []byte
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return uuid.NewSHA1(namespace, b).String()
}
