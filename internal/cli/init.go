package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"rtsap.dev/rtsapc/lang/cuespec"
)

func init() {
	register(&Command{
		Name:  "init",
		Usage: "rtsapc init [DIR]",
		Short: "set up a folder so cue and editors validate specs offline",
		Long: `Init writes the rtsap schema (the CUE module rtsap.dev/rtsap embedded in
this binary) to DIR/cue.mod/pkg/rtsap.dev/rtsap/, and DIR/cue.mod/module.cue
when there is none, so that the standard cue command (cue vet, cue export)
and CUE editor tooling resolve import "rtsap.dev/rtsap" without a registry.

The schema files are replaced on every run, so running init again after
upgrading rtsapc updates them; an existing module.cue is left alone.
rtsapc itself does not need init: it always uses its embedded schema.`,
		Run: runInit,
	})
}

func runInit(_ context.Context, env *Env, _ *flag.FlagSet, args []string) int {
	if len(args) > 1 {
		fmt.Fprintf(env.Stderr, "rtsapc init: at most one directory, got %d\nusage: rtsapc init [DIR]\n", len(args))
		return ExitUsage
	}
	dir := env.Dir
	if len(args) == 1 {
		dir = env.abs(args[0])
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(env.Stderr, "rtsapc init: %v\n", err)
		return ExitError
	}
	files := cuespec.Overlay(false)
	modFile := filepath.Join(dir, "cue.mod", "module.cue")
	if _, err := os.Stat(modFile); os.IsNotExist(err) {
		files["cue.mod/module.cue"] = []byte(moduleFile(dir))
	}
	// Stale schema files from an older rtsapc would shadow nothing but
	// confuse: the schema directory is rewritten whole.
	schemaDir := filepath.Join(dir, "cue.mod", "pkg", "rtsap.dev", "rtsap")
	if err := os.RemoveAll(schemaDir); err != nil {
		fmt.Fprintf(env.Stderr, "rtsapc init: %v\n", err)
		return ExitError
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fmt.Fprintf(env.Stderr, "rtsapc init: %v\n", err)
			return ExitError
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			fmt.Fprintf(env.Stderr, "rtsapc init: %v\n", err)
			return ExitError
		}
	}
	rel := func(p string) string {
		if r, err := filepath.Rel(env.Dir, p); err == nil {
			return r
		}
		return p
	}
	if _, ok := files["cue.mod/module.cue"]; ok {
		fmt.Fprintf(env.Stdout, "wrote %s\n", rel(modFile))
	}
	fmt.Fprintf(env.Stdout, "wrote the rtsap schema (%d files) to %s\n", len(files)-btoi(files["cue.mod/module.cue"] != nil), rel(schemaDir))
	return ExitOK
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

var notModuleChar = regexp.MustCompile(`[^a-z0-9-]+`)

// moduleFile is a module.cue for a spec folder: the module path is derived
// from the folder name (CUE module paths are lower-case path elements).
func moduleFile(dir string) string {
	name := strings.Trim(notModuleChar.ReplaceAllString(strings.ToLower(filepath.Base(dir)), "-"), "-")
	if name == "" {
		name = "spec"
	}
	return fmt.Sprintf("module: %q\nlanguage: version: \"v0.17.0\"\n", "rtsap.local/"+name)
}
