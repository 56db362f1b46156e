package crd

import (
	"os"
	"path/filepath"
)

// SchemasEnv names the environment variable that points at the folder of
// upstream schemas (the layout of ../shared/schemas: flink/, spark/, argo/…).
const SchemasEnv = "RTSAPC_SCHEMAS"

// FindSchemas returns the upstream schema folder: $RTSAPC_SCHEMAS when set,
// else "../shared/schemas" next to the repository holding the working
// directory (found by walking up to go.mod), else "shared/schemas" in the
// working directory or any parent. ok is false when none exists.
func FindSchemas() (dir string, ok bool) {
	if d := os.Getenv(SchemasEnv); d != "" {
		return d, isDir(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	return FindSchemasFrom(wd)
}

// FindSchemasFrom is FindSchemas' search starting at start instead of the
// working directory (the spec directory, say), ignoring $RTSAPC_SCHEMAS.
func FindSchemasFrom(start string) (dir string, ok bool) {
	start, err := filepath.Abs(start)
	if err != nil {
		return "", false
	}
	for d := start; ; {
		if isFile(filepath.Join(d, "go.mod")) {
			if c := filepath.Join(d, "..", "shared", "schemas"); isDir(c) {
				return filepath.Clean(c), true
			}
		}
		if c := filepath.Join(d, "shared", "schemas"); isDir(c) {
			return c, true
		}
		p := filepath.Dir(d)
		if p == d {
			return "", false
		}
		d = p
	}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
