// Package irdump is the "ir" target: it writes each pipeline's checked IR in
// the golden text form of ir.Fprint, for debugging specs and for reviews.
package irdump

import (
	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// Backend writes <pipeline>/ir/pipeline.ir and <workflow>/ir/workflow.ir.
var Backend = &backends.Backend{
	Name: "ir",
	Doc: `the checked IR as text

Writes each pipeline's typed DAG after the compiler's passes, in the same
form as the compiler's out/ir goldens.`,
	Scope:    backends.PerProgram,
	Generate: generate,
}

func generate(g *backends.Gen) (*artifact.Set, diag.Diagnostics) {
	set := &artifact.Set{}
	for _, pl := range g.Program.Pipelines {
		set.Add(&artifact.File{Path: artifact.PathSegment(pl.Name) + "/ir/pipeline.ir", Kind: artifact.Text,
			Data: []byte(ir.Sprint(&ir.Program{Pipelines: []*ir.Pipeline{pl}})), Pipeline: pl.Name})
	}
	for _, wf := range g.Program.Workflows {
		set.Add(&artifact.File{Path: artifact.PathSegment(wf.Name) + "/ir/workflow.ir", Kind: artifact.Text,
			Data: []byte(ir.Sprint(&ir.Program{Workflows: []*ir.Workflow{wf}})), Pipeline: wf.Name})
	}
	return set, nil
}
