// Package dag has the graph helpers the compiler's name resolution shares
// between pipelines (nodes) and workflows (steps).
package dag

// Cycle returns a cycle among the vertices not yet placed, as indexes in
// data-flow order (a vertex before the ones that depend on it), starting at
// its smallest index. deps(i) lists what i depends on (negative entries are
// ignored). If no cycle is found it returns the first unplaced vertex.
func Cycle(n int, deps func(int) []int, placed []bool) []int {
	state := make([]int, n) // 0 new, 1 on the stack, 2 done
	var stack, cyc []int
	var visit func(int) bool
	visit = func(i int) bool {
		state[i] = 1
		stack = append(stack, i)
		for _, d := range deps(i) {
			if d < 0 || placed[d] {
				continue
			}
			if state[d] == 1 {
				for k := len(stack) - 1; k >= 0; k-- {
					if stack[k] == d {
						cyc = append([]int(nil), stack[k:]...)
						return true
					}
				}
			}
			if state[d] == 0 && visit(d) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = 2
		return false
	}
	for i := 0; i < n; i++ {
		if !placed[i] && state[i] == 0 && visit(i) {
			break
		}
	}
	if len(cyc) == 0 {
		for i := 0; i < n; i++ {
			if !placed[i] {
				return []int{i}
			}
		}
		return nil
	}
	// The walk follows dependencies (against the data flow): reverse.
	for l, r := 0, len(cyc)-1; l < r; l, r = l+1, r-1 {
		cyc[l], cyc[r] = cyc[r], cyc[l]
	}
	m := 0
	for k, i := range cyc {
		if i < cyc[m] {
			m = k
		}
	}
	return append(cyc[m:], cyc[:m]...)
}
