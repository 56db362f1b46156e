// Package artifact holds what backends produce: files in memory, with
// deterministic bytes, sorted by path. Backends never write to disk; the CLI
// does (see [Set.WriteDir]), and plan/apply diff Sets against live state.
package artifact

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Kind tells what a file holds, for plan/apply and for display.
type Kind string

const (
	Go       Kind = "go"
	GoMod    Kind = "gomod"
	SQL      Kind = "sql"
	Python   Kind = "python"
	YAML     Kind = "yaml"     // any YAML file that is not a Kubernetes manifest
	Manifest Kind = "manifest" // a Kubernetes object (one per file)
	JSON     Kind = "json"
	JSONL    Kind = "jsonl"
	Text     Kind = "text"
	DOT      Kind = "dot"
)

// Object identifies the Kubernetes object a Manifest file holds.
type Object struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

// File is one artifact.
type File struct {
	// Path is slash-separated and relative to the output root, e.g.
	// "equities-vwap/flink/job.sql". Never absolute, never "..".
	Path string
	Kind Kind
	Data []byte
	// Object is set for Manifest files.
	Object *Object
	// Pipeline (or workflow) the file belongs to; Target the backend name.
	Pipeline string
	Target   string
}

// Set is a collection of files.
type Set struct {
	Files []*File
}

// Add appends a file; paths are cleaned and must be relative.
func (s *Set) Add(f *File) {
	f.Path = path.Clean(f.Path)
	s.Files = append(s.Files, f)
}

// Merge appends other's files.
func (s *Set) Merge(other *Set) {
	if other != nil {
		s.Files = append(s.Files, other.Files...)
	}
}

// Sort orders files by path.
func (s *Set) Sort() {
	sort.SliceStable(s.Files, func(i, j int) bool { return s.Files[i].Path < s.Files[j].Path })
}

// Get returns the file at path p, or nil.
func (s *Set) Get(p string) *File {
	for _, f := range s.Files {
		if f.Path == p {
			return f
		}
	}
	return nil
}

// Validate checks that paths are relative, clean, and unique.
func (s *Set) Validate() error {
	seen := map[string]bool{}
	for _, f := range s.Files {
		if f.Path == "" || path.IsAbs(f.Path) || f.Path == ".." || strings.HasPrefix(f.Path, "../") || path.Clean(f.Path) != f.Path {
			return fmt.Errorf("artifact: bad path %q", f.Path)
		}
		if seen[f.Path] {
			return fmt.Errorf("artifact: two files at %q", f.Path)
		}
		seen[f.Path] = true
	}
	return nil
}

// WriteDir writes every file under dir, creating directories. Only the CLI
// and plan/apply drivers call it.
func (s *Set) WriteDir(dir string) error {
	if err := s.Validate(); err != nil {
		return err
	}
	for _, f := range s.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
