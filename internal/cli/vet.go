package cli

import (
	"context"
	"flag"
	"fmt"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/all"
)

func init() {
	register(&Command{
		Name:  "vet",
		Usage: "rtsapc vet [--format text|json] [--env ENV] PATH...",
		Short: "type-check specs and report every problem",
		Long: `Vet loads the CUE packages at PATH (directories, .cue files, or patterns
such as ./...), checks them against the rtsap schema, infers record types
through every pipeline, and type-checks every expression. All problems are
reported at once, sorted by position, each with a stable code.

Exit status: 0 when clean (warnings allowed), 1 when there are errors,
2 on bad usage.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("format", "text", "output format: text or json")
			fs.String("env", "", "environment overlay to apply")
		},
		Run: runVet,
	})
}

func runVet(_ context.Context, env *Env, fs *flag.FlagSet, args []string) int {
	format := fs.Lookup("format").Value.String()
	if format != "text" && format != "json" {
		fmt.Fprintf(env.Stderr, "rtsapc vet: --format must be text or json, not %q\n", format)
		return ExitUsage
	}
	prog, f, ds := loadAndCompile(env, loadOptions{Env: fs.Lookup("env").Value.String()}, args)
	if prog != nil && !ds.HasErrors() {
		// Capability checks of each pipeline's own engine (patterns on Spark,
		// windows on NiFi, …) are part of vetting a spec.
		ds = ds.Extend(all.Default().Check(prog, &backends.Options{Version: Version})).Sort()
	}
	printDiagnostics(env, f, ds, format)
	if ds.HasErrors() {
		return ExitError
	}
	return ExitOK
}
