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
//	openlineage.yaml       a ConfigMap with the lineage the exit handler posts
//
// A step runs a batch pipeline on its engine (Spark: a resource template
// creating a SparkApplication and waiting on its state; Flink: a
// FlinkDeployment waiting for the job to finish; Beam: the pipeline's
// container) or a custom container. The exit handler runs the spec's onExit
// step and posts OpenLineage events (the pipelines' job declarations, as the
// openlineage backend writes them to <pipeline>/openlineage/job.json, and a
// COMPLETE or FAIL run event of the workflow) to openlineage.url.
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
exit handler), a CronWorkflow when scheduled or a Workflow otherwise, and a
ConfigMap with the OpenLineage events the exit handler posts. Valid for
Argo v3.7 and v4. Settings: argo.serviceAccount,
argo.lineageImage (default ` + defaultLineageImage + `), openlineage.url,
spark.image, spark.version, flink.image, beam.image, argo.s3.bucket,
argo.s3.endpoint, argo.s3.secret (Secret with accesskey and secretkey),
argo.s3.insecure (archive logs to S3/MinIO).`,
	Scope:    backends.PerProgram,
	Generate: generate,
}
