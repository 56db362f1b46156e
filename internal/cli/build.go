package cli

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/all"
	"rtsap.dev/rtsapc/compiler/ir"
)

func init() {
	register(&Command{
		Name:  "build",
		Usage: "rtsapc build [--target NAME,...] [-o DIR] [--env ENV] [--format text|json] PATH...",
		Short: "compile specs into artifacts for their engines",
		Long: `Build checks the specs like vet and, when they are clean, writes the
artifacts of every pipeline to DIR/<pipeline>/<target>/ (workflows to
DIR/<workflow>/argo/).

Without --target, each pipeline is built for its own engine, plus its
OpenLineage declarations, and workflows for Argo. With --target, the named
backends run over every pipeline; a pipeline whose engine differs and that
a target cannot express exactly is skipped with a warning. Nothing is
written when there is any error.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("target", "", "comma-separated backends (default: each pipeline's engine, openlineage, argo)")
			fs.String("o", "out", "output directory")
			fs.String("env", "", "environment overlay to apply")
			fs.String("format", "text", "diagnostics format: text or json")
			fs.Var(&settingsFlag{}, "set", "backend setting key=value (repeatable), e.g. flink.image=…")
		},
		Run: runBuild,
	})
}

// settingsFlag collects repeated --set key=value.
type settingsFlag struct{ m map[string]string }

func (s *settingsFlag) String() string { return "" }
func (s *settingsFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("--set wants key=value, got %q", v)
	}
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[k] = val
	return nil
}

// defaultTargets: each pipeline's engine, then openlineage and argo when
// registered.
func defaultTargets(p *ir.Program, reg *backends.Registry) []string {
	seen := map[string]bool{}
	var out []string
	for _, pl := range p.Pipelines {
		if _, ok := reg.Lookup(pl.Engine); ok && !seen[pl.Engine] {
			seen[pl.Engine] = true
			out = append(out, pl.Engine)
		}
	}
	sort.Strings(out)
	for _, t := range []string{"openlineage", "argo"} {
		if _, ok := reg.Lookup(t); ok {
			if t == "argo" && len(p.Workflows) == 0 {
				continue
			}
			out = append(out, t)
		}
	}
	return out
}

func runBuild(_ context.Context, env *Env, fs *flag.FlagSet, args []string) int {
	format := fs.Lookup("format").Value.String()
	prog, f, ds := loadAndCompile(env, loadOptions{Env: fs.Lookup("env").Value.String()}, args)
	if ds.HasErrors() {
		printDiagnostics(env, f, ds, format)
		return ExitError
	}
	reg := all.Default()
	var targets []string
	if t := fs.Lookup("target").Value.String(); t != "" {
		for _, x := range strings.Split(t, ",") {
			if x = strings.TrimSpace(x); x != "" {
				targets = append(targets, x)
			}
		}
	} else {
		targets = defaultTargets(prog, reg)
	}
	opts := &backends.Options{Version: Version, Settings: fs.Lookup("set").Value.(*settingsFlag).m}
	if name := fs.Lookup("env").Value.String(); name != "" {
		for _, e := range prog.Environments {
			if e.Name == name {
				opts.Env = e
			}
		}
	}
	set, gds := reg.Generate(prog, targets, opts)
	ds = ds.Extend(gds).Sort()
	printDiagnostics(env, f, ds, format)
	if ds.HasErrors() {
		return ExitError
	}
	outDir := env.abs(fs.Lookup("o").Value.String())
	if err := set.WriteDir(outDir); err != nil {
		fmt.Fprintf(env.Stderr, "rtsapc build: %v\n", err)
		return ExitError
	}
	if format != "json" {
		fmt.Fprintf(env.Stdout, "wrote %d files for %d pipelines to %s (targets: %s)\n",
			len(set.Files), len(prog.Pipelines), fs.Lookup("o").Value.String(), strings.Join(targets, ","))
	}
	return ExitOK
}
