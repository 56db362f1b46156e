// Package backends defines the backend descriptor and the registry. A backend
// turns a checked, frozen IR into artifacts in memory. Backends never see
// CUE or HCL, never print, and never write files.
//
// The first-party backends are listed explicitly in package backends/all.
package backends

import (
	"fmt"
	"sort"
	"time"

	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// Scope says what a backend generates from.
type Scope uint8

const (
	// PerPipeline backends (beam, flink, spark, nifi) emit files for each
	// pipeline they can express, under "<pipeline>/<backend>/".
	PerPipeline Scope = iota + 1
	// PerProgram backends (argo, openlineage) emit from the whole program:
	// argo under "<workflow>/argo/", openlineage under "<pipeline>/openlineage/".
	PerProgram
)

// Backend is a descriptor value (after x/tools' analysis.Analyzer).
type Backend struct {
	// Name is the --target name and the folder name of its artifacts.
	Name string
	// Doc: a title line (no capital, no period), a blank line, details.
	Doc   string
	Scope Scope
	// Check reports what the backend cannot express exactly in pipeline p,
	// as errors positioned at the spec node (UnsupportedOperator, …). Nil
	// means everything is supported. Check never mutates p.
	Check func(p *ir.Pipeline, opts *Options) diag.Diagnostics
	// CheckProgram reports what a PerProgram backend cannot express in the
	// program (argo: its workflows), as errors positioned at the spec node.
	// Registry.Check runs it, so vet reports it; nil means nothing to
	// check. It never mutates p.
	CheckProgram func(p *ir.Program, opts *Options) diag.Diagnostics
	// Generate emits the artifacts. For PerPipeline backends, Pipelines holds
	// the pipelines that passed Check; for PerProgram backends, all of them.
	// Diagnostics with errors mean nothing may be written.
	Generate func(g *Gen) (*artifact.Set, diag.Diagnostics)
}

// Options are settings every backend may read; the zero value works.
type Options struct {
	// Env is the selected environment, or nil.
	Env *ir.Environment
	// Version is rtsapc's version, written into provenance annotations.
	Version string
	// Now returns the current time; tests set a fixed clock so output is
	// deterministic. Nil means a fixed zero time is used (builds are
	// reproducible by default).
	Now func() time.Time
	// Settings are backend settings from flags (e.g. "flink.sqlRunnerJar",
	// "beam.runtimeModule"), sorted lookups via Setting.
	Settings map[string]string
}

// Setting returns a setting or def.
func (o *Options) Setting(key, def string) string {
	if o != nil && o.Settings != nil {
		if v, ok := o.Settings[key]; ok {
			return v
		}
	}
	return def
}

// Time returns Now() or the Unix epoch when Now is nil.
func (o *Options) Time() time.Time {
	if o != nil && o.Now != nil {
		return o.Now()
	}
	return time.Unix(0, 0).UTC()
}

// Gen is the input of Generate.
type Gen struct {
	Program   *ir.Program
	Pipelines []*ir.Pipeline
	Options   *Options
}

// Registry holds backends by name.
type Registry struct {
	byName map[string]*Backend
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byName: map[string]*Backend{}} }

// Register adds a backend; names must be unique.
func (r *Registry) Register(b *Backend) error {
	if b.Name == "" || b.Generate == nil || b.Scope == 0 {
		return fmt.Errorf("backends: incomplete backend %q", b.Name)
	}
	if _, ok := r.byName[b.Name]; ok {
		return fmt.Errorf("backends: %q registered twice", b.Name)
	}
	r.byName[b.Name] = b
	return nil
}

// MustRegister is Register that panics.
func (r *Registry) MustRegister(b *Backend) {
	if err := r.Register(b); err != nil {
		panic(err)
	}
}

// Lookup returns the backend named name.
func (r *Registry) Lookup(name string) (*Backend, bool) {
	b, ok := r.byName[name]
	return b, ok
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	var out []string
	for n := range r.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Clone returns a copy that can be changed independently (tests).
func (r *Registry) Clone() *Registry {
	c := NewRegistry()
	for n, b := range r.byName {
		c.byName[n] = b
	}
	return c
}

// Generate runs the named targets over the program.
//
// Selection rule: a PerPipeline backend runs Check on every pipeline. For a
// pipeline whose declared engine is this backend, capability problems are
// errors. For other pipelines (an extra target asked with --target), they
// become one warning "pipeline P skipped for target T" and the pipeline is
// left out: a spec never silently changes meaning, and asking for every
// target over many specs still works.
//
// Output is sorted by path; an error anywhere means the Set must not be
// written.
func (r *Registry) Generate(p *ir.Program, targets []string, opts *Options) (*artifact.Set, diag.Diagnostics) {
	var ds diag.Diagnostics
	out := &artifact.Set{}
	if opts == nil {
		opts = &Options{}
	}
	for _, t := range targets {
		b, ok := r.Lookup(t)
		if !ok {
			ds = ds.Append(diag.Errorf(diag.UnknownTarget, diag.Range{}, "Unknown target",
				"There is no backend named %q. Known targets: %v.%s", t, r.Names(), diag.DidYouMean(t, r.Names())))
			continue
		}
		g := &Gen{Program: p, Options: opts}
		for _, pl := range p.Pipelines {
			if b.Scope == PerPipeline && b.Check != nil {
				cds := attributeLibrary([]*ir.Pipeline{pl}, safeCheck(b, pl, opts))
				if cds.HasErrors() {
					if pl.Engine == b.Name {
						ds = ds.Extend(cds)
					} else {
						first := cds.Errs()[0]
						ds = ds.Append(&diag.Diagnostic{Severity: diag.Warning, Code: first.Code,
							Summary: fmt.Sprintf("Pipeline %q skipped for target %s", pl.Name, b.Name),
							Detail:  fmt.Sprintf("The pipeline's engine is %s; %s cannot express it exactly (%s): %s", pl.Engine, b.Name, first.Summary, first.Detail),
							Subject: first.Subject})
					}
					continue
				}
				ds = ds.Extend(cds)
			}
			g.Pipelines = append(g.Pipelines, pl)
		}
		set, gds := safeGenerate(b, g)
		ds = ds.Extend(attributeLibrary(g.Pipelines, gds))
		if set != nil {
			for _, f := range set.Files {
				if f.Target == "" {
					f.Target = b.Name
				}
			}
			out.Merge(set)
		}
	}
	out.Sort()
	if err := out.Validate(); err != nil {
		ds = ds.Append(diag.Errorf(diag.InternalError, diag.Range{}, "Invalid artifact set", "%v", err))
	}
	return out, ds
}

// safeGenerate turns a backend panic into an internal-error diagnostic.
func safeGenerate(b *Backend, g *Gen) (set *artifact.Set, ds diag.Diagnostics) {
	defer func() {
		if r := recover(); r != nil {
			set = nil
			ds = ds.Append(diag.Errorf(diag.InternalError, diag.Range{}, "Internal error",
				"backend %s panicked: %v. This is a bug in rtsapc; please report it with the spec.", b.Name, r))
		}
	}()
	return b.Generate(g)
}

// Check runs, for every pipeline, the capability check of the backend named
// by the pipeline's engine, so vet reports what the declared engine cannot
// express without building anything. Pipelines whose engine has no
// registered backend are left to the compiler's own checks. Then it runs
// the CheckProgram of every registered backend that has one (in name
// order): those backends are built by default (argo for workflows).
func (r *Registry) Check(p *ir.Program, opts *Options) diag.Diagnostics {
	if opts == nil {
		opts = &Options{}
	}
	var ds diag.Diagnostics
	for _, pl := range p.Pipelines {
		b, ok := r.Lookup(pl.Engine)
		if !ok || b.Check == nil {
			continue
		}
		ds = ds.Extend(attributeLibrary([]*ir.Pipeline{pl}, safeCheck(b, pl, opts)))
	}
	for _, n := range r.Names() {
		if b := r.byName[n]; b.CheckProgram != nil {
			ds = ds.Extend(safeCheckProgram(b, p, opts))
		}
	}
	return ds
}

func safeCheckProgram(b *Backend, p *ir.Program, opts *Options) (ds diag.Diagnostics) {
	defer func() {
		if r := recover(); r != nil {
			ds = diag.Diagnostics{diag.Errorf(diag.InternalError, diag.Range{}, "Internal error",
				"backend %s panicked while checking the program: %v. This is a bug in rtsapc; please report it with the spec.", b.Name, r)}
		}
	}()
	return b.CheckProgram(p, opts)
}

func safeCheck(b *Backend, pl *ir.Pipeline, opts *Options) (ds diag.Diagnostics) {
	defer func() {
		if r := recover(); r != nil {
			ds = diag.Diagnostics{diag.Errorf(diag.InternalError, pl.Pos, "Internal error",
				"backend %s panicked while checking pipeline %q: %v. This is a bug in rtsapc; please report it with the spec.", b.Name, pl.Name, r)}
		}
	}()
	return b.Check(pl, opts)
}
