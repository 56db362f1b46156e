package dag

import (
	"reflect"
	"testing"
)

func TestCycle(t *testing.T) {
	// 0 ← 2 ← 1 ← 0 (each depends on the next), plus 3 depending on 0.
	deps := [][]int{{2}, {0}, {1}, {0}}
	got := Cycle(4, func(i int) []int { return deps[i] }, make([]bool, 4))
	if want := []int{0, 1, 2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := Cycle(2, func(i int) []int { return []int{-1} }, []bool{true, false}); !reflect.DeepEqual(got, []int{1}) {
		t.Fatalf("no cycle: got %v", got)
	}
}
