package beamrt

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
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
