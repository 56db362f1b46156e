package plan

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
)

// Verdict says what a change does to a streaming job's state.
type Verdict string

const (
	// Stateless: the job keeps no state the change could break (no keyed
	// or windowed operators), or nothing about its state changed.
	Stateless Verdict = "stateless"
	// Savepoint: the stateful operators are unchanged; the job must be
	// stopped with a savepoint and restored from it.
	Savepoint Verdict = "savepoint"
	// Incompatible: the operator graph, a key, a window or an aggregate
	// changed; the old state cannot be restored into the new job.
	Incompatible Verdict = "incompatible"
)

// JobGraph is the state-relevant shape of a streaming job: its operators,
// how they connect, and what each stateful one keeps. It is recorded in the
// state on apply and compared on the next plan.
type JobGraph struct {
	Pipeline    string     `json:"pipeline"`
	Engine      string     `json:"engine"`
	UpgradeMode string     `json:"upgrade_mode,omitempty"`
	Nodes       []*JobNode `json:"nodes"`
}

// JobNode is one operator of a JobGraph.
type JobNode struct {
	Name   string   `json:"name"`
	Op     string   `json:"op"`
	Inputs []string `json:"inputs,omitempty"`
	// Stateful operators keep keyed or windowed state across records.
	Stateful bool     `json:"stateful,omitempty"`
	Keys     []string `json:"keys,omitempty"`
	Window   string   `json:"window,omitempty"`
	// Aggs are "name = expression" of the values kept per key.
	Aggs []string `json:"aggs,omitempty"`
	// In is the type of the records the state holds (the input record).
	In string `json:"in,omitempty"`
}

// JobGraphOf derives the graph of a streaming pipeline; batch pipelines
// have none (nil).
func JobGraphOf(p *ir.Pipeline) *JobGraph {
	if p == nil || p.Mode != ir.Streaming {
		return nil
	}
	g := &JobGraph{Pipeline: p.Name, Engine: p.Engine, UpgradeMode: p.Deploy.Checkpoint.UpgradeMode}
	name := func(id ir.NodeID) string {
		if id < 1 || int(id) > len(p.Nodes) {
			return fmt.Sprintf("#%d", id)
		}
		return p.Nodes[id-1].Name
	}
	for _, n := range p.Nodes {
		jn := &JobNode{Name: n.Name}
		for _, in := range n.Inputs {
			jn.Inputs = append(jn.Inputs, name(in))
		}
		if len(n.Inputs) > 0 {
			if in := n.Inputs[0]; in >= 1 && int(in) <= len(p.Nodes) && p.Nodes[in-1].Out != nil {
				jn.In = p.Nodes[in-1].Out.String()
			}
		}
		switch op := n.Op.(type) {
		case *ir.Source:
			jn.Op = "source"
		case *ir.DeadLetter:
			jn.Op = "deadletter"
		case *ir.Filter:
			jn.Op = "filter"
		case *ir.Map:
			jn.Op = "map"
		case *ir.Aggregate:
			jn.Op, jn.Stateful = "aggregate", true
			jn.Keys = colNames(op.Keys)
			jn.Window = windowString(op.Window)
			jn.Aggs = colExprs(op.Columns)
		case *ir.LateOutput:
			jn.Op = "late"
		case *ir.Rolling:
			jn.Op, jn.Stateful = "rolling", true
			jn.Keys = colNames(op.Keys)
			jn.Window = fmt.Sprintf("order %s range %s rows %d", op.OrderBy, op.Range, op.Rows)
			jn.Aggs = colExprs(op.Columns)
		case *ir.Join:
			jn.Op, jn.Stateful = "join", true
			for _, k := range op.On {
				jn.Keys = append(jn.Keys, k.Left+"="+k.Right)
			}
			jn.Window = windowString(op.Window)
			if op.Window == nil {
				jn.Window = fmt.Sprintf("interval [%s, %s]", op.Lower, op.Upper)
			}
			jn.Aggs = []string{"type = " + string(op.Type)}
			if len(n.Inputs) > 1 && n.Inputs[1] >= 1 && int(n.Inputs[1]) <= len(p.Nodes) && p.Nodes[n.Inputs[1]-1].Out != nil {
				jn.In += " | " + p.Nodes[n.Inputs[1]-1].Out.String()
			}
		case *ir.Lookup:
			jn.Op = "lookup" // a cache, rebuilt on restart: not job state
		case *ir.Pattern:
			jn.Op, jn.Stateful = "pattern", true
			jn.Keys = colNames(op.PartitionBy)
			jn.Window = fmt.Sprintf("pattern %s within %s", op.Text, op.Within)
			jn.Aggs = append(colExprs(op.Define), colExprs(op.Measures)...)
		case *ir.Dedupe:
			jn.Op, jn.Stateful = "dedupe", true
			jn.Keys = colNames(op.Keys)
			jn.Window = fmt.Sprintf("keep last %v order %s within %s", op.KeepLast, op.OrderBy, op.Within)
		case *ir.TopN:
			jn.Op, jn.Stateful = "topn", true
			jn.Keys = colNames(op.Keys)
			jn.Window = windowString(op.Window)
			var ord []string
			for _, o := range op.OrderBy {
				ord = append(ord, fmt.Sprintf("%s desc=%v", o.Field, o.Desc))
			}
			jn.Aggs = []string{fmt.Sprintf("top %d by %s", op.N, strings.Join(ord, ", "))}
		case *ir.Union:
			jn.Op = "union"
		case *ir.Sink:
			jn.Op = "sink"
		default:
			jn.Op = fmt.Sprintf("%T", op)
		}
		if !jn.Stateful {
			jn.In = ""
		}
		g.Nodes = append(g.Nodes, jn)
	}
	return g
}

func colNames(cs []ir.Column) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func colExprs(cs []ir.Column) []string {
	var out []string
	for _, c := range cs {
		t := ""
		if c.Expr != nil {
			t = c.Expr.Text
		}
		out = append(out, c.Name+" = "+t)
	}
	return out
}

func windowString(w *ir.Window) string {
	if w == nil {
		return ""
	}
	var parts []string
	for _, x := range []struct {
		k string
		d time.Duration
	}{{"size", w.Size}, {"slide", w.Slide}, {"gap", w.Gap}, {"step", w.Step}, {"offset", w.Offset}} {
		if x.d != 0 {
			parts = append(parts, x.k+" "+x.d.String())
		}
	}
	return fmt.Sprintf("%s(%s)", w.Kind, strings.Join(parts, ", "))
}

// JobChange is what happens to one streaming job.
type JobChange struct {
	Pipeline string  `json:"pipeline"`
	Engine   string  `json:"engine,omitempty"`
	Action   Action  `json:"action"`
	Verdict  Verdict `json:"verdict,omitempty"`
	// UpgradeMode is the operator's upgrade mode, and UpgradeHandles says
	// whether it takes the savepoint the verdict asks for by itself.
	UpgradeMode    string `json:"upgrade_mode,omitempty"`
	UpgradeHandles bool   `json:"upgrade_handles_savepoint,omitempty"`
	// Reasons explain the verdict, one per finding, in graph order.
	Reasons []string `json:"reasons,omitempty"`
	// Graph is the new job graph (kept for apply to record; not shown).
	Graph *JobGraph `json:"graph,omitempty"`
}

// CompareJobs judges the change from old to new (either may be nil).
// changed says whether any artifact of the pipeline changes; a job whose
// graph and artifacts are both unchanged yields nil.
func CompareJobs(old, new *JobGraph, changed bool) *JobChange {
	switch {
	case old == nil && new == nil:
		return nil
	case old == nil:
		return &JobChange{Pipeline: new.Pipeline, Engine: new.Engine, Action: Create, UpgradeMode: new.UpgradeMode,
			Reasons: []string{"new job: it starts without state"}, Graph: new}
	case new == nil:
		return &JobChange{Pipeline: old.Pipeline, Engine: old.Engine, Action: Delete, Verdict: Incompatible,
			Reasons: []string{"the job is removed: its state is discarded"}}
	}
	reasons := stateDiff(old, new)
	same := string(Canonical(old)) == string(Canonical(new))
	if same && !changed {
		return nil
	}
	jc := &JobChange{Pipeline: new.Pipeline, Engine: new.Engine, Action: Update, UpgradeMode: new.UpgradeMode, Graph: new}
	stateful := false
	for _, n := range new.Nodes {
		stateful = stateful || n.Stateful
	}
	switch {
	case len(reasons) > 0:
		jc.Verdict, jc.Reasons = Incompatible, reasons
		jc.Reasons = append(jc.Reasons, "the job must start from empty state (or be migrated by hand)")
	case !stateful:
		jc.Verdict = Stateless
		jc.Reasons = []string{"the job keeps no keyed or windowed state; it can restart without a savepoint"}
	default:
		jc.Verdict = Savepoint
		switch new.UpgradeMode {
		case "savepoint", "last-state":
			jc.UpgradeHandles = true
			jc.Reasons = []string{fmt.Sprintf("stateful operators are unchanged; upgradeMode %q carries the state over", new.UpgradeMode)}
		default:
			mode := new.UpgradeMode
			if mode == "" {
				mode = "unset"
			}
			jc.Reasons = []string{fmt.Sprintf("stateful operators are unchanged, but upgradeMode is %s: take a savepoint and restore from it, or set upgradeMode to savepoint", mode)}
		}
	}
	return jc
}

// stateDiff lists why old state cannot be restored into new.
func stateDiff(old, new *JobGraph) []string {
	var out []string
	oldBy := map[string]*JobNode{}
	for _, n := range old.Nodes {
		oldBy[n.Name] = n
	}
	newBy := map[string]bool{}
	for _, n := range new.Nodes {
		newBy[n.Name] = true
		o := oldBy[n.Name]
		if o == nil || !o.Stateful {
			if n.Stateful {
				out = append(out, fmt.Sprintf("operator graph changed: stateful operator %q (%s) is new", n.Name, n.Op))
			}
			continue
		}
		if !n.Stateful || o.Op != n.Op {
			out = append(out, fmt.Sprintf("operator graph changed: %q was a %s and is now a %s", n.Name, o.Op, n.Op))
			continue
		}
		if !slices.Equal(o.Inputs, n.Inputs) {
			out = append(out, fmt.Sprintf("operator graph changed: %q read %s and now reads %s", n.Name, list(o.Inputs), list(n.Inputs)))
		}
		if !slices.Equal(o.Keys, n.Keys) {
			out = append(out, fmt.Sprintf("key of %q changed: %s → %s", n.Name, list(o.Keys), list(n.Keys)))
		}
		if o.Window != n.Window {
			out = append(out, fmt.Sprintf("window of %q changed: %s → %s", n.Name, o.Window, n.Window))
		}
		if !slices.Equal(o.Aggs, n.Aggs) {
			out = append(out, fmt.Sprintf("aggregate of %q changed: %s → %s", n.Name, list(o.Aggs), list(n.Aggs)))
		}
		if o.In != n.In {
			out = append(out, fmt.Sprintf("state type of %q changed: its input was %s and is now %s", n.Name, o.In, n.In))
		}
	}
	for _, o := range old.Nodes {
		if o.Stateful && !newBy[o.Name] {
			out = append(out, fmt.Sprintf("operator graph changed: stateful operator %q (%s) is removed", o.Name, o.Op))
		}
	}
	return out
}

func list(xs []string) string {
	b, _ := json.Marshal(xs)
	if xs == nil {
		return "[]"
	}
	return string(b)
}
