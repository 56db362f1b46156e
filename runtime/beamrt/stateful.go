package beamrt

import (
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"rtsap.dev/rtsapc/compiler/ir"
)

// buildStateful adds the keyed stateful operators (rolling, joins, lookup,
// pattern, dedupe, top-N); ok is false for an operator it does not know.
func buildStateful(s beam.Scope, ref NodeRef, n *ir.Node, ins []beam.PCollection) (beam.PCollection, bool, error) {
	switch n.Op.(type) {
	case *ir.Rolling:
		out, err := Rolling(s, ref, ins[0])
		return out, true, err
	case *ir.Dedupe:
		return Dedupe(s, ref, ins[0]), true, nil
	case *ir.TopN:
		out, err := TopN(s, ref, ins[0])
		return out, true, err
	case *ir.Join:
		if len(ins) != 2 {
			return beam.PCollection{}, true, fmt.Errorf("join %q: %d inputs, want 2", n.Name, len(ins))
		}
		out, err := Join(s, ref, ins[0], ins[1])
		return out, true, err
	case *ir.Lookup:
		out, err := Lookup(s, ref, ins[0])
		return out, true, err
	}
	return beam.PCollection{}, false, nil
}
