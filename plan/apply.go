package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/state"
)

// ApplyConfig is the input of [Apply].
type ApplyConfig struct {
	Plan    *Plan
	Targets map[string]target.Target
	// Store persists progress; the caller holds its lock. State is the
	// state read under that lock (nil when there is none yet).
	Store state.Store
	State *state.State
	// Version is written into the state.
	Version string
	// ReadyTimeout bounds the wait for each stage's readiness (0: 5m).
	ReadyTimeout time.Duration
	// Progress, when set, is told of each step ("create kafka.topic[…]").
	Progress func(ev Event)
	// AfterEach, when set, runs after each change is recorded in the state;
	// returning an error stops the apply there (tests use it to simulate a
	// crash midway).
	AfterEach func(c *Change) error
}

// Event is a progress report.
type Event struct {
	Addr   string
	Action Action
	// Phase: "start", "done", "waiting", "ready", "error".
	Phase  string
	Detail string
}

// CheckStale reports StalePlan when st (read under the lock) is not the
// state the plan was made against, or when a live resource the plan changes
// moved since the plan was made.
func CheckStale(ctx context.Context, p *Plan, st *state.State, targets map[string]target.Target) diag.Diagnostics {
	stale := func(detail string, args ...any) diag.Diagnostics {
		return diag.Diagnostics{diag.Errorf(diag.StalePlan, diag.Range{}, "Saved plan is stale",
			"The given plan file can no longer be applied because "+detail+". Run rtsapc plan again.", args...)}
	}
	cur := PriorState{}
	if st != nil {
		cur = PriorState{Lineage: st.Lineage, Serial: st.Serial}
	}
	if cur.Lineage != p.Prior.Lineage && p.Prior.Lineage != "" {
		return stale("it was made against another state (lineage %q, now %q)", p.Prior.Lineage, cur.Lineage)
	}
	if cur.Serial != p.Prior.Serial {
		return stale("the state was changed by another operation after the plan was created (serial %d, now %d)", p.Prior.Serial, cur.Serial)
	}
	// Live resources: re-read what the plan touches.
	byTarget := map[string][]*target.Resource{}
	for _, c := range p.Changes {
		r := c.Resource()
		if c.Action == Delete && st != nil {
			if pr := st.Lookup(c.Addr); pr != nil {
				r.Body = priorBodyOf(pr)
			}
		}
		byTarget[c.Target] = append(byTarget[c.Target], r)
	}
	for _, tn := range sortedTargetNames(byTarget) {
		t := targets[tn]
		if t == nil {
			return diag.Diagnostics{diag.Errorf(diag.TargetUnreachable, diag.Range{}, "Target not configured",
				"The plan changes resources in target %q, which is not configured.", tn)}
		}
		var live map[string]map[string]any
		if wo, ok := t.(target.WriteOnly); ok && wo.WriteOnly() {
			// Write-only targets: the state's record is the live form.
			live = map[string]map[string]any{}
			for _, r := range byTarget[tn] {
				if pr := st.Lookup(r.Addr); st != nil && pr != nil {
					live[r.Addr] = priorBodyOf(pr)
				}
			}
		} else {
			var err error
			live, err = t.Read(ctx, byTarget[tn])
			if err != nil {
				return diag.Diagnostics{diag.Errorf(diag.TargetUnreachable, diag.Range{}, "Cannot read target",
					"Reading the live state of target %q failed: %v", tn, err)}
			}
		}
		for _, r := range byTarget[tn] {
			var pb map[string]any
			if st != nil {
				if pr := st.Lookup(r.Addr); pr != nil {
					pb = priorBodyOf(pr)
				}
			}
			l, ok := live[r.Addr]
			now := ""
			if ok {
				ln, _ := NormalizeObject(l)
				if r.Body != nil && !isDeleteOf(p, r.Addr) {
					now = Digest(Project(ln, r.Body, pb))
				} else {
					now = Digest(Project(ln, pb))
				}
			}
			c := changeOf(p, r.Addr)
			if c != nil && now != c.BeforeDigest {
				return stale("%s changed since the plan was made", r.Addr)
			}
			if c != nil && ok {
				c.live, _ = NormalizeObject(l)
			}
		}
	}
	return nil
}

func isDeleteOf(p *Plan, addr string) bool {
	c := changeOf(p, addr)
	return c != nil && c.Action == Delete
}

func changeOf(p *Plan, addr string) *Change {
	for _, c := range p.Changes {
		if c.Addr == addr {
			return c
		}
	}
	return nil
}

func priorBodyOf(pr *state.Resource) map[string]any {
	v, err := decodeJSON(pr.Body)
	if err != nil {
		return nil
	}
	m, _ := v.(map[string]any)
	return m
}

// Apply carries out the plan in stages: creates, updates and replacements
// stage by stage (prerequisites, config, jobs, lineage), waiting for each
// stage to be ready before the next (a job must not start before the topic
// it reads exists); then deletions in reverse stage order (jobs stop before
// their topics go). Every finished change is written to the state at once,
// so an apply that dies midway loses nothing and a re-run continues.
func Apply(ctx context.Context, cfg *ApplyConfig) (*state.State, diag.Diagnostics) {
	p := cfg.Plan
	st := cfg.State
	if st == nil {
		st = state.New()
	}
	st.Env = p.Env
	readyTimeout := cfg.ReadyTimeout
	if readyTimeout <= 0 {
		readyTimeout = 5 * time.Minute
	}
	progress := func(ev Event) {
		if cfg.Progress != nil {
			cfg.Progress(ev)
		}
	}
	persist := func() diag.Diagnostics {
		st.Serial++
		st.RtsapcVersion = cfg.Version
		if err := cfg.Store.Write(ctx, st); err != nil {
			return diag.Diagnostics{diag.Errorf(diag.ApplyFailed, diag.Range{}, "Cannot write state",
				"Writing %s failed: %v. The changes applied so far are live but not recorded.", cfg.Store.Describe(), err)}
		}
		return nil
	}
	record := func(r *target.Resource) {
		redacted, _ := Redact(r.Body)
		st.Put(&state.Resource{Addr: r.Addr, Target: r.Target, Type: r.Type, Name: r.Name, Pipeline: r.Pipeline,
			Stage: int(r.Stage), Digest: Digest(r.Body), Body: Canonical(redacted)})
	}

	for _, c := range p.Changes {
		if c.Sensitive {
			return st, diag.Diagnostics{diag.Errorf(diag.SensitivePlanValue, diag.Range{}, "Plan holds redacted values",
				"%s has sensitive values, which plan files never carry. Apply it from the spec (rtsapc apply PATH) instead of a plan file.", c.Addr)}
		}
	}

	// Bookkeeping first: it changes nothing live.
	if len(p.Records) > 0 {
		for _, r := range p.Records {
			switch r.Action {
			case "adopt":
				if r.After != nil {
					record(&target.Resource{Addr: r.Addr, Target: r.Target, Type: r.Type, Name: r.Name,
						Pipeline: r.Pipeline, Stage: r.Stage, Body: r.After})
				}
			case "forget":
				st.Remove(r.Addr)
			}
		}
		if ds := persist(); ds != nil {
			return st, ds
		}
	}

	jobsDone := false
	recordJobs := func() diag.Diagnostics {
		if jobsDone || len(p.Jobs) == 0 {
			return nil
		}
		jobsDone = true
		for _, j := range p.Jobs {
			if j.Action == Delete || j.Graph == nil {
				st.RemoveJob(j.Pipeline)
				continue
			}
			g, _ := json.Marshal(j.Graph)
			st.PutJob(&state.Job{Pipeline: j.Pipeline, Engine: j.Engine, Graph: g})
		}
		return persist()
	}

	var stage target.Stage
	var applied []*Change
	wait := func() diag.Diagnostics {
		ds := waitReady(ctx, cfg.Targets, applied, readyTimeout, progress)
		applied = nil
		return ds
	}
	for _, c := range p.Changes {
		if c.Action != Delete && c.Stage != stage {
			if ds := wait(); ds.HasErrors() {
				return st, ds
			}
			if stage <= target.Jobs && c.Stage > target.Jobs {
				if ds := recordJobs(); ds != nil {
					return st, ds
				}
			}
			stage = c.Stage
		}
		if c.Action == Delete && len(applied) > 0 {
			if ds := wait(); ds.HasErrors() {
				return st, ds
			}
		}
		t := cfg.Targets[c.Target]
		if t == nil {
			return st, diag.Diagnostics{diag.Errorf(diag.TargetUnreachable, diag.Range{}, "Target not configured",
				"%s belongs to target %q, which is not configured.", c.Addr, c.Target)}
		}
		progress(Event{Addr: c.Addr, Action: c.Action, Phase: "start"})
		var err error
		switch c.Action {
		case Create, Update:
			err = t.Apply(ctx, c.Resource(), c.live)
		case Replace:
			if err = t.Delete(ctx, c.Resource()); err == nil {
				err = t.Apply(ctx, c.Resource(), nil)
			}
		case Delete:
			r := &target.Resource{Addr: c.Addr, Target: c.Target, Type: c.Type, Name: c.Name, Pipeline: c.Pipeline, Stage: c.Stage}
			if pr := st.Lookup(c.Addr); pr != nil {
				r.Body = priorBodyOf(pr)
			}
			err = t.Delete(ctx, r)
		}
		if err != nil {
			progress(Event{Addr: c.Addr, Action: c.Action, Phase: "error", Detail: err.Error()})
			return st, diag.Diagnostics{diag.Errorf(diag.ApplyFailed, diag.Range{}, "Apply failed",
				"%s %s: %s. The changes before it are applied and recorded in the state; fix the cause and run apply again to continue.",
				c.Action, c.Addr, strings.TrimSuffix(err.Error(), "."))}
		}
		if c.Action == Delete {
			st.Remove(c.Addr)
		} else {
			record(c.Resource())
			applied = append(applied, c)
		}
		if ds := persist(); ds != nil {
			return st, ds
		}
		progress(Event{Addr: c.Addr, Action: c.Action, Phase: "done"})
		if cfg.AfterEach != nil {
			if err := cfg.AfterEach(c); err != nil {
				return st, diag.Diagnostics{diag.Errorf(diag.ApplyFailed, diag.Range{}, "Apply stopped", "%v", err)}
			}
		}
	}
	if ds := wait(); ds.HasErrors() {
		return st, ds
	}
	if ds := recordJobs(); ds != nil {
		return st, ds
	}
	return st, nil
}

// waitReady polls the readiness of the changes just applied until all are
// ready (or cannot tell) or the timeout passes.
func waitReady(ctx context.Context, targets map[string]target.Target, cs []*Change, timeout time.Duration, progress func(Event)) diag.Diagnostics {
	deadline := time.Now().Add(timeout)
	pending := append([]*Change(nil), cs...)
	delay := 100 * time.Millisecond
	for len(pending) > 0 {
		var next []*Change
		var last string
		for _, c := range pending {
			rd, err := targets[c.Target].Ready(ctx, c.Resource())
			if err != nil {
				return diag.Diagnostics{diag.Errorf(diag.ResourceNotReady, diag.Range{}, "Readiness check failed", "%s: %v", c.Addr, err)}
			}
			if rd.Ready || !rd.Known {
				progress(Event{Addr: c.Addr, Action: c.Action, Phase: "ready", Detail: rd.Detail})
				continue
			}
			last = fmt.Sprintf("%s: %s", c.Addr, rd.Detail)
			next = append(next, c)
		}
		pending = next
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return diag.Diagnostics{diag.Errorf(diag.ResourceNotReady, diag.Range{}, "Not ready in time",
				"%d resource(s) not ready after %s (%s). They are applied and recorded; run apply again to re-check, or investigate.",
				len(pending), timeout, last)}
		}
		progress(Event{Addr: pending[0].Addr, Phase: "waiting", Detail: last})
		select {
		case <-ctx.Done():
			return diag.Diagnostics{diag.Errorf(diag.ResourceNotReady, diag.Range{}, "Interrupted", "waiting for readiness: %v", ctx.Err())}
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
	}
	return nil
}
