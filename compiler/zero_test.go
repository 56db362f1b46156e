package compiler

import (
	"testing"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// TestZeroPayloads: a front-end that fills in nothing but the kind (an HCL
// spec missing every attribute, say) gets diagnostics, never a panic or an
// internal error, and a program that still verifies.
func TestZeroPayloads(t *testing.T) {
	kinds := []*spec.Node{
		{Filter: &spec.Filter{}}, {Map: &spec.Map{}}, {Aggregate: &spec.Aggregate{}},
		{Aggregate: &spec.Aggregate{Window: &spec.Window{}}}, {Rolling: &spec.Rolling{}},
		{Join: &spec.Join{}}, {Join: &spec.Join{Window: &spec.Window{Kind: spec.String{Value: "hop"}}}},
		{Lookup: &spec.Lookup{}}, {Lookup: &spec.Lookup{Schema: &spec.Record{}}}, {Pattern: &spec.Pattern{}},
		{Dedupe: &spec.Dedupe{}}, {TopN: &spec.TopN{}}, {TopN: &spec.TopN{Window: &spec.Window{Kind: spec.String{Value: "cumulate"}}}},
		{Union: &spec.Union{}}, {Sink: &spec.Sink{}}, {Sink: &spec.Sink{Schema: &spec.Record{}}}, {},
	}
	for i, k := range kinds {
		f := vwapSpec()
		n := *k
		n.Name = spec.String{Value: "x"}
		n.Role = spec.TransformRole
		if n.Sink != nil {
			n.Role = spec.SinkRole
		}
		switch {
		case n.Join != nil:
			n.From = []spec.String{{Value: "trades"}, {Value: "lit"}}
		case n.Union != nil:
			n.From = []spec.String{{Value: "trades"}, {Value: "bad_trades"}}
		default:
			n.From = []spec.String{{Value: "lit"}}
		}
		f.Pipelines[0].Nodes = append(f.Pipelines[0].Nodes, &n)
		f.Pipelines[0].Nodes[0].Source.Schema.Fields = append(f.Pipelines[0].Nodes[0].Source.Schema.Fields, &spec.Field{Name: "n", Nested: &spec.Record{}})
		prog, ds := Compile(f, &Config{Check: true})
		for _, d := range ds {
			if d.Code == diag.InternalError || d.Severity == diag.Error && d.Code.Name() == "" {
				t.Errorf("case %d: %v", i, d)
			}
		}
		if err := ir.Verify(prog); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
		_ = ir.Sprint(prog)
	}
}
