package lineage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"rtsap.dev/rtsapc/backends/openlineage/ol"
)

// RunConfig describes a run of a pipeline whose static declaration (the
// job.json the openlineage backend writes) is Job.
type RunConfig struct {
	// Job is the JSON of the pipeline's static JobEvent. Its job facets
	// and its inputs and outputs (schema, columnLineage, …) are sent with
	// START and with the terminal event.
	Job []byte
	// Interval between RUNNING events of a STREAMING job; default 1m;
	// negative disables them. BATCH jobs emit none.
	Interval time.Duration
	// Engine and EngineVersion fill the processing_engine run facet
	// (default "beam" and "unknown").
	Engine, EngineVersion string
	// Parent links the run to the run that started it (an Argo workflow).
	Parent *ol.ParentRunFacet
	// RunID overrides the generated UUIDv7 (tests, or an id chosen by a
	// scheduler).
	RunID string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Stats, if set, is called for each RUNNING and terminal event; its
	// counts go into the inputStatistics / outputStatistics facets of the
	// datasets they name (counts for datasets the job does not declare are
	// ignored). It must be quick and safe to call from another goroutine.
	Stats func() []Count
}

// Count is how much a run read from (Output false) or wrote to a dataset so
// far.
type Count struct {
	Namespace, Name string
	Output          bool
	Rows, Bytes     int64
}

// Run is one execution of a job. Its methods never block on the
// transport and never fail; they are safe for concurrent use.
type Run struct {
	em       *Emitter
	cfg      RunConfig
	static   ol.JobEvent
	producer string
	facets   *ol.RunFacets
	stop     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

// StartRun parses the static job event, emits START and, for a streaming
// job, starts emitting RUNNING every Interval until a terminal method is
// called. The error is only about cfg.Job; nothing is emitted then.
func StartRun(em *Emitter, cfg RunConfig) (*Run, error) {
	var st ol.JobEvent
	if err := json.Unmarshal(cfg.Job, &st); err != nil {
		return nil, fmt.Errorf("lineage: static job event: %w", err)
	}
	if st.Job.Namespace == "" || st.Job.Name == "" {
		return nil, errors.New("lineage: static job event names no job")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Engine == "" {
		cfg.Engine = "beam"
	}
	if cfg.RunID == "" {
		cfg.RunID = ol.NewRunID()
	}
	producer := st.Producer
	if producer == "" {
		producer = "https://rtsap.dev/rtsapc"
	}
	r := &Run{em: em, cfg: cfg, static: st, producer: producer, stop: make(chan struct{})}
	r.facets = &ol.RunFacets{Parent: cfg.Parent,
		ProcessingEngine: ol.NewProcessingEngine(producer, cfg.Engine, cfg.EngineVersion, adapterVersion())}
	streaming := r.streaming()
	if st.Job.Facets != nil && st.Job.Facets.JobType != nil {
		jf := *st.Job.Facets
		jt := *jf.JobType
		jt.EmissionPattern = &ol.EmissionPattern{EventTrigger: ol.EventBased, EventContentMode: ol.Accumulative}
		if streaming && cfg.Interval > 0 {
			jt.EmissionPattern = &ol.EmissionPattern{EventTrigger: ol.Periodic, EventContentMode: ol.Accumulative,
				WindowDuration: max(1, int64(cfg.Interval/time.Second))}
		}
		jf.JobType = &jt
		r.static.Job.Facets = &jf
	}
	r.emit(ol.Start, true, nil)
	if streaming && cfg.Interval > 0 {
		r.wg.Add(1)
		go r.tick()
	}
	return r, nil
}

func (r *Run) streaming() bool {
	f := r.static.Job.Facets
	return f != nil && f.JobType != nil && f.JobType.ProcessingType == ol.Streaming
}

func (r *Run) tick() {
	defer r.wg.Done()
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.emit(ol.Running, false, nil)
		}
	}
}

// ID returns the run id.
func (r *Run) ID() string { return r.cfg.RunID }

// Complete ends the run successfully. Only the first terminal call emits.
func (r *Run) Complete() { r.end(ol.Complete, nil) }

// Fail ends the run with err (its message goes into the errorMessage
// facet).
func (r *Run) Fail(err error) {
	if err == nil {
		err = errors.New("failed")
	}
	r.end(ol.Fail, err)
}

// Abort ends a run that was stopped (cancelled) rather than failed.
func (r *Run) Abort() { r.end(ol.Abort, nil) }

func (r *Run) end(t ol.EventType, err error) {
	r.once.Do(func() {
		close(r.stop)
		r.wg.Wait()
		r.emit(t, true, err)
	})
}

// emit builds and queues one event; datasets says whether the static
// inputs and outputs go with it (START and terminal events; RUNNING events
// stay small, since events of a run accumulate).
func (r *Run) emit(t ol.EventType, datasets bool, err error) {
	facets := *r.facets
	if err != nil {
		facets.ErrorMessage = ol.NewErrorMessage(r.producer, err.Error(), "")
	}
	ev := ol.RunEvent{EventTime: r.cfg.Now().UTC(), Producer: r.producer, SchemaURL: ol.RunEventSchemaURL,
		EventType: t, Run: ol.Run{RunID: r.cfg.RunID, Facets: &facets}, Job: r.static.Job}
	if datasets {
		ev.Inputs, ev.Outputs = r.static.Inputs, r.static.Outputs
	} else {
		ev.Job = ol.Job{Namespace: r.static.Job.Namespace, Name: r.static.Job.Name}
	}
	if r.cfg.Stats != nil && t != ol.Start {
		r.withStats(&ev, datasets)
	}
	r.em.Emit(ev)
}

// withStats adds the statistics facets, to copies of the static datasets
// (full) or to bare references (RUNNING).
func (r *Run) withStats(ev *ol.RunEvent, full bool) {
	in := map[[2]string]Count{}
	out := map[[2]string]Count{}
	for _, c := range r.cfg.Stats() {
		if c.Output {
			out[[2]string{c.Namespace, c.Name}] = c
		} else {
			in[[2]string{c.Namespace, c.Name}] = c
		}
	}
	ev.Inputs, ev.Outputs = nil, nil
	for _, d := range r.static.Inputs {
		c, ok := in[[2]string{d.Namespace, d.Name}]
		if !ok && !full {
			continue
		}
		if !full {
			d = ol.InputDataset{Namespace: d.Namespace, Name: d.Name}
		}
		if ok {
			d.InputFacets = &ol.InputDatasetFacets{InputStatistics: ol.NewInputStatistics(r.producer, c.Rows, c.Bytes)}
		}
		ev.Inputs = append(ev.Inputs, d)
	}
	for _, d := range r.static.Outputs {
		c, ok := out[[2]string{d.Namespace, d.Name}]
		if !ok && !full {
			continue
		}
		if !full {
			d = ol.OutputDataset{Namespace: d.Namespace, Name: d.Name}
		}
		if ok {
			d.OutputFacets = &ol.OutputDatasetFacets{OutputStatistics: ol.NewOutputStatistics(r.producer, c.Rows, c.Bytes)}
		}
		ev.Outputs = append(ev.Outputs, d)
	}
}

// adapterVersion is rtsapc's module version when built from a module.
func adapterVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "rtsap.dev/rtsapc" {
				return d.Version
			}
		}
		if bi.Main.Path == "rtsap.dev/rtsapc" && bi.Main.Version != "" {
			return bi.Main.Version
		}
	}
	return ""
}

// Track runs f as one lineage run: START before it, then COMPLETE when f
// returns nil, ABORT when ctx was cancelled, FAIL (with f's error)
// otherwise. It returns f's error unchanged; lineage problems never change
// the outcome — with an unreadable cfg.Job, f runs without lineage.
func Track(ctx context.Context, em *Emitter, cfg RunConfig, f func(context.Context) error) error {
	run, err := StartRun(em, cfg)
	if err != nil {
		return f(ctx)
	}
	ferr := f(ctx)
	switch {
	case ferr == nil:
		run.Complete()
	case ctx.Err() != nil:
		run.Abort()
	default:
		run.Fail(ferr)
	}
	return ferr
}
