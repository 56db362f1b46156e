package beamrt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"rtsap.dev/rtsapc/compiler/ir"
)

var initOnce sync.Once

// Run builds pipeline pl and executes it in-process on Prism (loopback
// workers), returning when the job ends: a bounded run ends when every
// source reached its bound and every window flushed.
func Run(ctx context.Context, pl *ir.Pipeline, opts Options) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pipeline %q: %v", pl.Name, r)
		}
	}()
	initOnce.Do(func() {
		if !beam.Initialized() {
			// beam.Init installs a stderr slog handler at INFO, and Prism
			// logs every job step there; the run's own progress replaces
			// that, so only warnings get through.
			if beamlog.LogLevel == "info" {
				beamlog.LogLevel = "warn"
			}
			beam.Init()
		}
		DisablePrismSplits()
	})
	e, err := Encode(pl, opts)
	if err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	if _, err := Build(s, e); err != nil {
		return err
	}
	defer CloseSinkFiles()
	if _, err := prism.Execute(ctx, p); err != nil {
		return fmt.Errorf("pipeline %q: %v", pl.Name, err)
	}
	return CloseSinkFiles()
}

// prismNoSplit turns off Prism's dynamic splitting of running bundles.
// Prism (2.77) splits bundles of stateful stages too, and such a split
// loses state: splitBundle frees every key of the residual although the
// primary may still be processing that key, so a new bundle of the key
// runs at once on a state snapshot taken before the primary persists, and
// whichever bundle persists last overwrites the other's writes (state is
// persisted per key, whole). It also cuts the bundle's element list, which
// mixes data and timers, at the SDK's split index: rows were seen processed
// twice, and fired timers are queued again (the "Unexpected split on a
// bundle with timers" warning, apache/beam#35771). In the interval join
// this dropped rows from the pending bag: trades met an older quote than
// the prevailing one, or none. Our sources self-checkpoint
// (ResumeProcessingIn) and need no runner-initiated splits.
const prismNoSplit = "prism_disable_sdf_split"

// DisablePrismSplits adds prismNoSplit to the job's experiments (kept
// with any given on the command line). Run calls it; a program that runs
// these operators on Prism itself calls it after flag.Parse.
func DisablePrismSplits() {
	exps := jobopts.GetExperiments()
	if slices.Contains(exps, prismNoSplit) {
		return
	}
	*jobopts.Experiments = strings.Join(append(exps, prismNoSplit), ",")
}
