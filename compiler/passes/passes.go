// Package passes is the compiler's pass table: it turns one spec pipeline
// into a typed, checked and optimised ir.Pipeline.
//
// The passes run in table order (after cmd/compile's ssa pass list). The
// first three are required and build the IR from the spec; the rest are
// optimisations that may be disabled by name and run only on a pipeline
// without errors. Ordering constraints are checked when the package loads.
// With Config.Check, [ir.VerifyPipeline] runs after every pass; a pass that
// panics is reported as an internal error naming the pass.
//
// NOTE: the optimisations rewrite expression trees (fused conditions,
// substituted map columns, pushed-down filters). The root's Text becomes
// CEL that lowers to the new tree (expr.Unparse); subexpressions keep the
// Pos and Text the user wrote, for messages, so their Text may name
// columns of a node that no longer feeds them. Evaluate the tree.
package passes

import (
	"fmt"
	"runtime/debug"

	"rtsap.dev/rtsapc/compiler/expr"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// Trace adds the Go stack to internal errors (set by tests).
var Trace = false

type pass struct {
	name     string
	fn       func(*Unit)
	required bool
	// typed: the IR is fully typed after this pass (verification includes
	// types from here on).
	typed bool
	// why is the one-line reason for the pass.
	why string
}

// passes lists the compiler passes in execution order.
var passes = [...]pass{
	{name: "resolve", fn: resolve, required: true,
		why: "bind names and `from` references to nodes, add side outputs, order the graph (dense IDs)"},
	{name: "infer", fn: infer, required: true, typed: true,
		why: "type every port through every operator; check and lower CEL to ir.Expr"},
	{name: "check", fn: check, required: true, typed: true,
		why: "checks that need every type: sink schemas and keys, unions, batch sources, unused nodes"},
	{name: "push filters", fn: pushFilters, typed: true,
		why: "map→filter reading only passed-through columns becomes filter→map: fewer records to compute"},
	{name: "fuse filters", fn: fuseFilters, typed: true,
		why: "filter→filter on one stream is one filter (a && b): one operator, one pass over the data"},
	{name: "fuse maps", fn: fuseMaps, typed: true,
		why: "map→map on one stream is one map (substituted expressions): no intermediate records"},
	{name: "prune columns", fn: pruneColumns, typed: true,
		why: "narrow source outputs and map columns to what downstream reads: less to decode and shuffle"},
	{name: "slice windows", fn: sliceWindows, typed: true,
		why: "aggregate hop windows as panes of the slide when exact: each record is added once, not size/slide times"},
}

// constraint says that pass a must run before pass b.
type constraint struct{ a, b, why string }

// passOrder documents ordering requirements; init panics if the table
// violates one.
var passOrder = [...]constraint{
	{"resolve", "infer", "infer walks the graph in topological order"},
	{"infer", "check", "check needs every port typed"},
	{"check", "push filters", "optimisations trust checked expressions"},
	{"push filters", "fuse filters", "a pushed filter may meet another filter"},
	{"push filters", "fuse maps", "a pushed filter may leave two maps adjacent"},
	{"fuse filters", "fuse maps", "a fused filter may sit between two maps that then fuse"},
	{"fuse maps", "prune columns", "pruning sees the fused maps' references"},
	{"check", "slice windows", "panes need checked aggregate functions"},
}

func init() {
	idx := map[string]int{}
	for i, p := range passes {
		if _, dup := idx[p.name]; dup {
			panic("passes: duplicate pass " + p.name)
		}
		idx[p.name] = i
	}
	for _, c := range passOrder {
		ia, oka := idx[c.a]
		ib, okb := idx[c.b]
		if !oka || !okb {
			panic(fmt.Sprintf("passes: constraint names unknown pass: %q before %q", c.a, c.b))
		}
		if ia >= ib {
			panic(fmt.Sprintf("passes: %q must run before %q (%s)", c.a, c.b, c.why))
		}
	}
}

// Names lists the passes in order, for --help and tests.
func Names() []string {
	out := make([]string, len(passes))
	for i, p := range passes {
		out[i] = p.name
	}
	return out
}

// Required reports whether the named pass cannot be disabled.
func Required(name string) bool {
	for _, p := range passes {
		if p.name == name {
			return p.required
		}
	}
	return false
}

// Config controls a run; the zero value runs every pass without checks.
type Config struct {
	// Check runs ir.VerifyPipeline after every pass.
	Check bool
	// Disable names optional passes to skip.
	Disable []string
	// After, when set, is called after each pass that ran (for dumps and
	// tests).
	After func(pass string, p *ir.Pipeline)
}

// Validate reports unknown pass names and attempts to disable required
// passes.
func (c *Config) Validate() diag.Diagnostics {
	var ds diag.Diagnostics
	for _, name := range c.Disable {
		found := false
		for _, p := range passes {
			if p.name == name {
				found = true
				if p.required {
					ds = append(ds, diag.Errorf(diag.InvalidOption, diag.Range{}, "Cannot disable required pass", "cannot disable required pass %q", name))
				}
			}
		}
		if !found {
			ds = append(ds, diag.Errorf(diag.InvalidOption, diag.Range{}, "Unknown pass",
				"no pass %q.%s Passes: %v.", name, diag.DidYouMean(name, Names()), Names()))
		}
	}
	return ds
}

// Unit is one pipeline being compiled: the spec it comes from, the IR
// being built, and what the passes found.
type Unit struct {
	Spec    *spec.Pipeline
	Mode    ir.Mode
	P       *ir.Pipeline
	Checker *expr.Checker
	Diags   diag.Diagnostics
	// info is per node (index ID-1); valid until the first optimisation
	// pass renumbers nodes.
	info []*nodeInfo
	// poisoned: a node is spec-Invalid (the front-end reported it), so the
	// pipeline has errors even when the passes report none.
	poisoned bool
}

// NewUnit prepares a unit for the spec pipeline s. P carries the pipeline
// envelope (name, mode, engine...) and no nodes yet.
func NewUnit(s *spec.Pipeline, p *ir.Pipeline, c *expr.Checker) *Unit {
	if c == nil {
		c = expr.NewChecker()
	}
	return &Unit{Spec: s, P: p, Mode: p.Mode, Checker: c}
}

// Run runs the pass table over u.
func Run(u *Unit, cfg *Config) {
	if cfg == nil {
		cfg = &Config{}
	}
	disabled := map[string]bool{}
	for _, d := range cfg.Disable {
		disabled[d] = true
	}
	for _, p := range passes {
		if !p.required && (disabled[p.name] || u.Diags.HasErrors() || u.poisoned) {
			continue
		}
		if !runPass(u, p) {
			return
		}
		if cfg.Check {
			if err := ir.VerifyPipeline(u.P, p.typed); err != nil {
				u.Diags = append(u.Diags, diag.Errorf(diag.InternalError, u.P.Pos, "Internal error",
					"invalid IR after pass %q: %v. This is a bug in rtsapc; please report it with the spec.", p.name, err))
				return
			}
		}
		if cfg.After != nil {
			cfg.After(p.name, u.P)
		}
	}
}

func runPass(u *Unit, p pass) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			u.Diags = append(u.Diags, diag.Errorf(diag.InternalError, u.P.Pos, "Internal error",
				"internal error during pass %q in pipeline %q: %v. This is a bug in rtsapc; please report it with the spec.",
				p.name, u.P.Name, r))
			if Trace {
				u.Diags[len(u.Diags)-1].Detail += "\n" + string(debug.Stack())
			}
			ok = false
		}
	}()
	p.fn(u)
	return true
}

func (u *Unit) errorf(code diag.Code, r diag.Range, summary, format string, args ...any) {
	u.Diags = append(u.Diags, diag.Errorf(code, r, summary, format, args...))
}

func (u *Unit) warnf(code diag.Code, r diag.Range, summary, format string, args ...any) {
	u.Diags = append(u.Diags, diag.Warningf(code, r, summary, format, args...))
}
