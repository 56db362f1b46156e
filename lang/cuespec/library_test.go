package cuespec

import (
	"testing"

	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/stdlib"
)

// diag keeps its own copy of the schema module's path (it depends on
// nothing); the two must not drift, or library diagnostics would no
// longer be attributed to the user's node.
func TestLibraryModuleIsTheStdlib(t *testing.T) {
	if diag.LibraryModule != stdlib.Module {
		t.Fatalf("diag.LibraryModule %q, stdlib.Module %q", diag.LibraryModule, stdlib.Module)
	}
}
