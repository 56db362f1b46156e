package diag

import "testing"

func lrng(file string, line int) Range {
	return Range{Filename: file, Start: Pos{Line: line, Column: 3}, End: Pos{Line: line, Column: 9}}
}

func TestAttributeMovesLibraryDiagnosticsToTheUser(t *testing.T) {
	lib1, lib2 := lrng("rtsap.dev/rtsap/finance/finance.cue", 50), lrng("rtsap.dev/rtsap/finance/finance.cue", 51)
	user := lrng("p/pipeline.cue", 25)
	mine := lrng("p/pipeline.cue", 30)
	ds := Diagnostics{
		Errorf(UnknownField, lib1, "Unknown field", "No field %q.", "price"),
		Errorf(UnknownField, lib2, "Unknown field", "No field %q.", "price"),
		Errorf(UnknownField, mine, "Unknown field", "No field %q.", "qty"),
		Errorf(UnknownField, lib2, "Unknown field", "No field %q.", "size"),
	}
	got := Attribute(ds, user)
	if len(got) != 3 {
		t.Fatalf("want 3 diagnostics (two price errors merged), got %d: %v", len(got), got)
	}
	price := got[0]
	if *price.Subject != user || len(price.Related) != 2 || price.Related[0].Range != lib1 || price.Related[1].Range != lib2 {
		t.Errorf("price error not attributed with both library positions: %+v", price)
	}
	if *got[1].Subject != mine || len(got[1].Related) != 0 {
		t.Errorf("a user-positioned diagnostic moved: %+v", got[1])
	}
	if *got[2].Subject != user || got[2].Related[0].Range != lib2 {
		t.Errorf("size error not attributed: %+v", got[2])
	}
	if want := "in the library definition this uses (package rtsap.dev/rtsap/finance)"; price.Related[0].Message != want {
		t.Errorf("related message %q, want %q", price.Related[0].Message, want)
	}
}

func TestAttributeKeepsLibraryPositionWithoutAUserNode(t *testing.T) {
	lib := lrng("rtsap.dev/rtsap/finance/finance.cue", 50)
	for _, to := range []Range{{}, lrng("rtsap.dev/rtsap/core.cue", 1)} {
		ds := Diagnostics{Errorf(UnknownField, lib, "Unknown field", "x")}
		if got := Attribute(ds, to); *got[0].Subject != lib {
			t.Errorf("attributed to %v: %v", to, got[0].Subject)
		}
	}
}
