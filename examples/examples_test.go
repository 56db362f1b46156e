// Package examples holds the example specs; this test vets each one through
// the CUE front-end and checks what it must contain.
package examples

import (
	"os"
	"path/filepath"
	"testing"

	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/lang/cuespec"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// names are the examples; each directory is one CUE package.
var names = []string{
	"equities-vwap",
	"news-sentiment",
	"nightly-backtest",
	"price-patterns",
	"trades-quotes-spread",
	"volatility-alerts",
}

func load(t *testing.T, name, env string) *spec.File {
	t.Helper()
	wd, _ := os.Getwd()
	f, ds := cuespec.Load(&cuespec.Config{Dir: wd, Env: env}, []string{"./" + name})
	for _, d := range ds {
		t.Errorf("%s", d.Error())
	}
	return f
}

func TestExamplesLoadClean(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) != len(names) {
		t.Errorf("example directories %v, want %v", dirs, names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f := load(t, name, "")
			if len(f.Pipelines) == 0 {
				t.Fatal("no pipelines")
			}
			for _, p := range f.Pipelines {
				if len(p.Nodes) < 3 {
					t.Errorf("pipeline %s: %d nodes", p.Name.Value, len(p.Nodes))
				}
				for _, n := range p.Nodes {
					if !n.Range.IsValid() || filepath.IsAbs(n.Range.Filename) {
						t.Errorf("node %s: range %v", n.Name.Value, n.Range)
					}
					if n.Kind.Value == "" {
						t.Errorf("node %s: no kind", n.Name.Value)
					}
				}
			}
			if len(f.Sources) == 0 {
				t.Error("no sources recorded")
			}
		})
	}
}

// TestExamplesCoverTheLanguage checks that the examples, together, use what
// the brief asks of them.
func TestExamplesCoverTheLanguage(t *testing.T) {
	kinds := map[string]bool{}
	connectors := map[string]bool{}
	engines := map[string]bool{}
	windows := map[string]bool{}
	secrets, deadLetters, workflows, envs := 0, 0, 0, 0
	for _, name := range names {
		f := load(t, name, "")
		workflows += len(f.Workflows)
		envs += len(f.Environments)
		for _, p := range f.Pipelines {
			engines[p.Engine.Value] = true
			for _, n := range p.Nodes {
				kinds[n.Kind.Value] = true
				var c *spec.Connector
				switch {
				case n.Source != nil:
					c = &n.Source.Connector
					if n.Source.OnError.Policy.Value == "deadletter" {
						deadLetters++
					}
				case n.Sink != nil:
					c = &n.Sink.Connector
				case n.Aggregate != nil && n.Aggregate.Window != nil:
					windows[n.Aggregate.Window.Kind.Value] = true
				}
				if c != nil {
					connectors[c.Kind.Value] = true
					for _, o := range c.Options {
						if _, ok := o.Value.(*spec.Secret); ok {
							secrets++
						}
					}
				}
			}
		}
	}
	for _, k := range []string{"source", "sink", "filter", "map", "aggregate", "rolling", "join", "pattern", "dedupe", "topn", "union"} {
		if !kinds[k] {
			t.Errorf("no example uses %s", k)
		}
	}
	for _, c := range []string{"kafka", "timescale", "postgres", "mongodb", "qdrant", "http", "s3"} {
		if !connectors[c] {
			t.Errorf("no example uses connector %s", c)
		}
	}
	for _, e := range []string{"flink", "spark", "beam", "nifi"} {
		if !engines[e] {
			t.Errorf("no example uses engine %s", e)
		}
	}
	if !windows["tumble"] || !windows["hop"] || !windows["session"] || !windows["cumulate"] {
		t.Errorf("windows used: %v", windows)
	}
	if secrets == 0 || deadLetters == 0 || workflows == 0 || envs < 2 {
		t.Errorf("secrets %d, dead letters %d, workflows %d, environments %d", secrets, deadLetters, workflows, envs)
	}
}

// TestEnvironmentOverlay checks that --env prod unifies the prod overlay.
func TestEnvironmentOverlay(t *testing.T) {
	base := load(t, "equities-vwap", "")
	prod := load(t, "equities-vwap", "prod")
	if len(base.Pipelines) != 1 || len(prod.Pipelines) != 1 {
		t.Fatal("want one pipeline")
	}
	if got := base.Pipelines[0].Deploy.Parallelism.Value; got != 4 {
		t.Errorf("base parallelism %d, want 4", got)
	}
	if got := prod.Pipelines[0].Deploy.Parallelism.Value; got != 12 {
		t.Errorf("prod parallelism %d, want 12", got)
	}
	if got := prod.Pipelines[0].Deploy.Resources.Replicas.Value; got != 6 {
		t.Errorf("prod replicas %d, want 6", got)
	}
}

// TestExamplesCompile runs the compiler over every example, as `rtsapc vet`
// does: the examples must be clean, not only well-formed.
func TestExamplesCompile(t *testing.T) {
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f := load(t, name, "")
			_, ds := compiler.Compile(f, &compiler.Config{Check: true})
			for _, d := range ds {
				if d.Severity == diag.Error {
					t.Errorf("%s", d.Error())
				}
			}
		})
	}
}
