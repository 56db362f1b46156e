package beamrt

import (
	"math"
	"sync"
	"sync/atomic"

	"rtsap.dev/rtsapc/compiler/ir"
)

// Source watermarks, per source node and partition, published by the
// readers of this process. Aggregates fed by sources through stateless
// operators judge lateness against them (watermark = the minimum over the
// partitions of max event time − maxOutOfOrderness, as Beam computes it),
// so late records can be routed to a late output instead of vanishing in
// the shuffle.
var partitionWM sync.Map // source name → *sourceWM

type sourceWM struct {
	mu    sync.Mutex
	parts map[int32]*atomic.Int64
}

func sourceMarks(source string) *sourceWM {
	v, _ := partitionWM.LoadOrStore(source, &sourceWM{parts: map[int32]*atomic.Int64{}})
	return v.(*sourceWM)
}

// partitionMark returns the watermark cell of one partition (created at
// the minimum, so a partition not yet read holds the watermark back).
func partitionMark(source string, p int32) *atomic.Int64 {
	s := sourceMarks(source)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.parts[p]
	if !ok {
		c = &atomic.Int64{}
		c.Store(math.MinInt64)
		s.parts[p] = c
	}
	return c
}

// sourcesWatermark is the minimum watermark (unix ms) over every partition
// of the named sources; MinInt64 when one has not reported.
func sourcesWatermark(sources []string) int64 {
	wm := int64(math.MaxInt64)
	for _, name := range sources {
		s := sourceMarks(name)
		s.mu.Lock()
		if len(s.parts) == 0 {
			wm = math.MinInt64
		}
		for _, c := range s.parts {
			wm = min(wm, c.Load())
		}
		s.mu.Unlock()
	}
	return wm
}

// ResetWatermarks forgets every published watermark (between runs).
func ResetWatermarks() {
	partitionWM.Range(func(k, _ any) bool {
		partitionWM.Delete(k)
		return true
	})
}

// statelessSources returns the source nodes feeding n through stateless
// operators only (filter, map, union); ok is false when a stateful or
// windowed operator is on the way.
func statelessSources(p *ir.Pipeline, id ir.NodeID) (names []string, ok bool) {
	n := p.Node(id)
	switch n.Op.(type) {
	case *ir.Source:
		return []string{n.Name}, true
	case *ir.Filter, *ir.Map, *ir.Union:
		for _, in := range n.Inputs {
			s, ok := statelessSources(p, in)
			if !ok {
				return nil, false
			}
			names = append(names, s...)
		}
		return names, true
	}
	return nil, false
}
