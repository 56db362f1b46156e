// Package all lists the first-party backends explicitly, in one place.
package all

import (
	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/argo"
	"rtsap.dev/rtsapc/backends/beamgo"
	"rtsap.dev/rtsapc/backends/flink"
	"rtsap.dev/rtsapc/backends/irdump"
	"rtsap.dev/rtsapc/backends/nifi"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/backends/spark"
)

// Backends are the first-party backends. Each backend owner adds its
// descriptor here.
var Backends = []*backends.Backend{
	irdump.Backend,
	nifi.Backend,
	argo.Backend,
	openlineage.Backend,
	flink.Backend,
	spark.Backend,
	beamgo.Backend,
}

// Default returns a registry holding Backends.
func Default() *backends.Registry {
	r := backends.NewRegistry()
	for _, b := range Backends {
		r.MustRegister(b)
	}
	return r
}
