// Package ir is the typed intermediate representation every backend reads: a
// Program of Pipelines, each a DAG of Nodes with dense IDs, a common envelope
// (name, position, output record type) and one payload per operator.
//
// # Invariants (checked by [Verify])
//
//   - Pipeline.Nodes is in topological order and Nodes[i].ID == NodeID(i+1).
//   - Every Inputs entry names an earlier node; there are no cycles.
//   - Every node has an Out record type after the compiler's passes.
//   - Node names are unique in a pipeline.
//
// # Freezing
//
// The IR is frozen once compiler passes have run: backends must not mutate
// it. Go has no immutability; this is enforced by hand — a backend that needs
// another shape copies first.
//
// # Expressions
//
// CEL strings from the spec are checked and lowered by the compiler to the
// small [Expr] tree defined in expr.go, whose function vocabulary ([Fn]) is
// closed and documented. Backends translate that tree (to Go, SQL, Python,
// NiFi RecordPath/SQL) and never parse CEL themselves; the original text is
// kept in Expr.Text for comments, errors and runtimes that prefer CEL.
package ir

import (
	"time"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// Program is everything compiled from one spec load.
type Program struct {
	Pipelines    []*Pipeline    // sorted by name
	Workflows    []*Workflow    // sorted by name
	Environments []*Environment // sorted by name
	// SpecDigest is the sha256 (hex) of the spec sources, for provenance.
	SpecDigest string
	// Root is the spec directory; Files the spec files relative to it.
	Root  string
	Files []string
}

// Pipeline lookup by name.
func (p *Program) Pipeline(name string) *Pipeline {
	for _, pl := range p.Pipelines {
		if pl.Name == name {
			return pl
		}
	}
	return nil
}

// Mode is streaming or batch.
type Mode string

const (
	Streaming Mode = "streaming"
	Batch     Mode = "batch"
)

// Pipeline is one dataflow graph.
type Pipeline struct {
	Name        string
	Mode        Mode
	Engine      string // flink | spark | beam | nifi
	Owner       string
	Description string
	Labels      []KV // sorted by key
	Nodes       []*Node
	Deploy      Deploy
	Pos         diag.Range
	// SpecFile is the file that declares the pipeline (relative to Root).
	SpecFile string
}

// Node returns the node with the given id.
func (p *Pipeline) Node(id NodeID) *Node { return p.Nodes[id-1] }

// Lookup returns the node named name, or nil.
func (p *Pipeline) Lookup(name string) *Node {
	for _, n := range p.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Consumers returns the nodes that read from id, in ID order.
func (p *Pipeline) Consumers(id NodeID) []*Node {
	var out []*Node
	for _, n := range p.Nodes {
		for _, in := range n.Inputs {
			if in == id {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// Sources returns the source nodes; Sinks the sink nodes.
func (p *Pipeline) Sources() []*Node {
	return p.filter(func(n *Node) bool { _, ok := n.Op.(*Source); return ok })
}
func (p *Pipeline) Sinks() []*Node {
	return p.filter(func(n *Node) bool { _, ok := n.Op.(*Sink); return ok })
}

func (p *Pipeline) filter(f func(*Node) bool) []*Node {
	var out []*Node
	for _, n := range p.Nodes {
		if f(n) {
			out = append(out, n)
		}
	}
	return out
}

// NodeID is a dense, 1-based node index within a pipeline.
type NodeID int32

// Node is one operator of the DAG.
type Node struct {
	ID   NodeID
	Name string // the spec name; unique in the pipeline
	Doc  string
	// Op is the payload: one of the pointer types in ops.go.
	Op Op
	// Inputs are the upstream nodes, in the operator's port order (join:
	// left, right).
	Inputs []NodeID
	// Out is the record type this node emits (sinks: the record written).
	Out *rtype.Type
	// EventTime is the event-time column of Out, or "" when Out has none
	// (after an unwindowed aggregate, say). Window operators set it to
	// window_time / window_end as documented on each op.
	EventTime string
	// Watermark delay carried from the source (max out-of-orderness).
	MaxOutOfOrderness time.Duration
	Pos               diag.Range
}

// Op is the operator payload. The method is never called; it seals the set
// of payload types (esbuild's js_ast pattern).
type Op interface{ isOp() }

// KV is a key/value string pair.
type KV struct{ Key, Value string }
