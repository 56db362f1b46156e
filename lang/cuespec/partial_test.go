package cuespec

import (
	"bytes"
	"testing"
)

// TestLooseOverlay pins the schema text the recovery evaluation loosens:
// if stdlib/pipeline.cue stops constraining references with #Ref, a spec
// with errors would lose the errors its failed references hide.
func TestLooseOverlay(t *testing.T) {
	files, ok := overlay(false, true)
	if !ok {
		t.Fatalf("the schema no longer holds %q; update refConstraint in load.go", refConstraint)
	}
	n := 0
	for _, b := range files {
		if bytes.Contains(b, []byte(refConstraint)) {
			t.Errorf("loose overlay still constrains references")
		}
		n += bytes.Count(b, []byte(looseRef))
	}
	if n != 1 {
		t.Errorf("%d loose references, want 1", n)
	}
	if strict, _ := overlay(false, false); !bytes.Contains(strict[schemaPkgDir+"/pipeline.cue"], []byte(refConstraint)) {
		t.Errorf("the strict overlay lost the reference constraint")
	}
}
