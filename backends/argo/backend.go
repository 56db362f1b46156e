// Package argo is the Argo Workflows backend: each workflow of the spec
// becomes, under <workflow>/argo/,
//
//	workflowtemplate.yaml  the WorkflowTemplate: a DAG of the steps with their
//	                       dependencies, parameters, retries, timeouts, the
//	                       active deadline and the exit handler
//	cronworkflow.yaml      a CronWorkflow running the template on the schedule
//	                       (when there is one)
//	workflow.yaml          a Workflow running the template once (when there is
//	                       no schedule)
//	openlineage.yaml       a ConfigMap with the lineage the lineage steps post
//	                       and their script (lineage.sh)
//	configmap-<pipeline>.yaml
//	                       the script a Spark or Flink step's job mounts: the
//	                       ConfigMap of <pipeline>/spark/ or /flink/, named
//	                       <workflow>-<its name> (one object, one artifact)
//	kustomization.yaml     the folder's manifests, for kubectl apply -k
//
// A step runs a batch pipeline on its engine or a custom container. Spark
// and Flink steps are resource templates that create the spark or flink
// backend's own object for the pipeline (SparkApplication; FlinkDeployment,
// or FlinkSessionJob with flink.session, in batch mode) under a
// generateName and mounting the folder's ConfigMap, owned by the workflow, and wait on the operator's terminal
// states (status.applicationState.state COMPLETED / FAILED;
// status.jobStatus.state FINISHED / FAILED, CANCELED). Beam steps run the
// image of the beam backend's program with --bounded.
//
// The workflow is an OpenLineage job whose run id is the workflow's uid
// (lineage.go): a lineage-start task that every step follows posts START;
// the exit handler runs the spec's onExit step and posts the pipelines' job
// declarations (as the openlineage backend writes them to
// <pipeline>/openlineage/job.json) and COMPLETE, FAIL (with an errorMessage
// from {{workflow.failures}}) or ABORT (argo stop). Every step's run hangs
// under the workflow's: Beam steps get OPENLINEAGE_PARENT_ID and the
// lineage destination, Spark steps' listeners spark.openlineage.parent*
// (Flink's listener has no parent setting). Events go where the shared
// openlineage.* settings say (console, or http with an API key from a
// Secret; kafka only for Beam steps, the lineage steps then print).
//
// Every resource is validated against Argo's CRDs of v3.7.3 (the Go module's)
// and v4.1.2; names are DNS-safe, derived from the spec's with the originals
// in annotations, and collisions are errors.
package argo

import (
	"rtsap.dev/rtsapc/backends"
)

// Backend is the argo backend descriptor.
var Backend = &backends.Backend{
	Name: "argo",
	Doc: `Argo Workflows resources for the spec's workflows

Per workflow, <workflow>/argo/: a WorkflowTemplate (DAG, retries, timeouts,
exit handler), a CronWorkflow when scheduled or a Workflow otherwise, a
ConfigMap with the OpenLineage events of the workflow's run (START before
the first step, COMPLETE/FAIL/ABORT on exit) and their script, the script
ConfigMaps of its Spark and Flink steps, and kustomization.yaml. Spark and
Flink steps create the spark and flink backends' own objects (their
settings apply); Beam steps run the program's image. Steps' runs hang
under the workflow's run. Valid for Argo v3.7 and v4. Settings:
argo.serviceAccount, argo.lineageImage (default ` + defaultLineageImage + `:
sh, awk, curl), openlineage.transport (console, http), openlineage.url,
openlineage.endpoint, openlineage.apiKeySecret (<secret>/<key>),
beam.image, beam.endpoint (a portable job service), argo.s3.bucket,
argo.s3.endpoint, argo.s3.secret (Secret with accesskey and secretkey),
argo.s3.insecure (archive logs to S3/MinIO).`,
	Scope:        backends.PerProgram,
	CheckProgram: Check,
	Generate:     generate,
}
