package cli

import (
	"context"
	"flag"
	"fmt"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

func init() {
	register(&Command{
		Name:  "lineage",
		Usage: "rtsapc lineage [--format json|dot|mermaid|text] [--env ENV] [--pipeline NAME] [--set K=V] PATH...",
		Short: "print the OpenLineage events or the lineage graph the compiler derives",
		Long: `Lineage compiles the specs like vet and derives, for every pipeline, the
OpenLineage declarations that 'rtsapc build' writes to
<pipeline>/openlineage/: a JobEvent with the job's inputs and outputs and
exact column-level lineage, the build's declaration RunEvent, and a
DatasetEvent per output.

Formats:
  json     one event per line (JSON Lines), ready to POST or replay
  dot      the dataset/job graph with columns, for Graphviz
  mermaid  the same graph as a Mermaid flowchart
  text     the column lineage, one line per output column and input field

Dataset names follow the OpenLineage naming spec and take hosts from the
connectors or from the environment selected with --env.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("format", "json", "output format: json, dot, mermaid or text")
			fs.String("env", "", "environment overlay to apply (connection settings name the datasets)")
			fs.String("pipeline", "", "only this pipeline")
			fs.Var(&settingsFlag{}, "set", "setting key=value (repeatable), as for build: openlineage.namespace, openlineage.repoURL, …")
		},
		Run: runLineage,
	})
}

func runLineage(_ context.Context, env *Env, fs *flag.FlagSet, args []string) int {
	format := fs.Lookup("format").Value.String()
	switch format {
	case "json", "dot", "mermaid", "text":
	default:
		fmt.Fprintf(env.Stderr, "rtsapc lineage: --format must be json, dot, mermaid or text, not %q\n", format)
		return ExitUsage
	}
	envName := fs.Lookup("env").Value.String()
	prog, f, ds := loadAndCompile(env, loadOptions{Env: envName}, args)
	if ds.HasErrors() || prog == nil {
		printDiagnostics(env, f, ds, "text")
		return ExitError
	}
	opts := &backends.Options{Version: Version, Settings: fs.Lookup("set").Value.(*settingsFlag).m}
	if envName != "" {
		for _, e := range prog.Environments {
			if e.Name == envName {
				opts.Env = e
			}
		}
	}
	only := fs.Lookup("pipeline").Value.String()
	var pipelines []*ir.Pipeline
	for _, p := range prog.Pipelines {
		if only == "" || p.Name == only {
			pipelines = append(pipelines, p)
		}
	}
	if only != "" && len(pipelines) == 0 {
		var names []string
		for _, p := range prog.Pipelines {
			names = append(names, p.Name)
		}
		fmt.Fprintf(env.Stderr, "rtsapc lineage: no pipeline %q%s\n", only, diag.DidYouMean(only, names))
		return ExitError
	}
	var jobs []*ol.JobEvent
	for _, p := range pipelines {
		st, sds := openlineage.Build(prog, p, opts)
		ds = ds.Extend(sds)
		jobs = append(jobs, &st.Job)
		if format != "json" {
			continue
		}
		events := []any{st.Job, st.Run}
		for _, d := range st.Datasets {
			events = append(events, d)
		}
		for _, ev := range events {
			line, err := openlineage.MarshalLine(ev)
			if err != nil {
				fmt.Fprintf(env.Stderr, "rtsapc lineage: %v\n", err)
				return ExitError
			}
			env.Stdout.Write(line)
		}
	}
	switch format {
	case "dot":
		env.Stdout.Write(openlineage.DOT(jobs))
	case "mermaid":
		env.Stdout.Write(openlineage.Mermaid(jobs))
	case "text":
		for _, j := range jobs {
			env.Stdout.Write(openlineage.Text(j))
		}
	}
	printDiagnostics(env, f, ds.Sort(), "text")
	return ExitOK
}
