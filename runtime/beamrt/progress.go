package beamrt

import (
	"sort"
	"sync"
	"sync/atomic"
)

// nodeCounters are in-process progress counters of one node. `rtsapc run`
// executes the workers in its own process (Prism loopback), so it reads
// them live; on a remote runner they simply stay in the worker.
type nodeCounters struct {
	in, out, bad atomic.Int64
	watermark    atomic.Int64 // unix ms; 0 = none
}

var counters sync.Map // node name → *nodeCounters

// Counters returns the counters of the node named name.
func Counters(name string) *nodeCounters {
	v, _ := counters.LoadOrStore(name, &nodeCounters{})
	return v.(*nodeCounters)
}

// NodeProgress is a snapshot of one node's counters.
type NodeProgress struct {
	Node          string
	In, Out, Bad  int64
	WatermarkUnix int64 // ms; 0 = none
}

// Progress returns a snapshot of every node's counters, sorted by name.
func Progress() []NodeProgress {
	var out []NodeProgress
	counters.Range(func(k, v any) bool {
		c := v.(*nodeCounters)
		out = append(out, NodeProgress{Node: k.(string), In: c.in.Load(), Out: c.out.Load(), Bad: c.bad.Load(), WatermarkUnix: c.watermark.Load()})
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// ResetProgress clears every counter (before a run).
func ResetProgress() {
	counters.Range(func(k, _ any) bool {
		counters.Delete(k)
		return true
	})
}
