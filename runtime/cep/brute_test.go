package cep

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/row"
)

// TestAgainstBruteForce compares the matcher with direct searches over
// random walks for patterns whose Flink semantics have a simple
// statement: per start row in order, the first completion within the
// window; skip past last row resumes after it, skip to next row after
// the start.
func TestAgainstBruteForce(t *testing.T) {
	type search func(ps []int64, ts []int64, i int) int // end of the match from i, or -1
	spike := func(ps, ts []int64, i int) int {
		for j := i + 1; j < len(ps) && ts[j]-ts[i] < 20_000; j++ {
			if math.Abs(float64(ps[j])/float64(ps[i])-1) >= 0.05 {
				return j
			}
		}
		return -1
	}
	reversal := func(ps, ts []int64, i int) int {
		in := func(j int) bool { return j < len(ps) && ts[j]-ts[i] < 30_000 }
		j, up, prev := i+1, 0, ps[i]
		for in(j) && ps[j] > prev {
			prev, up, j = ps[j], up+1, j+1
		}
		if up < 2 {
			return -1
		}
		for down := 0; down < 2; down++ {
			if !in(j) || ps[j] >= prev {
				return -1
			}
			prev, j = ps[j], j+1
		}
		return j - 1
	}
	// A B+ C with B rising and C a fall below A: greedy B.
	fall := func(ps, ts []int64, i int) int {
		j := i + 1
		for j < len(ps) && ps[j] > ps[j-1] {
			j++
		}
		if j == i+1 || j >= len(ps) || ps[j] >= ps[i] {
			return -1
		}
		return j
	}
	cases := []struct {
		name string
		p    pat
		find search
	}{
		{"spike", pat{pattern: "A M*? B", define: [][2]string{{"B", "abs(double(price) / double(A.price) - 1.0) >= 0.05"}}, within: 20 * time.Second}, spike},
		{"reversal", pat{pattern: "A U{2,} D{2}", within: 30 * time.Second, define: [][2]string{
			{"U", "price > coalesce(last(U.price, 1), A.price)"},
			{"D", "price < coalesce(last(D.price, 1), last(U.price))"}}}, reversal},
		{"fall", pat{pattern: "A B+ C", define: [][2]string{{"B", "price > coalesce(last(B.price, 1), A.price)"}, {"C", "price < A.price"}}}, fall},
	}
	for _, tc := range cases {
		for _, skip := range []ir.SkipStrategy{ir.SkipPastLastRow, ir.SkipToNextRow} {
			t.Run(tc.name+"/"+string(skip), func(t *testing.T) {
				tc.p.skip = skip
				tc.p.measures = [][2]string{{"a", "first(rowtime)"}, {"z", "last(rowtime)"}}
				m := compile(t, ticker, tc.p)
				for seed := uint64(1); seed <= 40; seed++ {
					rng := rand.New(rand.NewPCG(seed, seed*7))
					n := 20 + rng.IntN(200)
					ps, ts := make([]int64, n), make([]int64, n)
					p, at := int64(1000), base.UnixMilli()
					var rs []row.Row
					for i := range ps {
						p += int64(rng.IntN(41)) - 20
						at += int64(rng.IntN(3000))
						ps[i], ts[i] = p, at
						rs = append(rs, row.Row{"XYZ", p, int64(0), time.UnixMilli(at).UTC()})
					}
					var want []string
					for i := 0; i < n; {
						end := tc.find(ps, ts, i)
						if end < 0 {
							i++
							continue
						}
						want = append(want, fmt.Sprintf("XYZ %s %s", show(rs[i][3]), show(rs[end][3])))
						if skip == ir.SkipPastLastRow {
							i = end + 1
						} else {
							i++
						}
					}
					got, err := run(t, m, rs)
					if err != nil {
						t.Fatal(err)
					}
					if strings.Join(got, "\n") != strings.Join(want, "\n") {
						t.Fatalf("seed %d: got\n%s\nwant\n%s", seed, strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
				}
			})
		}
	}
}
