package argo

import (
	"errors"
	"fmt"
	"strings"

	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/beamgo"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/backends/spark"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// tasks derives the task and template names of one workflow.
type tasks struct {
	g        *gen
	w        *ir.Workflow
	dir      string // the workflow's output folder, ending in "/"
	name     string // the workflow's derived object name
	names    *k8s.Names
	byStep   map[string]string // step name → task name
	cms      []pipelineCM      // script ConfigMaps the jobs mount
	embedded []*artifact.File  // the jobs, for validation
	lineage  lineageSettings
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
		if !t.pipelineStep(st, tpl) {
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
func (t *tasks) pipelineStep(st *ir.Step, tpl *Template) bool {
	g := t.g
	pl := st.Pipeline
	if pl.Mode != ir.Batch {
		g.errorf(diag.ArgoUnsupportedStep, st.Pos, "Streaming pipeline in a workflow",
			"Step %q runs pipeline %q, which is %s: it never completes, so the workflow would never finish. Workflows run batch pipelines; deploy streaming ones directly.", st.Name, pl.Name, pl.Mode)
		return false
	}
	tpl.Metadata.Annotations[k8s.AnnoPipeline] = pl.Name
	var j *job
	var ds diag.Diagnostics
	switch pl.Engine {
	case "spark":
		j, ds = g.sparkJob(pl)
	case "flink":
		j, ds = g.flinkJob(pl)
	case "beam":
		return t.beamStep(st, tpl)
	default:
		g.errorf(diag.ArgoUnsupportedStep, st.Pos, "Engine cannot run as a workflow step",
			"Step %q runs pipeline %q on %s; workflow steps run batch pipelines on spark, flink or beam.", st.Name, pl.Name, pl.Engine)
		return false
	}
	// The engine's own problems with the pipeline, as its backend reports
	// them (identical diagnostics from the engine's target are merged).
	g.ds = g.ds.Extend(ds)
	if ds.HasErrors() || j == nil {
		return false
	}
	if !t.scriptConfigMap(st, j) {
		return false
	}
	t.sparkParent(j)
	f, err := j.encode(t.dir + "workflowtemplate.yaml, template " + tpl.Name)
	if err != nil {
		g.errorf(diag.InternalError, st.Pos, "Cannot encode the batch job", "Step %q: %v", st.Name, err)
		return false
	}
	t.embedded = append(t.embedded, f)
	// The workflow's uid is the one tag Argo must substitute in the
	// manifest; everything else is protected from substitution.
	manifest := strings.ReplaceAll(escapeTemplate(j.manifest), ": "+uidPlaceholder+"\n", ": '"+workflowUID+"'\n")
	tpl.Resource = &Resource{Action: "create", SetOwnerReference: true, Manifest: manifest,
		SuccessCondition: j.success, FailureCondition: j.failure}
	return true
}

// uidPlaceholder stands for {{workflow.uid}} in an embedded manifest until
// it is escaped (a UUID-shaped value, so the object validates as written);
// a YAML value of its own, it becomes the quoted tag.
const uidPlaceholder = "00000000-0000-4000-8000-a7905eb1d0c1"

// sparkParent makes the workflow's run the parent of the Spark listener's
// runs (spark.openlineage.parent*: the workflow's job and
// {{workflow.uid}}), in place of the declaration run the spark backend
// names when the application runs on its own.
func (t *tasks) sparkParent(j *job) {
	app, ok := j.obj.(*spark.SparkApplication)
	if !ok || app.Spec.SparkConf == nil {
		return
	}
	if _, ok := app.Spec.SparkConf["spark.extraListeners"]; !ok {
		return // no OpenLineage listener
	}
	app.Spec.SparkConf["spark.openlineage.parentJobNamespace"] = openlineage.Namespace(t.g.opts)
	app.Spec.SparkConf["spark.openlineage.parentJobName"] = t.w.Name
	app.Spec.SparkConf["spark.openlineage.parentRunId"] = uidPlaceholder
}

// scriptConfigMap gives the workflow its own copy of the script ConfigMap
// the job mounts (see jobs.go), named <workflow>-<engine's name>; false
// when that name is taken.
func (t *tasks) scriptConfigMap(st *ir.Step, j *job) bool {
	if j.cm == nil || j.mount == nil {
		return true
	}
	name := t.name + "-" + j.cm.Metadata.Name
	if !j.mount(name) {
		return true // the job does not read it (spark.mainFile)
	}
	// Names that derive alike would need two ConfigMaps of one name.
	if err := t.g.names.Reserve("ConfigMap", name, fmt.Sprintf("workflow %q, pipeline %q", t.w.Name, st.Pipeline.Name)); err != nil {
		t.g.errorf(diag.ArgoNameCollision, st.Pos, "Pipeline names collide", "Step %q: %v.", st.Name, err)
		return false
	}
	j.cm.Metadata.Name = name
	j.cm.Metadata.Labels[k8s.LabelName] = k8s.DeriveName(name, k8s.DNSLabel)
	j.cm.Metadata.Annotations["rtsap.dev/workflow"] = t.w.Name
	t.configMap(st.Pipeline, j.cm)
	return true
}

// beamStep runs the Beam backend's program: an image built from
// <pipeline>/beam/ (its main package is the entrypoint), reading its
// sources to the offsets present at start (--bounded) and exiting with the
// pipeline's status, with the pipeline's secrets by reference.
func (t *tasks) beamStep(st *ir.Step, tpl *Template) bool {
	g, pl := t.g, st.Pipeline
	if ds := beamgo.Check(pl); len(ds) > 0 {
		g.ds = g.ds.Extend(ds)
		if ds.HasErrors() {
			return false
		}
	}
	image := pl.Deploy.Image
	if image == "" {
		image = g.opts.Setting("beam.image", "")
	}
	if image == "" {
		image = "rtsap/" + k8s.DeriveName(pl.Name, k8s.DNSLabel) + ":latest"
	}
	env, err := beamEnv(pl)
	if err != nil {
		g.errorf(diag.ArgoUnsupportedStep, st.Pos, "Cannot pass the pipeline's secrets", "Step %q, pipeline %q: %v.", st.Name, pl.Name, err)
		return false
	}
	args := []string{"--bounded"}
	if ep := g.opts.Setting("beam.endpoint", ""); ep != "" {
		args = append(args, "--runner=universal", "--endpoint="+ep)
	}
	tpl.Container = &Container{Image: image, Args: args, Env: k8s.SortEnv(append(env, t.lineage.beamEnv(g.parentID(t.w))...))}
	return true
}

// configMap records a script ConfigMap a job mounts, written once per
// workflow folder.
func (t *tasks) configMap(pl *ir.Pipeline, cm *k8s.ConfigMapObject) {
	for _, c := range t.cms {
		if c.pipeline == pl.Name {
			return
		}
	}
	t.cms = append(t.cms, pipelineCM{pipeline: pl.Name, cm: cm})
}

type pipelineCM struct {
	pipeline string
	cm       *k8s.ConfigMapObject
}

// escapeTemplate protects an embedded manifest from Argo's template
// substitution, which scans the whole template for "{{ … }}": a user string
// holding "{{" (a pipeline name, a description) would otherwise be read as a
// template tag and fail the workflow ("failed to resolve"). "{{='{{'}}" is an
// expression tag whose value is the two characters themselves.
func escapeTemplate(s string) string {
	return strings.ReplaceAll(s, "{{", "{{='{{'}}")
}
