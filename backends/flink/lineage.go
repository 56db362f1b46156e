package flink

import (
	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/compiler/ir"
)

// The sql job facet of a flink pipeline is the script job.sql holds (the
// same code writes both); a pipeline Flink SQL cannot express has none.
// Its processing_engine facet names flink.version, default DefaultVersion.
func init() {
	openlineage.RegisterSQL("flink", SQL)
	openlineage.RegisterEngineVersion("flink", DefaultVersion)
}

// SQL returns the Flink SQL script of pl and its dialect ("flink"), or ""
// when the pipeline has errors on Flink.
func SQL(pl *ir.Pipeline, opts *backends.Options) (query, dialect string) {
	if opts == nil {
		opts = &backends.Options{}
	}
	sc := newScript(pl, opts)
	q := sc.build()
	if sc.diags.HasErrors() {
		return "", ""
	}
	return q, "flink"
}
