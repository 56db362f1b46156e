package compiler

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"rtsap.dev/rtsapc/compiler/internal/dag"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/passes"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

type durationT = time.Duration

// workflows resolves workflow steps: pipelines by name (with a
// suggestion), dependencies between steps, cycles (with the path), and
// orders the steps topologically (source order among ready steps).
func (c *compiler) workflows() {
	seen := map[string]*spec.Workflow{}
	var names []string
	for _, p := range c.prog.Pipelines {
		names = append(names, p.Name)
	}
	for _, sw := range c.f.Workflows {
		if prev, dup := seen[sw.Name.Value]; dup {
			d := diag.Errorf(diag.DuplicateName, sw.Name.Range, "Duplicate workflow", "Workflow %q is declared twice.", sw.Name.Value)
			d.Related = []diag.Related{{Message: "first declared here", Range: prev.Name.Range}}
			c.ds = append(c.ds, d)
			continue
		}
		seen[sw.Name.Value] = sw
		if sw.Invalid {
			continue // the front-end reported it
		}
		wf := &ir.Workflow{Name: sw.Name.Value, Description: sw.Description.Value, Pos: sw.Range,
			ActiveDeadline: c.dur(sw.ActiveDeadline, "activeDeadline")}
		if s := sw.Schedule; s != nil {
			wf.Schedule = &ir.Schedule{Cron: s.Cron.Value, Timezone: s.Timezone.Value, ConcurrencyPolicy: s.ConcurrencyPolicy.Value,
				StartingDeadline: c.dur(s.StartingDeadline, "startingDeadline"), Suspend: s.Suspend.Value,
				CronPos: orRange(s.Cron.Range, sw.Range), TimezonePos: orRange(s.Timezone.Range, sw.Range)}
			if f := strings.Fields(s.Cron.Value); len(f) != 5 && !strings.HasPrefix(s.Cron.Value, "@") {
				c.errorf(diag.InvalidOption, s.Cron.Range, "Invalid schedule", "cron %q needs five fields (minute hour day-of-month month day-of-week), e.g. \"0 2 * * *\".", s.Cron.Value)
			}
			if p := s.ConcurrencyPolicy.Value; p != "" && !contains([]string{"Allow", "Forbid", "Replace"}, p) {
				c.errorf(diag.InvalidOption, s.ConcurrencyPolicy.Range, "Invalid option", "concurrencyPolicy %q is not Allow, Forbid or Replace.", p)
			}
		}
		for _, kv := range sw.Params {
			wf.Params = append(wf.Params, ir.KV{Key: kv.Key, Value: kv.Value})
		}
		steps := map[string]int{}
		var all []*ir.Step
		var specSteps []*spec.Step
		for _, st := range sw.Steps {
			if _, dup := steps[st.Name.Value]; dup {
				c.errorf(diag.DuplicateName, st.Name.Range, "Duplicate step", "Workflow %q has two steps named %q.", wf.Name, st.Name.Value)
				continue
			}
			steps[st.Name.Value] = len(all)
			all = append(all, c.step(st, names))
			specSteps = append(specSteps, st)
		}
		var stepNames []string
		for _, st := range specSteps {
			stepNames = append(stepNames, st.Name.Value)
		}
		deps := make([][]int, len(all))
		for i, st := range specSteps {
			if st.Invalid {
				continue
			}
			for _, d := range st.DependsOn {
				j, ok := steps[d.Value]
				if !ok {
					c.errorf(diag.UnknownNode, d.Range, "Unknown step", "Workflow %q has no step %q.%s Steps: %s.", wf.Name, d.Value, diag.DidYouMean(d.Value, stepNames), quote(stepNames))
					continue
				}
				if j == i {
					c.errorf(diag.CyclicWorkflow, d.Range, "Cyclic workflow", "Step %q depends on itself.", d.Value)
					continue
				}
				deps[i] = append(deps[i], j)
				all[i].DependsOn = append(all[i].DependsOn, d.Value)
			}
		}
		wf.Steps = c.orderSteps(wf.Name, all, deps, specSteps)
		if sw.OnExit != nil {
			wf.OnExit = c.step(sw.OnExit, names)
		}
		c.prog.Workflows = append(c.prog.Workflows, wf)
	}
	sort.SliceStable(c.prog.Workflows, func(i, j int) bool { return c.prog.Workflows[i].Name < c.prog.Workflows[j].Name })
}

func (c *compiler) step(st *spec.Step, pipelines []string) *ir.Step {
	if st.Invalid {
		// Named for dependsOn; the front-end reported what is wrong.
		return &ir.Step{Name: st.Name.Value, Pos: st.Range}
	}
	s := &ir.Step{Name: st.Name.Value, Timeout: c.dur(st.Timeout, "timeout"), Pos: st.Range}
	for _, kv := range st.Params {
		s.Params = append(s.Params, ir.KV{Key: kv.Key, Value: kv.Value})
	}
	switch {
	case st.Pipeline.Value != "" && st.Container != nil:
		c.errorf(diag.InvalidOption, st.Pipeline.Range, "Invalid step", "Step %q names both a pipeline and a container; a step runs one of them.", st.Name.Value)
	case st.Pipeline.Value == "" && st.Container == nil:
		c.errorf(diag.InvalidOption, orRange(st.Name.Range, st.Range), "Invalid step", "Step %q runs nothing: set pipeline: \"name\" or a container.", st.Name.Value)
	}
	if st.Pipeline.Value != "" {
		if p := c.prog.Pipeline(st.Pipeline.Value); p != nil {
			s.Pipeline = p
			if p.Mode == ir.Streaming {
				c.ds = append(c.ds, diag.Warningf(diag.InvalidOption, st.Pipeline.Range, "Streaming pipeline in a workflow",
					"Step %q runs pipeline %q, which is streaming and never finishes, so the steps after it never start. Use a batch pipeline (mode: \"batch\") for scheduled runs.", st.Name.Value, p.Name))
			}
		} else {
			c.errorf(diag.UnknownPipeline, st.Pipeline.Range, "Unknown pipeline",
				"No pipeline %q.%s Pipelines: %s.", st.Pipeline.Value, diag.DidYouMean(st.Pipeline.Value, pipelines), quote(pipelines))
		}
	}
	if ct := st.Container; ct != nil {
		s.Container = &ir.Container{Image: ct.Image.Value}
		for _, x := range ct.Command {
			s.Container.Command = append(s.Container.Command, x.Value)
		}
		for _, x := range ct.Args {
			s.Container.Args = append(s.Container.Args, x.Value)
		}
		for _, kv := range ct.Env {
			s.Container.Env = append(s.Container.Env, ir.KV{Key: kv.Key, Value: kv.Value})
		}
	}
	if r := st.Retry; r != nil {
		s.Retry = &ir.Retry{Limit: int(r.Limit.Value), Policy: r.Policy.Value, Backoff: c.dur(r.Backoff, "backoff"),
			Factor: r.Factor.Value, MaxDuration: c.dur(r.MaxDuration, "maxDuration")}
		if p := r.Policy.Value; p != "" && !contains([]string{"Always", "OnFailure", "OnError", "OnTransientError"}, p) {
			c.errorf(diag.InvalidOption, r.Policy.Range, "Invalid option", "retry policy %q is not Always, OnFailure, OnError or OnTransientError.", p)
		}
	}
	return s
}

// orderSteps sorts steps topologically, reporting cycles.
func (c *compiler) orderSteps(wf string, all []*ir.Step, deps [][]int, specs []*spec.Step) []*ir.Step {
	placed := make([]bool, len(all))
	var out []*ir.Step
	for len(out) < len(all) {
		next := -1
		for i := range all {
			if placed[i] {
				continue
			}
			ready := true
			for _, d := range deps[i] {
				if !placed[d] {
					ready = false
				}
			}
			if ready {
				next = i
				break
			}
		}
		if next < 0 {
			cyc := dag.Cycle(len(deps), func(i int) []int { return deps[i] }, placed)
			var path []string
			for _, i := range cyc {
				path = append(path, fmt.Sprintf("%q", all[i].Name))
			}
			path = append(path, fmt.Sprintf("%q", all[cyc[0]].Name))
			c.errorf(diag.CyclicWorkflow, orRange(specs[cyc[0]].Name.Range, specs[cyc[0]].Range), "Cyclic workflow",
				"Workflow %q has a dependency cycle: %s. Remove one of these dependsOn entries.", wf, strings.Join(path, " → "))
			// Cut the cycle: drop the dependencies inside it and continue.
			in := map[int]bool{}
			for _, i := range cyc {
				in[i] = true
			}
			for _, i := range cyc {
				var keep []int
				var keepNames []string
				for _, d := range deps[i] {
					if !in[d] {
						keep = append(keep, d)
						keepNames = append(keepNames, all[d].Name)
					}
				}
				deps[i] = keep
				all[i].DependsOn = keepNames
			}
			continue
		}
		placed[next] = true
		out = append(out, all[next])
	}
	return out
}

func (c *compiler) environments() {
	for _, se := range c.f.Environments {
		env := &ir.Environment{Name: se.Name.Value, Namespace: se.Namespace.Value, Scale: se.Scale.Value}
		for _, kv := range se.Labels {
			env.Labels = append(env.Labels, ir.KV{Key: kv.Key, Value: kv.Value})
		}
		sort.SliceStable(env.Labels, func(i, j int) bool { return env.Labels[i].Key < env.Labels[j].Key })
		for _, cn := range se.Connections {
			env.Connections = append(env.Connections, ir.Connection{Name: cn.Name.Value, Kind: cn.Kind.Value, Options: passes.Options(cn.Options)})
		}
		sort.SliceStable(env.Connections, func(i, j int) bool { return env.Connections[i].Name < env.Connections[j].Name })
		env.Targets = passes.Options(se.Targets)
		if se.Scale.Set && se.Scale.Value <= 0 {
			c.errorf(diag.InvalidOption, se.Scale.Range, "Invalid option", "scale must be > 0; got %g.", se.Scale.Value)
		}
		c.prog.Environments = append(c.prog.Environments, env)
	}
	sort.SliceStable(c.prog.Environments, func(i, j int) bool { return c.prog.Environments[i].Name < c.prog.Environments[j].Name })
	if c.cfg.Env != "" && len(c.f.Environments) > 0 {
		found := false
		var names []string
		for _, e := range c.prog.Environments {
			names = append(names, e.Name)
			found = found || e.Name == c.cfg.Env
		}
		if !found {
			c.errorf(diag.InvalidOption, diag.Range{}, "Unknown environment", "No environment %q.%s Environments: %s.", c.cfg.Env, diag.DidYouMean(c.cfg.Env, names), quote(names))
		}
	}
}

func orRange(r, def diag.Range) diag.Range {
	if r.IsValid() {
		return r
	}
	return def
}

func quote(ss []string) string {
	if len(ss) == 0 {
		return "(none)"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
