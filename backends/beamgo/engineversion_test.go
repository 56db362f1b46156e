package beamgo

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
)

// The declaration's processing_engine version is the runtime's Beam SDK
// (what beamrt's run events report), or beam.version.
func TestEngineVersionRegistered(t *testing.T) {
	if v := openlineage.EngineVersion("beam", &backends.Options{}); v != core.SdkVersion || v == "" {
		t.Errorf("engine version %q, want %q", v, core.SdkVersion)
	}
	if v := openlineage.EngineVersion("beam", &backends.Options{Settings: map[string]string{"beam.version": "2.70.0"}}); v != "2.70.0" {
		t.Errorf("beam.version not honoured: %q", v)
	}
}
