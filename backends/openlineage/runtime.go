package openlineage

import (
	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler/ir"
)

// NodeDataset names the dataset a source reads or a sink writes, as the
// static events name it, so that a runtime can attach its row counts to the
// right input or output of the job.
type NodeDataset struct {
	Node            string // the source or sink node's name
	Namespace, Name string
	Output          bool // a sink
}

// NodeDatasets lists the datasets of p's sources and sinks in node order,
// named with the environment of opts as Build names them.
func NodeDatasets(p *ir.Pipeline, opts *backends.Options) []NodeDataset {
	var env *ir.Environment
	if opts != nil {
		env = opts.Env
	}
	var out []NodeDataset
	for _, n := range p.Nodes {
		switch op := n.Op.(type) {
		case *ir.Source:
			id := Dataset(&op.Connector, env)
			out = append(out, NodeDataset{Node: n.Name, Namespace: id.Namespace, Name: id.Name})
		case *ir.Sink:
			id := Dataset(&op.Connector, env)
			out = append(out, NodeDataset{Node: n.Name, Namespace: id.Namespace, Name: id.Name, Output: true})
		}
	}
	return out
}

// DeclarationRunID is the run id of the declaration run Build derives for
// p (Static.Run): engines whose listeners cannot name their job as rtsapc
// does (Spark normalises names) give it as their parent run, so their
// events hang under the declared job.
func DeclarationRunID(prog *ir.Program, p *ir.Pipeline, opts *backends.Options) string {
	digest := ""
	if prog != nil {
		digest = prog.SpecDigest
	}
	return declarationRunID(opts, Namespace(opts), JobName(p), digest)
}
