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
		Usage: "rtsapc vet [--format text|json] [--env ENV] [--set key=value] PATH...",
		Short: "type-check specs and report every problem",
		Long: `Vet loads the CUE packages at PATH (directories, .cue files, or patterns
such as ./...), checks them against the rtsap schema, infers record types
through every pipeline, and type-checks every expression. All problems are
reported at once, sorted by position, each with a stable code. It then
runs the capability checks of each pipeline's engine and the program-wide
checks of the backends that build from the whole program (Argo: workflow
steps, schedules, timezones, retries), with the same --env and --set as
build.

Exit status: 0 when clean (warnings allowed), 1 when there are errors,
2 on bad usage.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("format", "text", "output format: text or json")
			fs.String("env", "", "environment overlay to apply")
			fs.Var(&settingsFlag{}, "set", "backend setting key=value (repeatable), as for build")
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
	envName := fs.Lookup("env").Value.String()
	prog, f, ds := loadAndCompile(env, loadOptions{Env: envName}, args)
	if prog != nil && !ds.HasErrors() {
		// Capability checks of each pipeline's own engine (patterns on Spark,
		// windows on NiFi, …) and of the program-wide backends (argo's
		// workflows) are part of vetting a spec; they see the options build
		// would pass.
		opts := &backends.Options{Version: Version, Settings: fs.Lookup("set").Value.(*settingsFlag).m}
		for _, e := range prog.Environments {
			if e.Name == envName && envName != "" {
				opts.Env = e
			}
		}
		ds = ds.Extend(all.Default().Check(prog, opts)).Sort()
	}
	printDiagnostics(env, f, ds, format)
	if ds.HasErrors() {
		return ExitError
	}
	return ExitOK
}
