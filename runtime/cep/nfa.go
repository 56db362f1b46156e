// Package cep is the pattern matcher (MATCH_RECOGNIZE) of the Beam runtime,
// with the semantics of Apache Flink's: the IR pattern compiles to the NFA
// Flink's NFACompiler builds for the same query (strict contiguity, the
// states of times/oneOrMore/optional, the greedy conditions it adds to the
// state after a greedy variable), rows advance it one by one in event-time
// order per partition, and matches come out as Flink's NFA emits them: a
// completed match waits while a partial match that started earlier is still
// alive, then the after-match skip strategy prunes partial and completed
// matches.
//
// The package is pure: a [Matcher] is compiled once per node; a [State]
// holds one partition's partial matches and the rows they reference, and
// serialises for Beam state.
package cep

import (
	"fmt"

	"rtsap.dev/rtsapc/compiler/ir"
)

// lit is one conjunct of an edge condition: variable v's DEFINE holds
// (neg: does not hold) for the current row.
type lit struct {
	v   int
	neg bool
}

type edge struct {
	take   bool // TAKE (consume the row as the source state's variable) or PROCEED (epsilon)
	target int
	cond   []lit // conjunction; empty is TRUE
}

type nstate struct {
	v     int // variable taken by this state's TAKE edges; -1 for the final state
	edges []edge
}

type builder struct {
	states []nstate
}

func (b *builder) add(v int) int {
	b.states = append(b.states, nstate{v: v})
	return len(b.states) - 1
}

func (b *builder) edge(from int, e edge) {
	b.states[from].edges = append(b.states[from].edges, e)
}

// greedy is Flink's updateWithGreedyCondition: every transition out of
// the state after a greedy variable also requires that the greedy
// variable's condition fails on the row.
func (b *builder) greedy(s, v int) {
	for i := range b.states[s].edges {
		e := &b.states[s].edges[i]
		e.cond = append(append([]lit(nil), e.cond...), lit{v: v, neg: true})
	}
}

// singleton is createSingletonState: TAKE to sink; optional states also
// PROCEED to proceed.
func (b *builder) singleton(sink, proceed, v int, optional bool) int {
	s := b.add(v)
	b.edge(s, edge{take: true, target: sink, cond: []lit{{v: v}}})
	if optional {
		b.edge(s, edge{target: proceed})
	}
	return s
}

// times is createTimesState: to-from optional states, from-1 mandatory
// ones and the first state.
func (b *builder) times(sink, proceed, from, to, v int, optional, greedy bool) int {
	if greedy && from != to {
		b.greedy(sink, v)
	}
	last := sink
	for i := from; i < to; i++ {
		last = b.singleton(last, proceed, v, true)
	}
	for i := 0; i < from-1; i++ {
		last = b.singleton(last, -1, v, false)
	}
	return b.singleton(last, proceed, v, optional)
}

// term converts one pattern variable as Flink's SQL planner (quantifier
// to oneOrMore/optional/times/timesOrMore, greedy unless optional or
// fixed) and NFACompiler.convertPattern do.
func (b *builder) term(t ir.PatternTerm, v, sink int) int {
	q := t.Quant
	isOptional := q.Min == 0 && q.Max == 1
	greedy := q.Greedy && !isOptional && q.Min != q.Max
	looping, optional := false, false
	from, to := 1, 1
	switch {
	case q.Min == 0 && q.Max == -1: // oneOrMore().optional()
		looping, optional = true, true
	case q.Min == 1 && q.Max == -1: // oneOrMore()
		looping = true
	case isOptional: // optional()
		return b.singleton(sink, sink, v, true)
	case q.Max != -1: // times(from, to)
		from, to = q.Min, q.Max
		if from == 0 {
			optional, from = true, 1
		}
	default: // timesOrMore(n)
		looping = true
		from, to = q.Min, q.Min
	}
	if looping {
		l := b.add(v)
		b.edge(l, edge{target: sink})
		if greedy {
			b.greedy(sink, v)
		}
		b.edge(l, edge{take: true, target: l, cond: []lit{{v: v}}})
		return b.times(l, sink, from, to, v, optional, greedy)
	}
	return b.times(sink, sink, from, to, v, optional, greedy)
}

// Unsupported returns the reasons Flink's MATCH_RECOGNIZE rejects the
// pattern (the Beam runtime rejects the same ones, so that a spec means
// the same on both engines), or nil.
func Unsupported(op *ir.Pattern) []string {
	var out []string
	if len(op.Terms) == 0 {
		return []string{"the pattern is empty"}
	}
	allOptional := true
	seen := map[string]bool{}
	for i, t := range op.Terms {
		q := t.Quant
		if seen[t.Var] {
			out = append(out, fmt.Sprintf("variable %s appears twice; Flink's MATCH_RECOGNIZE needs unique pattern variables", t.Var))
		}
		seen[t.Var] = true
		if q.Min < 0 || q.Max < -1 || (q.Max != -1 && q.Max < q.Min) || q.Max == 0 {
			out = append(out, fmt.Sprintf("variable %s has a quantifier that matches nothing", t.Var))
		}
		if !q.Greedy && q.Min == 0 && q.Max == 1 {
			out = append(out, fmt.Sprintf("the reluctant optional quantifier (%s??) is not supported by Flink's MATCH_RECOGNIZE", t.Var))
		}
		if i == len(op.Terms)-1 && q.Greedy && q.Min != q.Max {
			out = append(out, fmt.Sprintf("a greedy quantifier on the last variable (%s) is not supported by Flink's MATCH_RECOGNIZE; add a closing variable, or make it reluctant", t.Var))
		}
		if q.Min > 0 {
			allOptional = false
		}
	}
	if allOptional {
		out = append(out, "the pattern can match no rows; Flink rejects patterns that can produce an empty match")
	}
	if (op.Skip == ir.SkipToFirst || op.Skip == ir.SkipToLast) && !seen[op.SkipTo] {
		out = append(out, fmt.Sprintf("%s %q is not a variable of the pattern", op.Skip, op.SkipTo))
	}
	if t := op.Terms[0]; t.Var == op.SkipTo && (op.Skip == ir.SkipToFirst || op.Skip == ir.SkipToLast && t.Quant.Max == 1) {
		// Flink fails the job on every match: the row skipped to is the
		// first row of the match ("Could not skip to first element of a
		// match"), or the variable matched no row ("No such element").
		out = append(out, fmt.Sprintf("%s %s resumes at the first row of every match, which Flink fails on at run time", op.Skip, op.SkipTo))
	}
	return out
}
