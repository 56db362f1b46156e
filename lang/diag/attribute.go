package diag

import (
	"fmt"
	"path"
	"strings"
)

// Library reports whether filename is a file of a library the user reads
// but does not edit: the rtsap schema module and its stdlib packages,
// whose files are named by import path ("rtsap.dev/rtsap/finance/…").
func Library(filename string) bool {
	return strings.HasPrefix(filename, LibraryModule+"/")
}

// LibraryModule is the import path of the schema module (stdlib.Module; kept
// here so that diag depends on nothing).
const LibraryModule = "rtsap.dev/rtsap"

// Attribute moves the diagnostics of ds that sit in a library file to
// user, the construct of the user's spec that instantiates the library
// definition (a node written as finance.#OHLC & {…}): the user can see and
// change that line, not the library's. The library position stays as a
// related position. Diagnostics that become identical (one missing field
// read by several library expressions) are merged, keeping every library
// position. ds is changed in place; the result may be shorter.
func Attribute(ds Diagnostics, user Range) Diagnostics {
	if !user.IsValid() || Library(user.Filename) {
		return ds
	}
	out := ds[:0]
	seen := map[string]*Diagnostic{}
	for _, d := range ds {
		if d.Subject == nil || !Library(d.Subject.Filename) {
			out = append(out, d)
			continue
		}
		rel := Related{Message: "in the library definition this uses (package " + path.Dir(d.Subject.Filename) + ")", Range: *d.Subject}
		key := fmt.Sprint(d.Severity, d.Code, "\x00", d.Summary, "\x00", d.Detail)
		if prev, ok := seen[key]; ok {
			prev.Related = append(prev.Related, rel)
			continue
		}
		u := user
		d.Subject = &u
		d.Related = append([]Related{rel}, d.Related...)
		seen[key] = d
		out = append(out, d)
	}
	return out
}
