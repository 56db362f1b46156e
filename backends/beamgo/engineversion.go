package beamgo

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core"

	"rtsap.dev/rtsapc/backends/openlineage"
)

// The processing_engine facet of a beam pipeline's static declaration names
// beam.version, default the Beam SDK the runtime (and so the generated
// program) is built with: the version its run events report.
func init() { openlineage.RegisterEngineVersion("beam", core.SdkVersion) }
