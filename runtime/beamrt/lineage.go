package beamrt

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core"

	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lineage"
)

// LineageDataset names the dataset a source reads or a sink writes as the
// static events name it (openlineage.NodeDatasets), so the run's row counts
// land on the right input or output.
type LineageDataset struct {
	Node            string
	Namespace, Name string
	Output          bool
}

// Lineage is the OpenLineage side of a run: the emitter events go through
// and what the compiler declared about the job. A nil *Lineage emits
// nothing.
type Lineage struct {
	// Emitter delivers the events (never blocking the pipeline).
	Emitter *lineage.Emitter
	// Job is the static JobEvent JSON (<pipeline>/openlineage/job.json):
	// its job facets, inputs and outputs go with START and the terminal
	// event.
	Job []byte
	// Datasets map source and sink nodes to the job's datasets for the
	// inputStatistics and outputStatistics facets.
	Datasets []LineageDataset
	// Interval between RUNNING events of a streaming job (default 1m).
	Interval time.Duration
	// Parent links the run to the run that started it; nil reads
	// OPENLINEAGE_PARENT_ID.
	Parent *ol.ParentRunFacet
	// RunID overrides the generated run id.
	RunID string
	// Now is the clock of event times (default time.Now).
	Now func() time.Time

	mu    sync.Mutex
	first error // first transport error, for the report
}

// OpenLineage opens the transport setting names (see lineage.Open:
// "console", "file:PATH", "http(s)://…", "kafka://…", "off"); an empty
// setting leaves the choice to the environment (lineage.FromEnv). A bad
// setting is returned as an error with a nil *Lineage, which runs without
// lineage.
func OpenLineage(setting string, job []byte, datasets []LineageDataset) (*Lineage, error) {
	var t lineage.Transport
	var err error
	if setting == "" {
		t, err = lineage.FromEnv(nil)
	} else {
		t, err = lineage.Open(setting, nil)
	}
	if err != nil {
		return nil, err
	}
	l := &Lineage{Job: job, Datasets: datasets}
	l.Emitter = lineage.NewEmitter(t, lineage.EmitterOptions{OnError: l.OnError})
	return l, nil
}

// OnError records the first transport error (EmitterOptions.OnError).
func (l *Lineage) OnError(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.first == nil {
		l.first = err
	}
}

// Err returns the first error the transport reported (events are never
// retried past the transport's own retries; the run is not affected).
func (l *Lineage) Err() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first
}

// Stats returns the emitter's counts.
func (l *Lineage) Stats() lineage.Stats {
	if l == nil {
		return lineage.Stats{}
	}
	return l.Emitter.Stats()
}

// Close flushes the queued events for at most timeout, then closes the
// transport. Delivery cut short is counted in Stats, not returned.
func (l *Lineage) Close(timeout time.Duration) {
	if l == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = l.Emitter.Close(ctx)
}

// LineageRun is one started run; its methods are no-ops on nil.
type LineageRun struct{ r *lineage.Run }

// Start emits START (and, for a streaming job, RUNNING every Interval until
// the run ends). With no Job, or one that does not parse, nothing is
// emitted and the returned run does nothing.
func (l *Lineage) Start() *LineageRun {
	if l == nil || len(l.Job) == 0 {
		return nil
	}
	parent := l.Parent
	if parent == nil {
		parent = lineage.ParentFromEnv(nil, "")
	}
	r, err := lineage.StartRun(l.Emitter, lineage.RunConfig{Job: l.Job, Interval: l.Interval, Engine: "beam",
		EngineVersion: core.SdkVersion, Parent: parent, RunID: l.RunID, Now: l.Now, Stats: l.counts})
	if err != nil {
		l.OnError(err)
		return nil
	}
	return &LineageRun{r}
}

// ID is the run id ("" on nil).
func (r *LineageRun) ID() string {
	if r == nil {
		return ""
	}
	return r.r.ID()
}

// End emits the terminal event for the run's outcome: ABORT when ctx was
// cancelled (interrupt), FAIL with err's message, else COMPLETE.
func (r *LineageRun) End(ctx context.Context, err error) {
	switch {
	case r == nil:
	case ctx.Err() != nil:
		r.r.Abort()
	case err != nil:
		r.r.Fail(err)
	default:
		r.r.Complete()
	}
}

// Abort ends the run as stopped rather than failed.
func (r *LineageRun) Abort() {
	if r != nil {
		r.r.Abort()
	}
}

// Track runs f as one lineage run: START, then ABORT, FAIL or COMPLETE by
// its outcome (see End). f's error is returned unchanged.
func (l *Lineage) Track(ctx context.Context, f func(context.Context) error) error {
	run := l.Start()
	err := f(ctx)
	run.End(ctx, err)
	return err
}

// counts reads the in-process node counters: rows a source emitted, rows
// a sink received. On a remote runner the counters stay in the workers and
// no statistics are reported.
func (l *Lineage) counts() []lineage.Count {
	byNode := map[string]NodeProgress{}
	for _, p := range Progress() {
		byNode[p.Node] = p
	}
	var out []lineage.Count
	for _, d := range l.Datasets {
		p, ok := byNode[d.Node]
		if !ok {
			continue
		}
		rows := p.Out
		if d.Output {
			rows = p.In
		}
		out = append(out, lineage.Count{Namespace: d.Namespace, Name: d.Name, Output: d.Output, Rows: rows})
	}
	return out
}

// RunWithLineage is Run inside one lineage run (START, periodic RUNNING for
// streaming jobs, then COMPLETE, FAIL or ABORT). Lineage never changes the
// outcome: Run's error is returned as is.
func RunWithLineage(ctx context.Context, pl *ir.Pipeline, opts Options, l *Lineage) error {
	return l.Track(ctx, func(ctx context.Context) error { return Run(ctx, pl, opts) })
}

// Summary is one line about the events of a finished run ("" when all
// were delivered), for the program's log.
func (l *Lineage) Summary() string {
	if l == nil {
		return ""
	}
	s := l.Stats()
	if s.Failed+s.Dropped == 0 {
		return ""
	}
	msg := fmt.Sprintf("openlineage: %d events sent, %d failed, %d dropped", s.Sent, s.Failed, s.Dropped)
	if err := l.Err(); err != nil {
		msg += ": " + err.Error()
	}
	return msg
}

// LineageMain is the lineage of a generated program's run: the transport
// setting names (its --lineage flag; "" leaves it to the environment), the
// static job and datasets the compiler embedded, RUNNING every interval. A
// bad setting is logged and the program runs without lineage.
func LineageMain(setting string, job []byte, datasets []LineageDataset, interval time.Duration) *Lineage {
	l, err := OpenLineage(setting, job, datasets)
	if err != nil {
		log.Printf("openlineage off: %v", err)
		return nil
	}
	l.Interval = interval
	return l
}

// Finish flushes the events for at most 10s and logs what was lost.
func (l *Lineage) Finish() {
	l.Close(10 * time.Second)
	if msg := l.Summary(); msg != "" {
		log.Print(msg)
	}
}

// InterruptContext is cancelled on SIGINT or SIGTERM, so an interrupted run
// is reported as ABORT.
func InterruptContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
