package artifact

import (
	"fmt"
	"strings"
)

// PathSegment turns a pipeline or workflow name into one path segment, the
// folder every backend writes under (DIR/<segment>/<target>/). It is
// injective: bytes outside [A-Za-z0-9_.-] (and a leading dot) are
// percent-encoded, so hostile names cannot escape the output directory and
// two names never share a folder.
func PathSegment(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || (c == '.' && i > 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	if b.Len() == 0 {
		return "%"
	}
	return b.String()
}
