// Package compiler lowers a spec model (lang/spec) to the typed IR
// (compiler/ir) and runs the pass table of compiler/passes over every
// pipeline: resolve, infer, check, then the optimisations. Workflows are
// resolved against the compiled pipelines; environments are copied.
//
// Compile never stops at the first problem: it returns a best-effort
// program with every diagnostic, sorted.
package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"rtsap.dev/rtsapc/compiler/duration"
	"rtsap.dev/rtsapc/compiler/expr"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/passes"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// Config controls compilation; the zero value works.
type Config struct {
	// Check runs ir.Verify after every pass (tests always set it).
	Check bool
	// Env selects an environment by name ("" = none).
	Env string
	// Disable names optional passes to skip.
	Disable []string
	// After, when set, is called after each pass with the pipeline as it
	// stands (for `-d=ir/dump=PASS` style dumps; print with ir.Sprint).
	// Additive: the zero value does nothing.
	After func(pass string, p *ir.Pipeline)
}

// Compile lowers f to IR and runs the pass table. It returns a partial
// program together with every problem found.
func Compile(f *spec.File, cfg *Config) (*ir.Program, diag.Diagnostics) {
	if cfg == nil {
		cfg = &Config{}
	}
	prog := &ir.Program{}
	if f == nil {
		return prog, nil
	}
	c := &compiler{f: f, cfg: cfg, prog: prog, checker: expr.NewChecker()}
	pc := &passes.Config{Check: cfg.Check, Disable: cfg.Disable, After: cfg.After}
	c.ds = append(c.ds, pc.Validate()...)
	c.provenance()
	c.pipelines(pc)
	c.workflows()
	c.environments()
	if cfg.Check {
		if err := ir.Verify(prog); err != nil && !c.ds.HasErrors() {
			c.ds = append(c.ds, diag.Errorf(diag.InternalError, diag.Range{}, "Internal error", "invalid IR: %v", err))
		}
	}
	return prog, c.ds.Sort()
}

type compiler struct {
	f       *spec.File
	cfg     *Config
	prog    *ir.Program
	checker *expr.Checker
	ds      diag.Diagnostics
}

func (c *compiler) errorf(code diag.Code, r diag.Range, summary, format string, args ...any) {
	c.ds = append(c.ds, diag.Errorf(code, r, summary, format, args...))
}

// provenance records the spec files and their digest.
func (c *compiler) provenance() {
	c.prog.Root = c.f.Root
	var names []string
	for name := range c.f.Sources {
		names = append(names, name)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(c.f.Sources[name]))
		h.Write(c.f.Sources[name])
	}
	c.prog.Files = names
	c.prog.SpecDigest = hex.EncodeToString(h.Sum(nil))
}

func (c *compiler) pipelines(pc *passes.Config) {
	seen := map[string]*spec.Pipeline{}
	for _, sp := range c.f.Pipelines {
		name := sp.Name.Value
		if prev, dup := seen[name]; dup {
			d := diag.Errorf(diag.DuplicateName, sp.Name.Range, "Duplicate pipeline", "Pipeline %q is declared twice (in one or more packages); rename one.", name)
			d.Related = []diag.Related{{Message: "first declared here", Range: prev.Name.Range}}
			c.ds = append(c.ds, d)
			continue
		}
		seen[name] = sp
		p := c.envelope(sp)
		if sp.Invalid {
			// The front-end reported why its nodes are unknown; keep the
			// name for workflows and check nothing more.
			c.prog.Pipelines = append(c.prog.Pipelines, p)
			continue
		}
		u := passes.NewUnit(sp, p, c.checker)
		passes.Run(u, pc)
		c.ds = append(c.ds, u.Diags...)
		c.prog.Pipelines = append(c.prog.Pipelines, p)
	}
	sort.SliceStable(c.prog.Pipelines, func(i, j int) bool { return c.prog.Pipelines[i].Name < c.prog.Pipelines[j].Name })
}

var engines = []string{"flink", "spark", "beam", "nifi"}

// envelope builds the pipeline's header: everything but the nodes.
func (c *compiler) envelope(sp *spec.Pipeline) *ir.Pipeline {
	p := &ir.Pipeline{Name: sp.Name.Value, Owner: sp.Owner.Value, Description: sp.Description.Value,
		Engine: sp.Engine.Value, Pos: sp.Range, SpecFile: sp.Range.Filename}
	switch sp.Mode.Value {
	case "", string(ir.Streaming):
		p.Mode = ir.Streaming
	case string(ir.Batch):
		p.Mode = ir.Batch
	default:
		p.Mode = ir.Streaming
		c.errorf(diag.InvalidOption, sp.Mode.Range, "Invalid option", "mode %q is not streaming or batch.%s", sp.Mode.Value, diag.DidYouMean(sp.Mode.Value, []string{"streaming", "batch"}))
	}
	if p.Engine != "" && !contains(engines, p.Engine) {
		c.errorf(diag.InvalidOption, sp.Engine.Range, "Invalid option", "engine %q is not one of %s.%s", p.Engine, strings.Join(engines, ", "), diag.DidYouMean(p.Engine, engines))
	}
	for _, kv := range sp.Labels {
		p.Labels = append(p.Labels, ir.KV{Key: kv.Key, Value: kv.Value})
	}
	sort.SliceStable(p.Labels, func(i, j int) bool { return p.Labels[i].Key < p.Labels[j].Key })
	d := sp.Deploy
	p.Deploy = ir.Deploy{
		Parallelism: int(d.Parallelism.Value), MaxParallelism: int(d.MaxParallelism.Value),
		CPU: d.Resources.CPU.Value, Memory: d.Resources.Memory.Value, Replicas: int(d.Resources.Replicas.Value),
		Image: d.Image.Value, ImagePos: d.Image.Range,
		Checkpoint: ir.Checkpoint{Interval: c.dur(d.Checkpoint.Interval, "checkpoint interval"), Dir: d.Checkpoint.Dir.Value,
			SavepointDir: d.Checkpoint.SavepointDir.Value, Mode: d.Checkpoint.Mode.Value,
			StateBackend: d.Checkpoint.StateBackend.Value, UpgradeMode: d.Checkpoint.UpgradeMode.Value},
	}
	for _, n := range []spec.Int{d.Parallelism, d.MaxParallelism, d.Resources.Replicas} {
		if n.Set && n.Value < 1 {
			c.errorf(diag.InvalidOption, n.Range, "Invalid option", "Must be ≥ 1; got %d.", n.Value)
		}
	}
	for _, kv := range d.Config {
		p.Deploy.Config = append(p.Deploy.Config, ir.KV{Key: kv.Key, Value: kv.Value})
	}
	sort.SliceStable(p.Deploy.Config, func(i, j int) bool { return p.Deploy.Config[i].Key < p.Deploy.Config[j].Key })
	return p
}

func (c *compiler) dur(d spec.Duration, what string) (v durationT) {
	if d.Value == "" {
		return 0
	}
	x, err := duration.Parse(d.Value)
	if err != nil {
		c.errorf(diag.BadDuration, d.Range, "Bad duration", "%s: %v. Write durations like \"250ms\", \"5s\", \"1m\", \"1h30m\" or \"1d\".", what, err)
		return 0
	}
	return x
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
