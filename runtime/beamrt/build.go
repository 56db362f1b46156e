package beamrt

import (
	"fmt"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

// Encoded is a plan encoded once for all its DoFns.
type Encoded struct {
	Plan     *Plan
	Bytes    []byte
	Pipeline *ir.Pipeline
}

// Encode encodes pipeline pl with the run options.
func Encode(pl *ir.Pipeline, opts Options) (*Encoded, error) {
	p := &Plan{Pipeline: pl, Options: opts}
	b, err := p.Encode()
	if err != nil {
		return nil, err
	}
	return &Encoded{Plan: p, Bytes: b, Pipeline: pl}, nil
}

// Ref returns the reference of node id for DoFns.
func (e *Encoded) Ref(id ir.NodeID) NodeRef { return NodeRef{Plan: e.Bytes, Node: int32(id)} }

// Node returns the reference of the node named name (generated programs
// address nodes by name); it panics on an unknown name, which the
// generator never emits.
func (e *Encoded) Node(name string) NodeRef {
	n := e.Pipeline.Lookup(name)
	if n == nil {
		panic(fmt.Sprintf("beamrt: no node %q in pipeline %q", name, e.Pipeline.Name))
	}
	return e.Ref(n.ID)
}

// Graph is the Beam graph of a pipeline: the PCollection of every node.
type Graph struct {
	Out  map[ir.NodeID]beam.PCollection
	dead map[ir.NodeID]beam.PCollection // source id → malformed records
	late map[ir.NodeID]beam.PCollection // aggregate id → late rows
}

// Build adds every node of the encoded pipeline to s, each under a scope
// named after the spec node (so step names are node names).
func Build(s beam.Scope, e *Encoded) (*Graph, error) {
	g := &Graph{Out: map[ir.NodeID]beam.PCollection{}, dead: map[ir.NodeID]beam.PCollection{}, late: map[ir.NodeID]beam.PCollection{}}
	fused := map[ir.NodeID]bool{}
	for _, n := range e.Pipeline.Nodes {
		if fused[n.ID] {
			continue
		}
		if src, ok := n.Op.(*ir.Source); ok && !e.Plan.Options.NoFusion && isKafka(src.Connector.Kind) {
			if chain, agg, ok := fusedChain(e.Pipeline, n); ok {
				out, dead := fusedAggregate(s, e, n, chain, agg)
				g.dead[n.ID] = dead
				g.Out[agg] = out
				for _, id := range chain {
					fused[id] = true
				}
				fused[agg] = true
				continue
			}
		}
		if err := g.Add(s, e, n); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Add adds one node whose inputs are already in g.
func (g *Graph) Add(s beam.Scope, e *Encoded, n *ir.Node) error {
	ref := e.Ref(n.ID)
	sc := s.Scope(n.Name)
	ins := make([]beam.PCollection, len(n.Inputs))
	for i, id := range n.Inputs {
		pc, ok := g.Out[id]
		if !ok {
			switch n.Op.(type) {
			case *ir.DeadLetter, *ir.LateOutput:
			default:
				return fmt.Errorf("node %q: input %d is not built yet", n.Name, id)
			}
		}
		ins[i] = pc
	}
	var out beam.PCollection
	var err error
	switch op := n.Op.(type) {
	case *ir.Source:
		var dead beam.PCollection
		out, dead, err = Source(sc, ref)
		g.dead[n.ID] = dead
	case *ir.DeadLetter:
		d, ok := g.dead[op.Source]
		if !ok {
			return fmt.Errorf("dead letter %q: source %d is not built yet", n.Name, op.Source)
		}
		out = beam.ParDo(sc, &countFn{NodeRef: ref}, d)
	case *ir.Filter:
		out = Filter(sc, ref, ins[0])
	case *ir.Map:
		out = Map(sc, ref, ins[0])
	case *ir.Union:
		out = Union(sc, ref, ins...)
	case *ir.Windowing:
		out = Windowing(sc, ref, ins[0])
	case *ir.Aggregate:
		var late beam.PCollection
		out, late, err = Aggregate(sc, ref, ins[0])
		g.late[n.ID] = late
	case *ir.LateOutput:
		l, ok := g.late[op.Of]
		if !ok {
			return fmt.Errorf("late output %q: aggregate %d is not built yet", n.Name, op.Of)
		}
		out = l
	case *ir.Pattern:
		out, err = Pattern(sc, ref, ins[0])
	case *ir.Sink:
		Sink(sc, ref, ins[0])
		return nil
	default:
		var ok bool
		out, ok, err = buildStateful(sc, ref, n, ins)
		if err == nil && !ok {
			err = fmt.Errorf("node %q: operator %T is not supported by the Beam runtime yet", n.Name, n.Op)
		}
	}
	if err != nil {
		return err
	}
	g.Out[n.ID] = out
	return nil
}

// SourceKinds are the source connectors the Beam runtime reads.
var SourceKinds = []string{"file", "http", "kafka", "s3", "upsert-kafka"}

func isKafka(kind string) bool { return kind == "kafka" || kind == "upsert-kafka" }

// Source reads a source node: the rows, and the malformed records
// (ir.DeadLetterType rows; empty unless the policy is deadletter). Kafka
// topics, files and S3 objects (bounded), and HTTP polling.
func Source(s beam.Scope, ref NodeRef) (rows, dead beam.PCollection, err error) {
	_, n, err := ref.resolve()
	if err != nil {
		return rows, dead, err
	}
	src, ok := n.Op.(*ir.Source)
	if !ok {
		return rows, dead, fmt.Errorf("node %q is not a source", n.Name)
	}
	switch k := src.Connector.Kind; k {
	case "file", "s3":
		rows, dead = fileSource(s, ref)
		return rows, dead, nil
	case "http":
		rows, dead = httpSource(s, ref)
		return rows, dead, nil
	case "kafka", "upsert-kafka":
	default:
		return rows, dead, fmt.Errorf("source %q: connector %q is not supported by the Beam runtime (%s)", n.Name, k, strings.Join(SourceKinds, ", "))
	}
	imp := beam.Impulse(s)
	parts := beam.ParDo(s, &listPartitionsFn{NodeRef: ref}, imp)
	rows, dead = beam.ParDo2(s, &readFn{NodeRef: ref}, parts)
	return rows, dead, nil
}

// T parses a column type of the spec grammar; generated programs use it
// for the types of their IR literal. It panics on a bad type, which the
// generator never writes.
func T(s string) *rtype.Type {
	t, err := rtype.Parse(s)
	if err != nil {
		panic(fmt.Sprintf("beamrt: type %q: %v", s, err))
	}
	return t
}

// Passthrough counts rows through a node that only names a side output
// (dead letters, late rows).
func Passthrough(s beam.Scope, ref NodeRef, in beam.PCollection) beam.PCollection {
	return beam.ParDo(s, &countFn{NodeRef: ref}, in)
}
