package spark

import "rtsap.dev/rtsapc/backends/openlineage"

// The sql job facet of a spark pipeline is the script of the SELECTs its
// program runs (see sql.go); a pipeline whose transformations are not all
// Spark SQL has none.
//
// Its processing_engine facet names spark.version, default DefaultVersion.
func init() {
	openlineage.RegisterSQL("spark", SQL)
	openlineage.RegisterEngineVersion("spark", DefaultVersion)
}
