package k8s

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/internal/crd"
	"rtsap.dev/rtsapc/lang/diag"
)

// SchemasSetting is the backend setting naming the folder of upstream CRDs
// (layout of ../shared/schemas); without it, [crd.FindSchemas] decides.
const SchemasSetting = "k8s.schemas"

// crdDirs maps an API group to the schema folders whose CRDs must all
// accept its objects (Argo: both the v3.7 module's CRDs and v4's).
var crdDirs = map[string][]string{
	"flink.apache.org":     {"flink"},
	"sparkoperator.k8s.io": {"spark"},
	"argoproj.io":          {"argo", filepath.Join("argo", "v4.1.2")},
}

// SchemasDir returns the CRD folder to validate against, or "" when none is
// available.
func SchemasDir(opts *backends.Options) string { return SchemasDirFrom(opts, "") }

// SchemasDirFrom is SchemasDir that also searches upward from root (the
// spec directory, ir.Program.Root) when the working directory has none.
func SchemasDirFrom(opts *backends.Options, root string) string {
	if d := opts.Setting(SchemasSetting, ""); d != "" {
		return d
	}
	if d, ok := crd.FindSchemas(); ok {
		return d
	}
	if root != "" && os.Getenv(crd.SchemasEnv) == "" {
		if d, ok := crd.FindSchemasFrom(root); ok {
			return d
		}
	}
	return ""
}

// Validate checks every Manifest file in files: metadata as the API server
// checks any object, ConfigMap data keys, and custom resources against their
// CRDs. A failure is a diag.InvalidArtifact error (a bug in the backend that
// emitted it: nothing may be written). When no CRD folder is available, one
// warning says that CRD validation was skipped.
func Validate(files []*artifact.File, opts *backends.Options) diag.Diagnostics {
	return ValidateFrom(files, opts, "")
}

// ValidateFrom is Validate with the CRD folder found by SchemasDirFrom.
func ValidateFrom(files []*artifact.File, opts *backends.Options, root string) diag.Diagnostics {
	var ds diag.Diagnostics
	dir := SchemasDirFrom(opts, root)
	warned := false
	for _, f := range files {
		if f.Kind != artifact.Manifest {
			continue
		}
		obj, err := Decode(f.Data)
		if err != nil {
			ds = ds.Append(invalid(f, []string{err.Error()}))
			continue
		}
		var msgs []string
		av, _ := obj["apiVersion"].(string)
		group := ""
		if i := strings.Index(av, "/"); i > 0 {
			group = av[:i]
		}
		dirs, isCR := crdDirs[group]
		switch {
		case !isCR:
			for _, e := range crd.ValidateMeta(obj, true) {
				msgs = append(msgs, e.Error())
			}
			msgs = append(msgs, validateCore(obj)...)
		case dir == "":
			if !warned {
				warned = true
				ds = ds.Append(diag.Warningf(diag.ValidationSkipped, diag.Range{}, "CRD validation skipped",
					"No folder of upstream CRDs was found (set --set %s=DIR or $%s, or place them at ../shared/schemas), so the custom resources written were not validated against their CRDs.",
					SchemasSetting, crd.SchemasEnv))
			}
			for _, e := range crd.ValidateMeta(obj, true) {
				msgs = append(msgs, e.Error())
			}
		default:
			for _, sub := range dirs {
				set, err := crd.Cached(filepath.Join(dir, sub))
				if err != nil {
					msgs = append(msgs, fmt.Sprintf("loading CRDs from %s: %v", filepath.Join(dir, sub), err))
					continue
				}
				for _, e := range set.Validate(obj) {
					m := e.Error()
					if len(dirs) > 1 {
						m = sub + ": " + m
					}
					msgs = append(msgs, m)
				}
			}
		}
		if len(msgs) > 0 {
			sort.Strings(msgs)
			ds = ds.Append(invalid(f, msgs))
		}
	}
	return ds
}

func invalid(f *artifact.File, msgs []string) *diag.Diagnostic {
	return diag.Errorf(diag.InvalidArtifact, diag.Range{}, "Generated manifest is invalid",
		"%s does not validate (a bug in rtsapc; nothing was written):\n  %s", f.Path, strings.Join(msgs, "\n  "))
}

// validateCore checks what the API server checks for the core kinds the
// backends emit beyond metadata.
func validateCore(obj map[string]any) []string {
	var msgs []string
	if k, _ := obj["kind"].(string); k == "ConfigMap" {
		data, _ := obj["data"].(map[string]any)
		for key := range data {
			if !secretKeyRe.MatchString(key) || len(key) > 253 {
				msgs = append(msgs, fmt.Sprintf("data[%q]: a valid config key must consist of alphanumeric characters, '-', '_' or '.'", key))
			}
		}
	}
	if size := configMapSize(obj); size > 1<<20 {
		msgs = append(msgs, fmt.Sprintf("data: Too long: a ConfigMap holds at most 1 MiB, this one %d bytes", size))
	}
	return msgs
}

func configMapSize(obj map[string]any) int {
	n := 0
	if data, ok := obj["data"].(map[string]any); ok {
		for k, v := range data {
			s, _ := v.(string)
			n += len(k) + len(s)
		}
	}
	return n
}
