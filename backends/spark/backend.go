// Package spark is the Spark backend: per pipeline, a PySpark program
// (structured streaming, or batch for backtests) run by the Kubeflow Spark
// Operator, a ConfigMap holding it, a SparkApplication (or a
// ScheduledSparkApplication for a scheduled batch pipeline), and a
// kustomization.yaml.
//
// The program defines one memoized function per node (n<ID>(wm), wm the
// extra watermark delay of the query that calls it) and one query per sink.
// Sources and sinks are DataFrame code; every transformation is a Spark SQL
// SELECT over temporary views of its inputs (sql.go), and the script of
// those statements is the job's OpenLineage sql facet. User names appear
// only inside Python string literals, escaped so that no name can end the
// literal or hide characters; in SQL, column names are back-quoted and
// strings escaped literals. Anything Spark cannot compute with the spec's
// meaning (patterns, OVER and ranking on streams, late outputs, cumulating
// windows, column names equal but for case, …) is reported by Check at the
// spec node.
package spark

import (
	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// Backend is the spark backend descriptor.
var Backend = &backends.Backend{
	Name: "spark",
	Doc: `PySpark on the Kubeflow Spark Operator

Per pipeline, under <pipeline>/spark/: main.py, configmap.yaml (the
program), sparkapplication.yaml (or scheduledsparkapplication.yaml for a
batch pipeline with --set spark.schedule=CRON) and kustomization.yaml.
Every custom resource is validated against the operator's CRD.

Settings: spark.image (docker.io/apache/spark:4.0.4), spark.version
(4.0.4), spark.serviceAccount (spark-operator-spark), spark.checkpointDir
(s3a://spark-checkpoints), spark.mainFile (instead of the ConfigMap),
spark.schedule, spark.schedule.timeZone, openlineage.transport/url/
endpoint/kafka.topic/kafka.brokers, openlineage.apiKeySecret
(<secret>/<key>: the driver's listener sends it over http, read from
the Secret), k8s.schemas. An image tagged with another Spark release
line than spark.version is a warning.`,
	Scope:    backends.PerPipeline,
	Check:    check,
	Generate: generate,
}

// nameRule: SparkApplication names become pod and service name prefixes;
// keep them DNS-1035 labels short enough for the driver's "-driver" suffix.
var nameRule = k8s.NameRule{MaxLen: 50, LetterFirst: true}

func check(p *ir.Pipeline, opts *backends.Options) diag.Diagnostics {
	pr := newProgram(p, opts)
	pr.build()
	return pr.diags.Errs().Extend(labelErrors(p, opts))
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
	// Application is the SparkApplication; a plain one even when
	// spark.schedule is set (a caller that schedules it, such as argo,
	// wants the application itself).
	Application *SparkApplication
	// ConfigMap holds main.py; Application's driver mounts it unless
	// spark.mainFile names the program elsewhere.
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
	_, cm, a, ds := build(k8s.NewContext(prog, opts), pl, opts, k8s.DeriveName(pl.Name, nameRule))
	app := a.application()
	return &Resources{Application: app, ConfigMap: cm}, ds.Extend(a.diags)
}

// build makes the program of pl, the ConfigMap holding it and the builder
// of its application named name.
func build(ctx *k8s.Context, pl *ir.Pipeline, opts *backends.Options, name string) (string, *k8s.ConfigMapObject, *appBuilder, diag.Diagnostics) {
	pr := newProgram(pl, opts)
	py := pr.build()
	a := &appBuilder{pl: pl, opts: opts, ctx: ctx, prog: pr, name: name, cmName: name + "-py"}
	cm := k8s.ConfigMap(ctx.Meta(a.cmName, "spark-py", pl.Name, pl), map[string]string{mainFile: py})
	return py, cm, a, pr.diags
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
		name, err := names.Derive("spark", pl.Name, nameRule)
		if err == nil {
			err = names.Reserve("configmap", name+"-py", pl.Name)
		}
		py, cm, a, pds := build(ctx, pl, opts, name)
		ds = ds.Extend(pds)
		if err != nil {
			ds = ds.Append(diag.Errorf(diag.SparkNameCollision, pl.Pos, "Kubernetes name collision", "%v.", err))
			continue
		}
		obj := a.object()
		ds = ds.Extend(a.diags)
		dir := Folder(pl) + "/spark"
		files := []*artifact.File{{Path: dir + "/" + mainFile, Kind: artifact.Python, Data: []byte(py), Pipeline: pl.Name}}
		kind := "sparkapplication.yaml"
		if _, ok := obj.(*ScheduledSparkApplication); ok {
			kind = "scheduledsparkapplication.yaml"
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
		if kf, err := ctx.Kustomization(dir, files, pl.Name); err != nil {
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
