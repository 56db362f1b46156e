package sink

import (
	"fmt"

	"rtsap.dev/rtsapc/compiler/ir"
)

func newMongo(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	return nil, fmt.Errorf("mongodb: not yet implemented")
}
