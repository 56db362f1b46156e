package openlineage

import (
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler/ir"
)

// TestMalformedIRDoesNotPanic: partial programs (the compiler returns them
// with errors) must not crash the backend: nil types and expressions,
// missing or out-of-range inputs, refs to unknown fields, unknown ops.
func TestMalformedIRDoesNotPanic(t *testing.T) {
	bad := &ir.Expr{Kind: ir.Ref, Input: 7, Path: []string{"nope"}}
	empty := &ir.Expr{Kind: ir.Ref}
	ops := []ir.Op{
		&ir.Source{}, &ir.DeadLetter{}, &ir.Filter{}, &ir.Filter{Where: bad}, &ir.Map{Columns: []ir.Column{{Name: "x"}, {Name: "y", Expr: empty}}},
		&ir.Aggregate{Window: &ir.Window{Kind: ir.Session}, Keys: []ir.Column{{Name: "k"}}, Having: bad},
		&ir.LateOutput{}, &ir.Rolling{OrderBy: "zz", Columns: []ir.Column{{Name: "r", Expr: call(ir.FnFirst, bad)}}},
		&ir.Join{On: []ir.KeyPair{{Left: "a", Right: "b"}}, Window: &ir.Window{}, Columns: []ir.Column{{Name: "j", Expr: bad}}},
		&ir.Lookup{On: []ir.KeyPair{{Left: "a", Right: "b"}}, AsOf: "t", Columns: []ir.Column{{Name: "l", Expr: refIn(1, "x")}}},
		&ir.Pattern{OrderBy: "t", Within: 1, Define: []ir.Column{{Name: "A", Expr: bad}}, Measures: []ir.Column{{Name: "m"}}},
		&ir.Dedupe{OrderBy: "t", Within: 1}, &ir.TopN{Window: &ir.Window{}, RankField: "r", OrderBy: []ir.Order{{Field: "q"}}},
		&ir.Union{}, &ir.Sink{}, nil,
	}
	for i, op := range ops {
		for _, inputs := range [][]ir.NodeID{nil, {1}, {1, 2}, {99, -1}} {
			p := &ir.Pipeline{Name: "m", Nodes: []*ir.Node{
				{ID: 1, Name: "s", Op: &ir.Source{}, Out: fields("a", str)},
				{ID: 2, Name: "x", Op: op, Inputs: inputs},
				{ID: 3, Name: "y", Op: &ir.Sink{}, Inputs: []ir.NodeID{2}},
			}}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("op %d (%T) inputs %v: panic %v", i, op, inputs, r)
					}
				}()
				prog := &ir.Program{Pipelines: []*ir.Pipeline{p}}
				Backend.Generate(&backends.Gen{Program: prog, Pipelines: prog.Pipelines, Options: &backends.Options{}})
			}()
		}
	}
}
