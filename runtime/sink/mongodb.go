package sink

import (
	"fmt"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/sink/mongosink"
)

// newMongo reads the mongodb options (stdlib/connect/mongodb):
//
//	uri           a secret (connection strings carry credentials)
//	database, collection
//	writeConcern  "majority" or a number of nodes
//	batchSize     writes per bulk request (default 1000)
func newMongo(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	c := &op.Connector
	uri, ok, err := secretOnly(c, "uri", opts)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("mongodb: the uri option (a secret) is required")
	}
	return mongosink.New(mongosink.Config{
		URI:          uri,
		Database:     c.String("database", ""),
		Collection:   c.String("collection", ""),
		Record:       node.Out,
		Key:          op.Key,
		WriteConcern: c.String("writeConcern", ""),
		BatchRows:    int(c.Int("batchSize", int64(opts.BatchRows))),
	})
}
