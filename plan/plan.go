// Package plan computes and applies changes: desired resources (from the
// backends' artifacts and the IR) against the state (what rtsapc applied
// last) and the live targets (what is there now).
//
// A [Plan] is a value: it lists every change with field-level diffs, drift
// (live resources changed outside rtsapc since the last apply) apart from
// the changes, and a state-compatibility verdict for each streaming job. It
// carries the desired bodies it was computed for, so a saved plan is
// self-contained: [Apply] applies exactly it, and refuses it when the state
// or a live resource moved since (StalePlan).
//
// The JSON form of a Plan is the -json view; the human view renders from the
// same structure ([WriteHuman]), so the two cannot drift apart.
package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/state"
)

// FormatVersion is the version of the plan JSON layout (view and file).
const FormatVersion = "1"

// Plan is what apply will do.
type Plan struct {
	FormatVersion string `json:"format_version"`
	RtsapcVersion string `json:"rtsapc_version,omitempty"`
	Env           string `json:"env,omitempty"`
	// Operation is "apply" or "destroy".
	Operation string `json:"operation"`
	// Prior identifies the state the plan was made against; apply refuses
	// the plan when the state is no longer this one.
	Prior PriorState `json:"prior_state"`
	// Changes are the resource changes in apply order (stage, then address).
	Changes []*Change `json:"changes"`
	// Drift lists managed resources whose live form differs from what
	// rtsapc last applied: someone changed them outside rtsapc.
	Drift []*Drift `json:"drift"`
	// Jobs are the streaming jobs whose deployment changes, with verdicts.
	Jobs []*JobChange `json:"jobs"`
	// Records are bookkeeping: resources found already as desired that the
	// state does not record yet (adopted), or recorded but gone (forgotten).
	Records []*Record `json:"records,omitempty"`
	Summary Summary   `json:"summary"`
	// Settings locate the state and targets; plan files carry them (the
	// -json view leaves them out: they are local paths).
	Settings *Settings `json:"settings,omitempty"`
}

// PriorState names a state: its lineage and serial ("" and 0 for none).
type PriorState struct {
	Lineage string `json:"lineage,omitempty"`
	Serial  uint64 `json:"serial"`
}

// Summary counts changes by action.
type Summary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Replace int `json:"replace"`
	Destroy int `json:"destroy"`
}

// Change is one resource change.
type Change struct {
	Addr     string       `json:"address"`
	Target   string       `json:"target"`
	Type     string       `json:"type"`
	Name     string       `json:"name"`
	Pipeline string       `json:"pipeline,omitempty"`
	Stage    target.Stage `json:"stage"`
	Action   Action       `json:"action"`
	// Reason explains a replacement, a recreation or an adoption.
	Reason string        `json:"reason,omitempty"`
	Fields []FieldChange `json:"fields,omitempty"`
	// BeforeDigest is the digest of the live resource at plan time ("" when
	// absent); apply re-reads it and refuses the plan if it moved.
	BeforeDigest string `json:"before_digest,omitempty"`
	AfterDigest  string `json:"after_digest,omitempty"`
	// After is the body to apply (redacted in files and views).
	After map[string]any `json:"after,omitempty"`
	// Sensitive: After held sensitive values, which a plan file does not
	// carry; such a change can only be applied from the spec.
	Sensitive bool `json:"sensitive,omitempty"`

	// prior is the state's record (delete needs its body); live the live
	// body at plan time. Neither is serialised.
	prior *state.Resource
	live  map[string]any
}

// Resource returns the desired resource of a create, update or replace.
func (c *Change) Resource() *target.Resource {
	return &target.Resource{Addr: c.Addr, Target: c.Target, Type: c.Type, Name: c.Name, Pipeline: c.Pipeline, Stage: c.Stage, Body: c.After}
}

// Drift is a live change made outside rtsapc.
type Drift struct {
	Addr   string `json:"address"`
	Target string `json:"target"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	// Action is Update (changed) or Delete (removed outside rtsapc).
	Action Action        `json:"action"`
	Fields []FieldChange `json:"fields,omitempty"`
}

// Record is a state-only update.
type Record struct {
	Addr   string `json:"address"`
	Action string `json:"action"` // "adopt" or "forget"
	Reason string `json:"reason"`
	// The resource adopted (absent for forget).
	Target   string         `json:"target,omitempty"`
	Type     string         `json:"type,omitempty"`
	Name     string         `json:"name,omitempty"`
	Pipeline string         `json:"pipeline,omitempty"`
	Stage    target.Stage   `json:"stage,omitempty"`
	After    map[string]any `json:"after,omitempty"`
}

// HasChanges reports whether applying the plan would change anything live.
func (p *Plan) HasChanges() bool { return len(p.Changes) > 0 || len(p.Jobs) > 0 }

// Config is the input of [Build].
type Config struct {
	Version string
	Env     string
	// Destroy plans the removal of everything the state records; Desired
	// and Jobs are ignored.
	Destroy bool
	Desired []*target.Resource
	Jobs    []*JobGraph
	State   *state.State // nil: nothing applied yet
	Targets map[string]target.Target
}

// Build computes the plan. It reads every target once, for all resources
// desired or recorded there.
func Build(ctx context.Context, cfg *Config) (*Plan, diag.Diagnostics) {
	var ds diag.Diagnostics
	p := &Plan{FormatVersion: FormatVersion, RtsapcVersion: cfg.Version, Env: cfg.Env, Operation: "apply",
		Changes: []*Change{}, Drift: []*Drift{}, Jobs: []*JobChange{}}
	st := cfg.State
	if st == nil {
		st = &state.State{}
	}
	p.Prior = PriorState{Lineage: st.Lineage, Serial: st.Serial}
	desired := map[string]*target.Resource{}
	if cfg.Destroy {
		p.Operation = "destroy"
	} else {
		for _, r := range cfg.Desired {
			if _, dup := desired[r.Addr]; dup {
				ds = ds.Append(diag.Errorf(diag.DuplicateResource, diag.Range{}, "Duplicate resource",
					"Two artifacts declare %s; each resource must come from one place.", r.Addr))
				continue
			}
			body, err := NormalizeObject(r.Body)
			if err != nil {
				ds = ds.Append(diag.Errorf(diag.InternalError, diag.Range{}, "Unencodable resource", "%s: %v", r.Addr, err))
				continue
			}
			rr := *r
			rr.Body = body
			desired[r.Addr] = &rr
		}
	}

	// Read every target once for what is desired or recorded there.
	byTarget := map[string][]*target.Resource{}
	addrs := map[string]bool{}
	for a, r := range desired {
		addrs[a] = true
		byTarget[r.Target] = append(byTarget[r.Target], r)
	}
	priorBody := map[string]map[string]any{}
	for _, pr := range st.Resources {
		var body map[string]any
		if v, err := decodeJSON(pr.Body); err == nil {
			body, _ = v.(map[string]any)
		}
		priorBody[pr.Addr] = body
		addrs[pr.Addr] = true
		if _, ok := desired[pr.Addr]; !ok {
			byTarget[pr.Target] = append(byTarget[pr.Target], &target.Resource{Addr: pr.Addr, Target: pr.Target,
				Type: pr.Type, Name: pr.Name, Pipeline: pr.Pipeline, Stage: target.Stage(pr.Stage), Body: body})
		}
	}
	live := map[string]map[string]any{}
	unreachable := map[string]bool{}
	for _, tn := range sortedTargetNames(byTarget) {
		t := cfg.Targets[tn]
		if t == nil {
			unreachable[tn] = true
			ds = ds.Append(diag.Errorf(diag.TargetUnreachable, diag.Range{}, "Target not configured",
				"%d resource(s) belong to target %q, which is not configured for this environment (first: %s).",
				len(byTarget[tn]), tn, byTarget[tn][0].Addr))
			continue
		}
		if wo, ok := t.(target.WriteOnly); ok && wo.WriteOnly() {
			for _, r := range byTarget[tn] {
				if pb, ok := priorBody[r.Addr]; ok && pb != nil {
					live[r.Addr] = pb
				}
			}
			continue
		}
		got, err := t.Read(ctx, byTarget[tn])
		if err != nil {
			unreachable[tn] = true
			ds = ds.Append(diag.Errorf(diag.TargetUnreachable, diag.Range{}, "Cannot read target",
				"Reading the live state of target %q failed: %v", tn, err))
			continue
		}
		for a, b := range got {
			n, err := NormalizeObject(b)
			if err != nil {
				ds = ds.Append(diag.Errorf(diag.InternalError, diag.Range{}, "Unencodable live resource", "%s: %v", a, err))
				continue
			}
			live[a] = n
		}
	}

	changedPipelines := map[string]bool{}
	for _, a := range sortedKeys(addrs) {
		d := desired[a]
		pr := st.Lookup(a)
		tn := ""
		if d != nil {
			tn = d.Target
		} else if pr != nil {
			tn = pr.Target
		}
		if unreachable[tn] {
			continue
		}
		l, exists := live[a]
		pb := priorBody[a]

		// Drift: the live resource is not what rtsapc applied last.
		if pr != nil {
			switch {
			case !exists:
				p.Drift = append(p.Drift, &Drift{Addr: a, Target: pr.Target, Type: pr.Type, Name: pr.Name, Action: Delete})
			case Digest(Project(l, pb)) != pr.Digest:
				fields := redactFields(DiffValues(pb, Project(l, pb)), pb)
				p.Drift = append(p.Drift, &Drift{Addr: a, Target: pr.Target, Type: pr.Type, Name: pr.Name, Action: Update, Fields: fields})
			}
		}

		switch {
		case d != nil && !exists:
			c := newChange(d, Create)
			c.Fields = redactFields(DiffValues(map[string]any{}, d.Body), d.Body)
			if pr != nil {
				c.Reason = "it was deleted outside rtsapc; it will be created again"
			}
			p.Changes = append(p.Changes, c)
		case d != nil:
			lp := Project(l, d.Body, pb)
			if equal(lp, any(d.Body)) {
				if pr == nil || pr.Digest != Digest(d.Body) {
					p.Records = append(p.Records, &Record{Addr: a, Action: "adopt", Target: d.Target, Type: d.Type,
						Name: d.Name, Pipeline: d.Pipeline, Stage: d.Stage, After: d.Body,
						Reason: "the live resource is already as desired; the state will record it"})
				}
				continue
			}
			c := newChange(d, Update)
			c.live = l
			c.BeforeDigest = Digest(lp)
			c.Fields = redactFields(DiffValues(lp, any(d.Body)), d.Body)
			if rp, ok := cfg.Targets[d.Target].(target.Replacer); ok {
				if need, why := rp.NeedsReplace(d, l); need {
					c.Action, c.Reason = Replace, why
				}
			}
			if pr == nil && c.Reason == "" {
				c.Reason = "it exists but rtsapc has not managed it; apply takes it over"
			}
			c.prior = pr
			p.Changes = append(p.Changes, c)
		case pr != nil && exists:
			c := &Change{Addr: a, Target: pr.Target, Type: pr.Type, Name: pr.Name, Pipeline: pr.Pipeline,
				Stage: target.Stage(pr.Stage), Action: Delete, prior: pr, live: l}
			c.BeforeDigest = Digest(Project(l, pb))
			if cfg.Destroy {
				c.Reason = "destroy"
			} else {
				c.Reason = "it is no longer in the spec"
			}
			p.Changes = append(p.Changes, c)
		case pr != nil:
			p.Records = append(p.Records, &Record{Addr: a, Action: "forget",
				Reason: "it is gone already; the state will forget it"})
		}
	}
	for _, c := range p.Changes {
		if c.Pipeline != "" {
			changedPipelines[c.Pipeline] = true
		}
	}

	// Streaming jobs: compare the recorded graphs with the new ones.
	newJobs := map[string]*JobGraph{}
	if !cfg.Destroy {
		for _, g := range cfg.Jobs {
			newJobs[g.Pipeline] = g
		}
	}
	jobNames := map[string]bool{}
	for n := range newJobs {
		jobNames[n] = true
	}
	for _, j := range st.Jobs {
		jobNames[j.Pipeline] = true
	}
	for _, n := range sortedKeys(jobNames) {
		var old *JobGraph
		if j := st.Job(n); j != nil {
			old = &JobGraph{}
			if json.Unmarshal(j.Graph, old) != nil {
				old = nil
			}
		}
		if jc := CompareJobs(old, newJobs[n], changedPipelines[n]); jc != nil {
			p.Jobs = append(p.Jobs, jc)
		}
	}

	sortChanges(p.Changes)
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			p.Summary.Add++
		case Update:
			p.Summary.Change++
		case Replace:
			p.Summary.Replace++
		case Delete:
			p.Summary.Destroy++
		}
	}
	return p, ds
}

func newChange(d *target.Resource, a Action) *Change {
	return &Change{Addr: d.Addr, Target: d.Target, Type: d.Type, Name: d.Name, Pipeline: d.Pipeline, Stage: d.Stage,
		Action: a, After: d.Body, AfterDigest: Digest(d.Body)}
}

// sortChanges orders changes as apply runs them: creates and updates by
// stage, then deletes in reverse stage order (jobs stop before the topics
// they read go away); by address within a stage.
func sortChanges(cs []*Change) {
	rank := func(c *Change) int {
		if c.Action == Delete {
			return 100 - int(c.Stage)
		}
		return int(c.Stage)
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if ri, rj := rank(cs[i]), rank(cs[j]); ri != rj {
			return ri < rj
		}
		return cs[i].Addr < cs[j].Addr
	})
}

func sortedTargetNames(m map[string][]*target.Resource) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// redactFields hides the values of sensitive fields; body tells whether the
// resource is a Kubernetes Secret.
func redactFields(fs []FieldChange, body map[string]any) []FieldChange {
	secretObj := body != nil && body["kind"] == "Secret" && body["apiVersion"] == "v1"
	for i := range fs {
		f := &fs[i]
		sens := false
		for j, k := range f.Path {
			if sensitiveKey(k) || (secretObj && j == 0 && (k == "data" || k == "stringData")) {
				sens = true
			}
		}
		if secretObj && len(f.Path) == 0 {
			sens = true
		}
		if sens {
			f.Sensitive = true
			if f.Before != nil {
				f.Before = Redacted
			}
			if f.After != nil {
				f.After = Redacted
			}
			continue
		}
		// A whole object or list created or removed may hold secrets below.
		if m, ok := f.Before.(map[string]any); ok {
			f.Before, _ = Redact(m)
		}
		if m, ok := f.After.(map[string]any); ok {
			f.After, _ = Redact(m)
		}
		if l, ok := f.Before.([]any); ok {
			r, _ := Redact(map[string]any{"l": l})
			f.Before = r["l"]
		}
		if l, ok := f.After.([]any); ok {
			r, _ := Redact(map[string]any{"l": l})
			f.After = r["l"]
		}
	}
	return fs
}

// Redacted returns a copy of the plan fit for output and files: every
// sensitive value replaced, and Sensitive set on the changes that had any.
func (p *Plan) Redacted() *Plan {
	q := *p
	q.Changes = make([]*Change, len(p.Changes))
	for i, c := range p.Changes {
		cc := *c
		if c.After != nil {
			var changed bool
			cc.After, changed = Redact(c.After)
			cc.Sensitive = c.Sensitive || changed
		}
		q.Changes[i] = &cc
	}
	q.Records = make([]*Record, len(p.Records))
	for i, r := range p.Records {
		rr := *r
		if r.After != nil {
			rr.After, _ = Redact(r.After)
		}
		q.Records[i] = &rr
	}
	return &q
}

// String is a one-line summary: "2 to add, 1 to change, 0 to replace, 0 to destroy".
func (s Summary) String() string {
	return fmt.Sprintf("%d to add, %d to change, %d to replace, %d to destroy", s.Add, s.Change, s.Replace, s.Destroy)
}
