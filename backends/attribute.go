package backends

import (
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// attributeLibrary reports the diagnostics a backend positioned in a
// library file (an expression of finance.#OHLC that the engine cannot
// run) at the user's node built from that definition; see diag.Attribute.
// A library expression used by several nodes is attributed to them in
// node order, as backends report in node order.
func attributeLibrary(pls []*ir.Pipeline, ds diag.Diagnostics) diag.Diagnostics {
	need := false
	for _, d := range ds {
		if d.Subject != nil && diag.Library(d.Subject.Filename) {
			need = true
			break
		}
	}
	if !need {
		return ds
	}
	owners := map[diag.Range][]*ir.Node{}
	for _, pl := range pls {
		for _, n := range pl.Nodes {
			if !n.Pos.IsValid() || diag.Library(n.Pos.Filename) {
				continue
			}
			seen := map[diag.Range]bool{}
			for _, e := range ir.Exprs(n.Op) {
				e.Walk(func(x *ir.Expr) bool {
					if diag.Library(x.Pos.Filename) && !seen[x.Pos] {
						seen[x.Pos] = true
						owners[x.Pos] = append(owners[x.Pos], n)
					}
					return true
				})
			}
		}
	}
	next := map[diag.Range]int{}
	byNode := map[*ir.Node]diag.Diagnostics{}
	var order []*ir.Node
	var out diag.Diagnostics
	for _, d := range ds {
		if d.Subject == nil || len(owners[*d.Subject]) == 0 {
			out = append(out, d)
			continue
		}
		ns := owners[*d.Subject]
		n := ns[next[*d.Subject]%len(ns)]
		next[*d.Subject]++
		if byNode[n] == nil {
			order = append(order, n)
		}
		byNode[n] = append(byNode[n], d)
	}
	for _, n := range order {
		out = append(out, diag.Attribute(byNode[n], n.Pos)...)
	}
	return out
}
