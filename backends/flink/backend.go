// Package flink is the Flink backend: per pipeline, a Flink SQL script run
// by the Flink Kubernetes Operator through a SQL-runner jar, a ConfigMap
// holding the script, a FlinkDeployment in application mode (or a
// FlinkSessionJob for a session cluster), and a kustomization.yaml.
//
// The script: one CREATE TABLE per source and sink (connector options,
// WATERMARK FOR the event-time field), one CREATE TEMPORARY VIEW per
// operator (window table functions, OVER, interval/window/lookup joins,
// MATCH_RECOGNIZE, ROW_NUMBER dedupe and top-N), and every INSERT in one
// EXECUTE STATEMENT SET. Identifiers are always back-quoted; literals that
// hold anything the SQL runner could mangle (it strips "--" and "/*…*/"
// anywhere, trims lines and splits statements at lines ending in ";") are
// written as U&'…' with escapes.
//
// Anything Flink SQL cannot compute with the spec's meaning is reported by
// Check at the spec node (late outputs, allowed lateness, dead letters,
// first/last by event time in a grouped aggregation, …).
package flink

import (
	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// Backend is the flink backend descriptor.
var Backend = &backends.Backend{
	Name: "flink",
	Doc: `Flink SQL on the Flink Kubernetes Operator

Per pipeline, under <pipeline>/flink/: job.sql (Flink SQL), configmap.yaml
(the script), flinkdeployment.yaml (application mode; or
flinksessionjob.yaml with --set flink.session=NAME) and kustomization.yaml.
Every custom resource is validated against the operator's CRD.

Settings: flink.image (flink:2.2), flink.version (2.2), flink.sqlRunnerJar
(local:///opt/flink/usrlib/sql-runner.jar), flink.serviceAccount (flink),
flink.stateDir (s3://flink-state; checkpoints, savepoints and HA go under
<namespace>/<name>/), flink.s3.endpoint, flink.s3.secret (a Secret with
keys access-key and secret-key, exposed as AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY), flink.autoscaler, flink.session,
flink.scriptDir, openlineage.transport/url/endpoint/kafka.topic/kafka.brokers,
openlineage.apiKeySecret (<secret>/<key>: sent by the listener over http; an
init container writes it into the pods' openlineage.yml from the Secret),
k8s.schemas (CRD folder for validation).`,
	Scope:    backends.PerPipeline,
	Check:    check,
	Generate: generate,
}

func check(p *ir.Pipeline, opts *backends.Options) diag.Diagnostics {
	sc := newScript(p, opts)
	sc.build()
	return sc.diags.Errs().Extend(labelErrors(p, opts))
}

// labelErrors reports pipeline and environment labels Kubernetes would
// reject, at the pipeline.
func labelErrors(p *ir.Pipeline, opts *backends.Options) diag.Diagnostics {
	var ds diag.Diagnostics
	labels := append([]ir.KV(nil), p.Labels...)
	if opts != nil && opts.Env != nil {
		labels = append(labels, opts.Env.Labels...)
	}
	for _, msg := range k8s.LabelProblems(labels) {
		ds = ds.Append(diag.Errorf(diag.UnrepresentableName, p.Pos, "Invalid Kubernetes label", "Pipeline %q: %s.", p.Name, msg))
	}
	return ds
}

// Folder is the output folder of a pipeline: artifact.PathSegment, as for
// every backend (object names are derived separately, with k8s.DeriveName).
func Folder(p *ir.Pipeline) string { return artifact.PathSegment(p.Name) }

// Resources are the objects the backend writes for one pipeline.
type Resources struct {
	// Exactly one of Deployment (application mode) and SessionJob (with
	// flink.session) is set.
	Deployment *FlinkDeployment
	SessionJob *FlinkSessionJob
	// ConfigMap holds job.sql (the template the init container renders
	// when the script reads secrets); a deployment's pods mount it.
	ConfigMap *k8s.ConfigMapObject
}

// PipelineResources returns the objects Generate writes for pipeline pl of
// prog (prog may be nil), built by the same code, with the diagnostics of
// building them. Object names are derived from pl's name alone; name
// collisions between pipelines are reported by Generate.
func PipelineResources(prog *ir.Program, pl *ir.Pipeline, opts *backends.Options) (*Resources, diag.Diagnostics) {
	if opts == nil {
		opts = &backends.Options{}
	}
	name := k8s.DeriveName(pl.Name, nameRule)
	_, cm, d, ds := build(k8s.NewContext(prog, opts), pl, opts, name)
	r := &Resources{ConfigMap: cm}
	switch obj := d.object().(type) {
	case *FlinkDeployment:
		r.Deployment = obj
	case *FlinkSessionJob:
		r.SessionJob = obj
	}
	return r, ds.Extend(d.diags)
}

// build makes the script of pl, the ConfigMap holding it and the builder of
// its deployment named name.
func build(ctx *k8s.Context, pl *ir.Pipeline, opts *backends.Options, name string) (string, *k8s.ConfigMapObject, *deployment, diag.Diagnostics) {
	sc := newScript(pl, opts)
	sql := sc.build()
	d := &deployment{pl: pl, opts: opts, ctx: ctx, name: name, cmName: name + "-sql", sc: sc, session: opts.Setting(SetSession, "")}
	cm := k8s.ConfigMap(ctx.Meta(d.cmName, "flink-sql", pl.Name, pl), map[string]string{scriptFile: sql})
	return sql, cm, d, sc.diags
}

func generate(g *backends.Gen) (*artifact.Set, diag.Diagnostics) {
	opts := g.Options
	if opts == nil {
		opts = &backends.Options{}
	}
	ctx := k8s.NewContext(g.Program, opts)
	root := ""
	if g.Program != nil {
		root = g.Program.Root
	}
	var names k8s.Names
	set := &artifact.Set{}
	var ds diag.Diagnostics
	for _, pl := range g.Pipelines {
		name, err := names.Derive("flink", pl.Name, nameRule)
		if err == nil {
			err = names.Reserve("configmap", name+"-sql", pl.Name)
		}
		sql, cm, d, sds := build(ctx, pl, opts, name)
		ds = ds.Extend(sds)
		if err != nil {
			ds = ds.Append(diag.Errorf(diag.FlinkNameCollision, pl.Pos, "Kubernetes name collision", "%v.", err))
			continue
		}
		obj := d.object()
		ds = ds.Extend(d.diags)
		dir := Folder(pl) + "/flink"
		var files []*artifact.File
		files = append(files, &artifact.File{Path: dir + "/" + scriptFile, Kind: artifact.SQL, Data: []byte(sql), Pipeline: pl.Name})
		kind := "flinkdeployment.yaml"
		if d.session != "" {
			kind = "flinksessionjob.yaml"
		}
		for _, m := range []struct {
			path string
			obj  any
		}{{dir + "/configmap.yaml", cm}, {dir + "/" + kind, obj}} {
			f, err := k8s.Manifest(m.path, pl.Name, m.obj)
			if err != nil {
				ds = ds.Append(diag.Errorf(diag.InternalError, pl.Pos, "Cannot encode manifest", "%v", err))
				continue
			}
			files = append(files, f)
		}
		kf, err := ctx.Kustomization(dir, files, pl.Name)
		if err != nil {
			ds = ds.Append(diag.Errorf(diag.InternalError, pl.Pos, "Cannot encode kustomization", "%v", err))
		} else {
			files = append(files, kf)
		}
		ds = ds.Extend(k8s.ValidateFrom(files, opts, root))
		for _, f := range files {
			set.Add(f)
		}
	}
	set.Sort()
	return set, ds
}
