package sink

import (
	"fmt"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/sink/qdrantsink"
)

// newQdrant reads the qdrant options (stdlib/connect/qdrant):
//
//	url         the REST API, http(s)://host:6333 (a literal or a secret);
//	            6334, the gRPC port, is refused by name
//	collection  created at Open when missing and dimensions is set
//	vector      the list<float32|float64> field; the others are payload
//	apiKey      a secret, sent as the api-key header
//	distance    Cosine (default when creating), Dot, Euclid (Manhattan)
//	dimensions  every vector's length, checked per row and against the
//	            collection
//	batchSize   points per request (default 256)
//
// The key gives the point ids (see runtime/sink/qdrantsink).
func newQdrant(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	c := &op.Connector
	u, ok, err := Resolve(c, "url", opts)
	if err != nil {
		return nil, fmt.Errorf("qdrant: %w", err)
	}
	if o, _ := c.Option("url"); opts.check && (!ok || isSecret(o)) {
		u = "http://" + checkPlaceholder + ".invalid:6333" // given at run time (--set, the secret)
	}
	if u == "" {
		return nil, fmt.Errorf("qdrant: the url option is required (the REST API, e.g. http://qdrant:6333)")
	}
	key, _, err := secretOnly(c, "apiKey", opts)
	if err != nil {
		return nil, fmt.Errorf("qdrant: %w", err)
	}
	dims := c.Int("dimensions", 0)
	if dims < 0 || dims > 65536 {
		return nil, fmt.Errorf("qdrant: dimensions %d is not 1–65536", dims)
	}
	vec := c.String("vector", "")
	if vec == "" {
		return nil, fmt.Errorf("qdrant: the vector option is required")
	}
	return qdrantsink.New(qdrantsink.Config{
		URL:        u,
		APIKey:     key,
		Collection: c.String("collection", ""),
		Record:     node.Out,
		Vector:     vec,
		Key:        op.Key,
		Distance:   c.String("distance", ""),
		Dimensions: int(dims),
		BatchRows:  int(c.Int("batchSize", int64(opts.BatchRows))),
		HTTP:       opts.HTTPClient,
		Backoff:    opts.RetryBackoff,
	})
}

func isSecret(o ir.Option) bool {
	_, ok := o.Value.(*ir.Secret)
	return ok
}
