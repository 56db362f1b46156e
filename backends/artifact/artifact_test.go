package artifact

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPathSegmentInjectiveAndSafe(t *testing.T) {
	names := []string{"equities-vwap", "a/b", "../x", ".hidden", "a%2Fb", "sp ace", "ünï", "", "a.b", "new\nline"}
	seen := map[string]string{}
	for _, n := range names {
		s := PathSegment(n)
		if s == "" || s == "." || s == ".." || filepath.Base(s) != s {
			t.Errorf("PathSegment(%q) = %q is not one safe segment", n, s)
		}
		if prev, ok := seen[s]; ok {
			t.Errorf("PathSegment(%q) = PathSegment(%q) = %q", n, prev, s)
		}
		seen[s] = n
	}
	if PathSegment("equities-vwap") != "equities-vwap" {
		t.Error("plain names must be kept")
	}
}

func TestSetValidateAndWrite(t *testing.T) {
	s := &Set{}
	s.Add(&File{Path: "b/flink/job.sql", Data: []byte("x")})
	s.Add(&File{Path: "a/./beam/main.go", Data: []byte("y")})
	s.Sort()
	if s.Files[0].Path != "a/beam/main.go" {
		t.Fatalf("not cleaned/sorted: %v", s.Files[0].Path)
	}
	dir := t.TempDir()
	if err := s.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "b", "flink", "job.sql")); err != nil || string(b) != "x" {
		t.Fatalf("read back: %q %v", b, err)
	}
	bad := &Set{Files: []*File{{Path: "../escape"}}}
	if bad.Validate() == nil {
		t.Error("../ path accepted")
	}
	dup := &Set{Files: []*File{{Path: "a"}, {Path: "a"}}}
	if dup.Validate() == nil {
		t.Error("duplicate path accepted")
	}
}
