package sink

import (
	"fmt"

	"rtsap.dev/rtsapc/compiler/ir"
)

func newS3(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	return nil, fmt.Errorf("s3: not yet implemented")
}

func newMongo(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	return nil, fmt.Errorf("mongodb: not yet implemented")
}
