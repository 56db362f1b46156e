package argo

import (
	"errors"
	"fmt"
	"strings"

	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// tasks derives the task and template names of one workflow.
type tasks struct {
	g      *gen
	w      *ir.Workflow
	names  *k8s.Names
	byStep map[string]string // step name → task name
}

func (t *tasks) derive(st *ir.Step) {
	name, err := t.names.Derive("Template", st.Name, taskRule)
	if err != nil {
		msg := err.Error()
		var ce *k8s.CollisionError
		if errors.As(err, &ce) && strings.HasPrefix(ce.First, "\x00") {
			msg = fmt.Sprintf("step %q derives the template name %q, which the backend uses for its own templates; rename the step", st.Name, name)
		}
		t.g.errorf(diag.ArgoNameCollision, st.Pos, "Step names collide", "%s.", msg)
		return
	}
	t.byStep[st.Name] = name
}

// step builds the task and template of a step; nil when it cannot.
func (t *tasks) step(st *ir.Step, name string) (*Task, *Template) {
	if name == "" {
		return nil, nil
	}
	g := t.g
	task := &Task{Name: name, Template: name}
	for _, d := range st.DependsOn {
		dep, ok := t.byStep[d]
		if !ok {
			if !t.hasStep(d) {
				g.errorf(diag.ArgoUnknownDependency, st.Pos, "Unknown dependency",
					"Step %q depends on %q, which workflow %q does not have.", st.Name, d, t.w.Name)
			}
			continue
		}
		task.Dependencies = append(task.Dependencies, dep)
	}
	tpl := &Template{Name: name, RetryStrategy: g.retry(st.Retry, st.Pos)}
	if st.Timeout > 0 {
		tpl.Timeout = Duration(st.Timeout)
	}
	if len(st.Params) > 0 {
		ps := g.params(st.Params, st.Pos)
		task.Arguments = &Arguments{Parameters: ps}
		in := &Inputs{}
		for _, p := range ps {
			in.Parameters = append(in.Parameters, Parameter{Name: p.Name})
		}
		tpl.Inputs = in
	}
	tpl.Metadata = &TemplateMeta{Annotations: map[string]string{k8s.AnnoName: st.Name}}
	switch {
	case st.Container != nil:
		c := st.Container
		tpl.Container = &Container{Image: c.Image, Command: c.Command, Args: c.Args}
		for _, kv := range c.Env {
			tpl.Container.Env = append(tpl.Container.Env, k8s.EnvVar{Name: kv.Key, Value: kv.Value})
		}
	case st.Pipeline != nil:
		if !g.pipelineStep(st, tpl) {
			return nil, nil
		}
	default:
		g.errorf(diag.ArgoUnsupportedStep, st.Pos, "Step runs nothing", "Step %q names neither a pipeline nor a container.", st.Name)
		return nil, nil
	}
	return task, tpl
}

func (t *tasks) hasStep(name string) bool {
	for _, s := range t.w.Steps {
		if s.Name == name {
			return true
		}
	}
	return false
}

// pipelineStep fills tpl so that it runs st's pipeline to completion.
func (g *gen) pipelineStep(st *ir.Step, tpl *Template) bool {
	pl := st.Pipeline
	if pl.Mode != ir.Batch {
		g.errorf(diag.ArgoUnsupportedStep, st.Pos, "Streaming pipeline in a workflow",
			"Step %q runs pipeline %q, which is %s: it never completes, so the workflow would never finish. Workflows run batch pipelines; deploy streaming ones directly.", st.Name, pl.Name, pl.Mode)
		return false
	}
	tpl.Metadata.Annotations[k8s.AnnoPipeline] = pl.Name
	switch pl.Engine {
	case "spark":
		obj, err := g.sparkApplication(pl)
		if err != nil {
			g.errorf(diag.ArgoUnsupportedStep, st.Pos, "Cannot build the Spark job", "Step %q: %v.", st.Name, err)
			return false
		}
		tpl.Resource = &Resource{Action: "create", SetOwnerReference: true, Manifest: escapeTemplate(obj),
			// Field and values from the Spark operator's CRD and api/v1beta2.
			SuccessCondition: "status.applicationState.state == COMPLETED",
			FailureCondition: "status.applicationState.state in (FAILED, SUBMISSION_FAILED, UNKNOWN)"}
	case "flink":
		obj, err := g.flinkDeployment(pl)
		if err != nil {
			g.errorf(diag.ArgoUnsupportedStep, st.Pos, "Cannot build the Flink job", "Step %q: %v.", st.Name, err)
			return false
		}
		tpl.Resource = &Resource{Action: "create", SetOwnerReference: true, Manifest: escapeTemplate(obj),
			// A bounded Flink job ends FINISHED; the operator's job states.
			SuccessCondition: "status.jobStatus.state == FINISHED",
			FailureCondition: "status.jobStatus.state in (FAILED, CANCELED)"}
	case "beam":
		image := pl.Deploy.Image
		if image == "" {
			image = g.opts.Setting("beam.image", "")
		}
		if image == "" {
			image = "rtsap/" + k8s.DeriveName(pl.Name, k8s.DNSLabel) + ":latest"
		}
		// The Beam backend's program is the image's entrypoint; it runs the
		// bounded pipeline to the end and exits with its status.
		tpl.Container = &Container{Image: image, Env: []k8s.EnvVar{{Name: "RTSAP_PIPELINE", Value: pl.Name}}}
	default:
		g.errorf(diag.ArgoUnsupportedStep, st.Pos, "Engine cannot run as a workflow step",
			"Step %q runs pipeline %q on %s; workflow steps run batch pipelines on spark, flink or beam.", st.Name, pl.Name, pl.Engine)
		return false
	}
	return true
}

// escapeTemplate protects an embedded manifest from Argo's template
// substitution, which scans the whole template for "{{ … }}": a user string
// holding "{{" (a pipeline name, a description) would otherwise be read as a
// template tag and fail the workflow ("failed to resolve"). "{{='{{'}}" is an
// expression tag whose value is the two characters themselves.
func escapeTemplate(s string) string {
	return strings.ReplaceAll(s, "{{", "{{='{{'}}")
}
