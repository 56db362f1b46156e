package argo

import (
	"fmt"

	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/flink"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/backends/spark"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/runtime/sink"
)

// The batch jobs a pipeline step creates are the spark and flink backends'
// own objects for the pipeline (spark.PipelineResources,
// flink.PipelineResources: same spec, configuration and ConfigMap
// reference as <pipeline>/spark/ and <pipeline>/flink/), with one change:
// metadata.name becomes metadata.generateName, so that each workflow run
// creates its own object, owned by the workflow (setOwnerReference) and
// deleted with it, and never clashes with the object of the pipeline's own
// folder. The ConfigMap holding the script is written next to the
// workflow (configmap-<pipeline>.yaml) so that applying the folder is
// enough: the engine's ConfigMap (same data, labels and annotations) named
// <workflow>-<its name>, which the job mounts instead. A name of its own
// keeps every object declared in one place (plan/apply refuses two
// artifacts declaring one object), however many workflows and engine
// folders a build writes.

// Prefix lengths for generateName: the API server appends 5 characters.
// The Flink operator's name rule allows 45 characters in all; Spark's
// driver pod is "<name>-driver", at most 63.
const (
	flinkPrefixLen = 45 - 6
	sparkPrefixLen = 63 - len("-driver") - 6
)

// job is what a resource template creates for a pipeline.
type job struct {
	kind     string
	obj      any             // typed object, metadata.generateName set
	meta     *k8s.ObjectMeta // obj's metadata
	cm       *k8s.ConfigMapObject
	success  string
	failure  string
	manifest string
	// mount points the job at the ConfigMap renamed to name; false when
	// the job does not mount it (spark.mainFile names the program).
	mount func(name string) bool
}

// generateName turns meta's name into a generateName prefix of at most max
// characters (a valid name itself, so the generated one is too).
func generateName(meta *k8s.ObjectMeta, max int) {
	prefix := meta.Name
	if len(prefix) > max {
		prefix = k8s.DeriveName(prefix, k8s.NameRule{MaxLen: max, LetterFirst: true})
	}
	meta.GenerateName, meta.Name = prefix+"-", ""
}

// sparkJob is the SparkApplication of a batch pipeline. Success and
// failure are the operator's terminal application states (api/v1beta2):
// SUBMISSION_FAILED and FAILING are retried by the operator under the
// application's restartPolicy and end in FAILED when retries run out.
func (g *gen) sparkJob(pl *ir.Pipeline) (*job, diag.Diagnostics) {
	res, ds := spark.PipelineResources(g.prog, pl, g.opts)
	if res == nil || res.Application == nil {
		return nil, ds
	}
	app := res.Application
	generateName(&app.Metadata, sparkPrefixLen)
	j := &job{kind: "SparkApplication", obj: app, meta: &app.Metadata, cm: res.ConfigMap,
		success: "status.applicationState.state == COMPLETED",
		failure: "status.applicationState.state == FAILED"}
	if j.cm != nil {
		old := j.cm.Metadata.Name
		j.mount = func(name string) bool {
			found := false
			for i := range app.Spec.Driver.ConfigMaps {
				if app.Spec.Driver.ConfigMaps[i].Name == old {
					app.Spec.Driver.ConfigMaps[i].Name, found = name, true
				}
			}
			return found
		}
	}
	return j, ds
}

// flinkJob is the FlinkDeployment (or, with flink.session, the
// FlinkSessionJob) of a batch pipeline, which the flink backend runs with
// execution.runtime-mode BATCH. A bounded job ends FINISHED; FAILED (restart
// strategy exhausted) and CANCELED are terminal too.
func (g *gen) flinkJob(pl *ir.Pipeline) (*job, diag.Diagnostics) {
	res, ds := flink.PipelineResources(g.prog, pl, g.opts)
	if res == nil {
		return nil, ds
	}
	j := &job{cm: res.ConfigMap, success: "status.jobStatus.state == FINISHED",
		failure: "status.jobStatus.state in (FAILED, CANCELED)"}
	switch {
	case res.Deployment != nil:
		dep := res.Deployment
		j.kind, j.obj, j.meta = "FlinkDeployment", dep, &dep.Metadata
		if j.cm != nil && dep.Spec.PodTemplate != nil {
			old, vols := j.cm.Metadata.Name, dep.Spec.PodTemplate.Spec.Volumes
			j.mount = func(name string) bool {
				found := false
				for i := range vols {
					if vols[i].ConfigMap != nil && vols[i].ConfigMap.Name == old {
						vols[i].ConfigMap.Name, found = name, true
					}
				}
				return found
			}
		}
	case res.SessionJob != nil:
		// The session cluster reads the script from flink.scriptDir, not
		// from the ConfigMap.
		j.kind, j.obj, j.meta, j.cm = "FlinkSessionJob", res.SessionJob, &res.SessionJob.Metadata, nil
	default:
		return nil, ds
	}
	generateName(j.meta, flinkPrefixLen)
	return j, ds
}

// encode sets j.manifest and returns the object under the name the API
// server would give it, as a file for validation against its CRD.
func (j *job) encode(path string) (*artifact.File, error) {
	b, err := k8s.Marshal(j.obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %v", j.kind, err)
	}
	j.manifest = string(b)
	prefix := j.meta.GenerateName
	j.meta.Name, j.meta.GenerateName = prefix+"x0a1b", ""
	defer func() { j.meta.Name, j.meta.GenerateName = "", prefix }()
	return k8s.Manifest(path, "", j.obj)
}

// beamEnv exposes the secrets pl's connectors reference to the Beam
// program, by reference, under the variables the runtime reads
// (runtime/sink.ResolveSecret: the secret's env, else its fallback name).
func beamEnv(pl *ir.Pipeline) ([]k8s.EnvVar, error) {
	var env []k8s.EnvVar
	var walk func(opts []ir.Option) error
	add := func(s *ir.Secret) error {
		ref := *s
		if ref.Env == "" {
			ref.Env = sink.SecretEnv(s)
		}
		e, err := k8s.SecretEnv(&ref)
		if err != nil {
			return err
		}
		env = append(env, e)
		return nil
	}
	walk = func(opts []ir.Option) error {
		for _, o := range opts {
			switch v := o.Value.(type) {
			case *ir.Secret:
				if err := add(v); err != nil {
					return err
				}
			case []ir.Option:
				if err := walk(v); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, n := range pl.Nodes {
		var c *ir.Connector
		switch op := n.Op.(type) {
		case *ir.Source:
			c = &op.Connector
		case *ir.Sink:
			c = &op.Connector
		case *ir.Lookup:
			c = &op.Table
		}
		if c != nil {
			if err := walk(c.Options); err != nil {
				return nil, err
			}
		}
	}
	return k8s.SortEnv(env), nil
}
