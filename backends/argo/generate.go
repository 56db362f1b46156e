package argo

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // schedules name IANA zones; check them without the host's zoneinfo

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

const (
	defaultLineageImage = "curlimages/curl:8.11.1"
	entrypoint          = "main"
	exitHandler         = "exit-handler"
	emitLineage         = "emit-lineage"
	lineageStart        = "lineage-start"
	onExitTask          = "on-exit"
)

// Names of workflows: a CronWorkflow's name is at most 52 characters (Argo
// appends a timestamp to it for each run), and a leading letter keeps every
// derived name valid as a DNS-1035 label as well.
var (
	workflowRule = k8s.NameRule{MaxLen: 52, LetterFirst: true}
	// Template and task names: v4's pattern ^[a-zA-Z0-9][-a-zA-Z0-9]*$ with
	// a leading letter (v4 rejects tasks starting with a digit in some
	// positions) and short enough for pod names.
	taskRule = k8s.NameRule{MaxLen: 50, LetterFirst: true}
	// Argo parameter names (v4): ^[-a-zA-Z0-9_]+$.
	paramNameRe = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)
)

type gen struct {
	prog     *ir.Program
	opts     *backends.Options
	ctx      *k8s.Context
	names    *k8s.Names
	ds       diag.Diagnostics
	embedded []*artifact.File // batch jobs inside resource templates, validated with the files
}

func (g *gen) errorf(code diag.Code, r diag.Range, summary, format string, args ...any) {
	g.ds = g.ds.Append(diag.Errorf(code, r, summary, format, args...))
}

func generate(bg *backends.Gen) (*artifact.Set, diag.Diagnostics) {
	g := &gen{prog: bg.Program, opts: bg.Options, ctx: k8s.NewContext(bg.Program, bg.Options), names: &k8s.Names{}}
	if g.opts == nil {
		g.opts = &backends.Options{}
	}
	set := &artifact.Set{}
	for _, w := range g.prog.Workflows {
		for _, f := range g.workflow(w) {
			set.Add(f)
		}
	}
	if g.ds.HasErrors() {
		return set, g.ds
	}
	root := ""
	if g.prog != nil {
		root = g.prog.Root
	}
	g.ds = g.ds.Extend(k8s.ValidateFrom(append(append([]*artifact.File(nil), set.Files...), g.embedded...), g.opts, root))
	set.Sort()
	return set, g.ds
}

// Check reports what the backend cannot express in the program's workflows,
// positioned at the workflow or step (Registry.Check runs it for vet as the
// descriptor's CheckProgram). It builds everything but validates nothing
// against CRDs.
func Check(p *ir.Program, opts *backends.Options) diag.Diagnostics {
	g := &gen{prog: p, opts: opts, ctx: k8s.NewContext(p, opts), names: &k8s.Names{}}
	if g.opts == nil {
		g.opts = &backends.Options{}
	}
	for _, w := range p.Workflows {
		g.workflow(w)
	}
	return g.ds.Sort()
}

// workflow builds the files of one workflow.
func (g *gen) workflow(w *ir.Workflow) []*artifact.File {
	name, err := g.names.Derive("Workflow", w.Name, workflowRule)
	if err != nil {
		g.errorf(diag.ArgoNameCollision, w.Pos, "Workflow names collide", "%v.", err)
		return nil
	}
	dir := artifact.PathSegment(w.Name) + "/argo/"
	lin := g.lineageSettings(w)
	t := &tasks{g: g, w: w, dir: dir, name: name, names: &k8s.Names{}, byStep: map[string]string{}, lineage: lin}
	for _, r := range []string{entrypoint, exitHandler, emitLineage, lineageStart, onExitTask} {
		_ = t.names.Reserve("Template", r, "\x00"+r)
	}

	spec := WorkflowSpec{Entrypoint: entrypoint, ServiceAccountName: g.opts.Setting("argo.serviceAccount", "")}
	if len(w.Params) > 0 {
		spec.Arguments = &Arguments{Parameters: g.params(w.Params, w.Pos)}
	}
	if w.ActiveDeadline > 0 {
		s := int64(math.Ceil(w.ActiveDeadline.Seconds()))
		spec.ActiveDeadlineSeconds = &s
	}
	// Derive every task name first, so dependencies can name later steps.
	for _, st := range w.Steps {
		t.derive(st)
	}
	cmName := name + "-openlineage"
	if err := g.names.Reserve("ConfigMap", cmName, w.Name); err != nil {
		g.errorf(diag.ArgoNameCollision, w.Pos, "Workflow names collide", "%v.", err)
	}
	// lineage-start posts START before any step: the tasks without
	// dependencies wait for it (the others follow them). It never holds the
	// workflow back: its failure or error lets the DAG go on.
	dag := &DAG{Tasks: []*Task{{Name: lineageStart, Template: lineageStart, ContinueOn: &ContinueOn{Error: true, Failed: true}}}}
	leaves := []*Template{g.lineageTemplate(lineageStart, "start", cmName, lin)}
	for _, st := range w.Steps {
		task, tpl := t.step(st, t.byStep[st.Name])
		if task == nil {
			continue
		}
		if len(task.Dependencies) == 0 {
			task.Dependencies = []string{lineageStart}
		}
		dag.Tasks = append(dag.Tasks, task)
		leaves = append(leaves, tpl)
	}
	spec.Templates = append(spec.Templates, &Template{Name: entrypoint, DAG: dag})
	spec.Templates = append(spec.Templates, leaves...)

	// Exit handler: the spec's onExit step and the lineage emitter, side by
	// side; the emitter's failure (its pod cannot start, say) is not the
	// workflow's.
	exit := &DAG{Tasks: []*Task{{Name: emitLineage, Template: emitLineage, ContinueOn: &ContinueOn{Error: true, Failed: true}}}}
	spec.Templates = append(spec.Templates, &Template{Name: exitHandler, DAG: exit})
	spec.Templates = append(spec.Templates, g.lineageTemplate(emitLineage, "end", cmName, lin))
	if w.OnExit != nil {
		task, tpl := t.step(w.OnExit, onExitTask)
		if task != nil {
			task.Dependencies = nil
			exit.Tasks = append(exit.Tasks, task)
			spec.Templates = append(spec.Templates, tpl)
		}
	}
	spec.OnExit = exitHandler
	g.archive(spec.Templates)

	meta := g.ctx.Meta(name, "workflow", w.Name, nil)
	meta.Labels["rtsap.dev/workflow"] = name
	meta.Annotations["rtsap.dev/workflow"] = w.Name
	if w.Description != "" {
		meta.Annotations["rtsap.dev/description"] = w.Description
	}
	var files []*artifact.File
	add := func(file string, obj any) {
		f, err := k8s.Manifest(dir+file, w.Name, obj)
		if err != nil {
			g.errorf(diag.InternalError, w.Pos, "Cannot encode Argo resource", "%v", err)
			return
		}
		files = append(files, f)
	}
	add("workflowtemplate.yaml", &WorkflowTemplate{TypeMeta: k8s.TypeMeta{APIVersion: apiVersion, Kind: "WorkflowTemplate"}, Metadata: meta, Spec: spec})
	ref := WorkflowSpec{WorkflowTemplateRef: &WorkflowTemplateRef{Name: name}}
	if s := w.Schedule; s != nil {
		cs := CronWorkflowSpec{Schedules: []string{s.Cron}, Timezone: s.Timezone, ConcurrencyPolicy: s.ConcurrencyPolicy,
			Suspend: s.Suspend, WorkflowSpec: ref}
		g.checkSchedule(w)
		if s.StartingDeadline > 0 {
			d := int64(math.Ceil(s.StartingDeadline.Seconds()))
			cs.StartingDeadlineSeconds = &d
		}
		add("cronworkflow.yaml", &CronWorkflow{TypeMeta: k8s.TypeMeta{APIVersion: apiVersion, Kind: "CronWorkflow"}, Metadata: meta, Spec: cs})
	} else {
		add("workflow.yaml", &Workflow{TypeMeta: k8s.TypeMeta{APIVersion: apiVersion, Kind: "Workflow"}, Metadata: meta, Spec: ref})
	}
	if cm := g.lineageConfigMap(w, cmName); cm != nil {
		add("openlineage.yaml", cm)
	}
	// The scripts the batch jobs mount, as their backends write them.
	for _, c := range t.cms {
		f, err := k8s.Manifest(dir+"configmap-"+artifact.PathSegment(c.pipeline)+".yaml", w.Name, c.cm)
		if err != nil {
			g.errorf(diag.InternalError, w.Pos, "Cannot encode Argo resource", "%v", err)
			continue
		}
		files = append(files, f)
	}
	g.embedded = append(g.embedded, t.embedded...)
	if kf, err := g.ctx.Kustomization(dir, files, w.Name); err != nil {
		g.errorf(diag.InternalError, w.Pos, "Cannot encode kustomization", "%v", err)
	} else {
		files = append(files, kf)
	}
	return files
}

// params converts spec parameters; their names are referenced by users
// ({{workflow.parameters.NAME}}), so a name Argo cannot hold is an error,
// never renamed.
func (g *gen) params(kvs []ir.KV, pos diag.Range) []Parameter {
	var out []Parameter
	for _, kv := range kvs {
		if !paramNameRe.MatchString(kv.Key) {
			g.errorf(diag.UnrepresentableName, pos, "Parameter name not valid for Argo",
				"Argo parameter names are letters, digits, '-' and '_'; %q is not. Rename the parameter.", kv.Key)
			continue
		}
		v := kv.Value
		out = append(out, Parameter{Name: kv.Key, Value: &v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var policies = map[string]bool{"Always": true, "OnFailure": true, "OnError": true, "OnTransientError": true}

func (g *gen) retry(r *ir.Retry, pos diag.Range) *RetryStrategy {
	if r == nil {
		return nil
	}
	limit := int64(r.Limit)
	rs := &RetryStrategy{Limit: &limit}
	if r.Policy != "" {
		if !policies[r.Policy] {
			g.errorf(diag.ArgoUnsupportedRetry, pos, "Retry policy not supported by Argo",
				"Argo's retry policies are Always, OnFailure, OnError and OnTransientError; %q is none of them.", r.Policy)
		}
		rs.RetryPolicy = r.Policy
	}
	if r.Backoff > 0 || r.Factor != 0 || r.MaxDuration > 0 {
		b := &Backoff{}
		if r.Backoff > 0 {
			b.Duration = Duration(r.Backoff)
		}
		if r.Factor != 0 {
			// Argo reads the factor as an integer (IntOrString.IntValue): 1.5
			// would silently become 0 or 1.
			if r.Factor != math.Trunc(r.Factor) || r.Factor < 1 {
				g.errorf(diag.ArgoUnsupportedRetry, pos, "Backoff factor not supported by Argo",
					"Argo multiplies the backoff by an integer factor; %v is not one. Use 1, 2, 3, …", r.Factor)
			}
			f := int64(r.Factor)
			b.Factor = &f
		}
		if r.MaxDuration > 0 {
			b.MaxDuration = Duration(r.MaxDuration)
		}
		rs.Backoff = b
	}
	return rs
}

// Duration renders d the way Argo's examples write durations ("30s", "2m",
// "1h30m"), which Go's time.ParseDuration (Argo's parser) reads back.
func Duration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "h")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "m")
		d -= m * time.Minute
	}
	if d > 0 {
		if d%time.Second == 0 {
			b.WriteString(strconv.FormatInt(int64(d/time.Second), 10) + "s")
		} else {
			b.WriteString(strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms")
		}
	}
	return b.String()
}

// schedPos is a schedule field's position, or the workflow's for IR built
// without one.
func schedPos(r diag.Range, w *ir.Workflow) diag.Range {
	if r.IsValid() {
		return r
	}
	return w.Pos
}

func (g *gen) checkSchedule(w *ir.Workflow) {
	s := w.Schedule
	if err := cronError(s.Cron); err != nil {
		g.errorf(diag.ArgoInvalidSchedule, schedPos(s.CronPos, w), "Schedule not understood by Argo",
			"Argo would reject the cron expression %q: %v.", s.Cron, err)
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "Local" {
			g.errorf(diag.ArgoInvalidSchedule, schedPos(s.TimezonePos, w), "Unknown timezone",
				"Argo resolves the schedule's timezone as an IANA name (\"America/New_York\", \"UTC\"); %q is not one.", s.Timezone)
		}
	}
	switch s.ConcurrencyPolicy {
	case "", "Allow", "Forbid", "Replace":
	default:
		g.errorf(diag.ArgoInvalidSchedule, w.Pos, "Concurrency policy not supported by Argo",
			"Argo's concurrency policies are Allow, Forbid and Replace; %q is none of them.", s.ConcurrencyPolicy)
	}
}

// archive sends the logs and outputs of every pod to S3/MinIO when the
// settings name a bucket.
func (g *gen) archive(tpls []*Template) {
	bucket := g.opts.Setting("argo.s3.bucket", "")
	if bucket == "" {
		return
	}
	yes := true
	s3 := &S3Artifact{Bucket: bucket, Endpoint: g.opts.Setting("argo.s3.endpoint", ""), Region: g.opts.Setting("argo.s3.region", ""),
		Key: "{{workflow.name}}/{{pod.name}}"}
	if v := g.opts.Setting("argo.s3.insecure", ""); v == "true" {
		s3.Insecure = &yes
	}
	if sec := g.opts.Setting("argo.s3.secret", ""); sec != "" {
		s3.AccessKeySecret = &k8s.SecretKeySelector{Name: sec, Key: "accesskey"}
		s3.SecretKeySecret = &k8s.SecretKeySelector{Name: sec, Key: "secretkey"}
	}
	for _, t := range tpls {
		if t.Container != nil || t.Resource != nil {
			t.ArchiveLocation = &ArchiveLocation{ArchiveLogs: &yes, S3: s3}
		}
	}
}
