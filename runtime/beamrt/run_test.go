package beamrt

import (
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
)

// Prism's dynamic splits lose the state of stateful stages (prismNoSplit):
// every run turns them off, keeping experiments given on the command line.
func TestDisablePrismSplits(t *testing.T) {
	saved := *jobopts.Experiments
	t.Cleanup(func() { *jobopts.Experiments = saved })
	*jobopts.Experiments = "use_runner_v2"
	DisablePrismSplits()
	DisablePrismSplits()
	if got, want := *jobopts.Experiments, "use_runner_v2,"+prismNoSplit; got != want {
		t.Errorf("experiments %q, want %q", got, want)
	}
	*jobopts.Experiments = ""
	DisablePrismSplits()
	if got := *jobopts.Experiments; got != prismNoSplit {
		t.Errorf("experiments %q, want %q", got, prismNoSplit)
	}
}
