// Package spark is the Spark backend: per pipeline, a PySpark program
// (structured streaming, or batch for backtests) run by the Kubeflow Spark
// Operator, a ConfigMap holding it, a SparkApplication (or a
// ScheduledSparkApplication for a scheduled batch pipeline), and a
// kustomization.yaml.
//
// The program defines one memoized function per node (n<ID>(wm), wm the
// extra watermark delay of the query that calls it) and one query per sink.
// User names appear only inside Python string literals, escaped so that no
// name can end the literal or hide characters; column names are
// back-quoted where Spark parses them. Anything Spark cannot compute with
// the spec's meaning (patterns, OVER and ranking on streams, late outputs,
// cumulating windows, …) is reported by Check at the spec node.
package spark

import (
	"regexp"

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
endpoint/kafka.topic/kafka.brokers, k8s.schemas.`,
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

var safeSegment = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Folder is the output folder of a pipeline.
func Folder(p *ir.Pipeline) string {
	if safeSegment.MatchString(p.Name) {
		return p.Name
	}
	return k8s.DeriveName(p.Name, k8s.DNSLabel)
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
		pr := newProgram(pl, opts)
		py := pr.build()
		ds = ds.Extend(pr.diags)
		name, err := names.Derive("spark", pl.Name, nameRule)
		if err == nil {
			err = names.Reserve("configmap", name+"-py", pl.Name)
		}
		if err != nil {
			ds = ds.Append(diag.Errorf(diag.SparkNameCollision, pl.Pos, "Kubernetes name collision", "%v.", err))
			continue
		}
		a := &appBuilder{pl: pl, opts: opts, ctx: ctx, prog: pr, name: name, cmName: name + "-py"}
		obj := a.object()
		ds = ds.Extend(a.diags)
		dir := Folder(pl) + "/spark"
		files := []*artifact.File{{Path: dir + "/" + mainFile, Kind: artifact.Python, Data: []byte(py), Pipeline: pl.Name}}
		kind := "sparkapplication.yaml"
		if _, ok := obj.(*ScheduledSparkApplication); ok {
			kind = "scheduledsparkapplication.yaml"
		}
		cm := k8s.ConfigMap(ctx.Meta(a.cmName, "spark-py", pl.Name, pl), map[string]string{mainFile: py})
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
