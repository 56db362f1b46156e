package compiler

import (
	"fmt"
	"testing"
	"time"

	"rtsap.dev/rtsapc/lang/spec"
)

// TestLongChainIsFast: 1,000 filters and maps in a row fuse into a few
// nodes without quadratic-per-fusion blowups.
func TestLongChainIsFast(t *testing.T) {
	f := vwapSpec()
	nodes := f.Pipelines[0].Nodes
	p := &pos{}
	var chain []*spec.Node
	prev := "trades"
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("c%d", i)
		n := &spec.Node{Name: p.s(name), Role: spec.TransformRole, From: []spec.String{p.s(prev)}, Range: p.r()}
		if i%2 == 0 {
			n.Kind, n.Filter = p.s("filter"), &spec.Filter{Where: p.e(fmt.Sprintf("symbol != 'X%d'", i))}
		} else {
			n.Kind, n.Map = p.s("map"), &spec.Map{Keep: true, Select: []spec.Named{p.named("size", "size + 1")}}
		}
		chain = append(chain, n)
		prev = name
	}
	nodes[2].From[0].Value = prev // lit reads the end of the chain
	f.Pipelines[0].Nodes = append(append(nodes[:2:2], chain...), nodes[2:]...)
	start := time.Now()
	prog, ds := Compile(f, &Config{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("compiling a 1,000-node chain took %v", d)
	}
	t.Logf("%d nodes after passes, %v", len(prog.Pipelines[0].Nodes), time.Since(start))
}
