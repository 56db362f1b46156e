package plan

import (
	"strings"
	"testing"
)

func graph(mut func(g *JobGraph)) *JobGraph {
	g := &JobGraph{Pipeline: "vwap", Engine: "flink", UpgradeMode: "savepoint", Nodes: []*JobNode{
		{Name: "trades", Op: "source"},
		{Name: "lit", Op: "filter", Inputs: []string{"trades"}},
		{Name: "bars", Op: "aggregate", Inputs: []string{"lit"}, Stateful: true, Keys: []string{"symbol"},
			Window: "hop 5m 1m", Aggs: []string{"vwap = sum(price * size) / sum(size)"}, In: "{symbol: string}"},
		{Name: "store", Op: "sink", Inputs: []string{"bars"}},
	}}
	if mut != nil {
		mut(g)
	}
	return g
}

func TestVerdicts(t *testing.T) {
	tests := []struct {
		name    string
		old     *JobGraph
		new     *JobGraph
		changed bool
		want    Verdict
		action  Action
		reason  string
	}{
		{"unchanged", graph(nil), graph(nil), false, "", NoOp, ""},
		{"config only", graph(nil), graph(nil), true, Savepoint, Update, `upgradeMode "savepoint" carries the state over`},
		{"filter edited", graph(nil), graph(func(g *JobGraph) { g.Nodes[1].Op = "filter" }), true, Savepoint, Update, ""},
		{"stateless mode", graph(nil), graph(func(g *JobGraph) { g.UpgradeMode = "stateless" }), true, Savepoint, Update, "take a savepoint and restore from it"},
		{"key changed", graph(nil), graph(func(g *JobGraph) { g.Nodes[2].Keys = []string{"symbol", "venue"} }), true, Incompatible, Update,
			`key of "bars" changed: ["symbol"] → ["symbol","venue"]`},
		{"aggregate changed", graph(nil), graph(func(g *JobGraph) { g.Nodes[2].Aggs = []string{"vwap = avg(price)"} }), true, Incompatible, Update, `aggregate of "bars" changed`},
		{"graph changed", graph(nil), graph(func(g *JobGraph) { g.Nodes[2].Inputs = []string{"trades"} }), true, Incompatible, Update, `operator graph changed: "bars" read ["lit"] and now reads ["trades"]`},
		{"stateful removed", graph(nil), graph(func(g *JobGraph) { g.Nodes = g.Nodes[:2] }), true, Incompatible, Update, `stateful operator "bars" (aggregate) is removed`},
		{"no state", graph(func(g *JobGraph) { g.Nodes = g.Nodes[:2] }), graph(func(g *JobGraph) { g.Nodes = g.Nodes[:2]; g.Nodes[1].Op = "map" }), true, Stateless, Update, "keeps no keyed"},
		{"new", nil, graph(nil), true, "", Create, "new job"},
		{"removed", graph(nil), nil, true, Incompatible, Delete, "discarded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jc := CompareJobs(tt.old, tt.new, tt.changed)
			if tt.action == NoOp {
				if jc != nil {
					t.Fatalf("got %+v, want no job change", jc)
				}
				return
			}
			if jc == nil || jc.Verdict != tt.want || jc.Action != tt.action {
				t.Fatalf("got %+v, want %s %s", jc, tt.action, tt.want)
			}
			if all := strings.Join(jc.Reasons, "\n"); !strings.Contains(all, tt.reason) {
				t.Errorf("reasons %q lack %q", all, tt.reason)
			}
		})
	}
}
