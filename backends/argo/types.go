package argo

import "rtsap.dev/rtsapc/backends/k8s"

// Argo Workflows v1alpha1 objects, as much of them as the backend writes.
// Defined here rather than imported from github.com/argoproj/argo-workflows/v3:
// that module's API package pulls its go.mod of ~350 requirements (kubectl,
// cli-runtime, minio, AWS SDK, gRPC gateway) into ours, and its types marshal
// empty structs (status: {}, creationTimestamp: null) that these don't.
// Output is checked against both CRD sets instead (v3.7.3 and v4.1.2).

const apiVersion = "argoproj.io/v1alpha1"

// WorkflowTemplate holds the workflow's spec; Workflow and CronWorkflow
// reference it.
type WorkflowTemplate struct {
	k8s.TypeMeta `json:",inline"`
	Metadata     k8s.ObjectMeta `json:"metadata"`
	Spec         WorkflowSpec   `json:"spec"`
}

// Workflow runs the template once.
type Workflow struct {
	k8s.TypeMeta `json:",inline"`
	Metadata     k8s.ObjectMeta `json:"metadata"`
	Spec         WorkflowSpec   `json:"spec"`
}

// CronWorkflow runs the template on a schedule.
type CronWorkflow struct {
	k8s.TypeMeta `json:",inline"`
	Metadata     k8s.ObjectMeta   `json:"metadata"`
	Spec         CronWorkflowSpec `json:"spec"`
}

// CronWorkflowSpec uses `schedules` (a list): v4 requires it and removed
// `schedule`; v3.7 accepts both, so the list is valid for both.
type CronWorkflowSpec struct {
	Schedules                  []string      `json:"schedules"`
	Timezone                   string        `json:"timezone,omitempty"`
	ConcurrencyPolicy          string        `json:"concurrencyPolicy,omitempty"`
	StartingDeadlineSeconds    *int64        `json:"startingDeadlineSeconds,omitempty"`
	Suspend                    bool          `json:"suspend,omitempty"`
	SuccessfulJobsHistoryLimit *int32        `json:"successfulJobsHistoryLimit,omitempty"`
	FailedJobsHistoryLimit     *int32        `json:"failedJobsHistoryLimit,omitempty"`
	WorkflowSpec               WorkflowSpec  `json:"workflowSpec"`
	WorkflowMetadata           *WorkflowMeta `json:"workflowMetadata,omitempty"`
}

// WorkflowMeta is metadata given to the workflows a CronWorkflow creates.
type WorkflowMeta struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// WorkflowSpec is the spec of a Workflow or WorkflowTemplate.
type WorkflowSpec struct {
	Entrypoint            string               `json:"entrypoint,omitempty"`
	Arguments             *Arguments           `json:"arguments,omitempty"`
	Templates             []*Template          `json:"templates,omitempty"`
	OnExit                string               `json:"onExit,omitempty"`
	ActiveDeadlineSeconds *int64               `json:"activeDeadlineSeconds,omitempty"`
	ServiceAccountName    string               `json:"serviceAccountName,omitempty"`
	WorkflowTemplateRef   *WorkflowTemplateRef `json:"workflowTemplateRef,omitempty"`
	Volumes               []Volume             `json:"volumes,omitempty"`
	PodGC                 *PodGC               `json:"podGC,omitempty"`
	WorkflowMetadata      *WorkflowMeta        `json:"workflowMetadata,omitempty"`
}

// PodGC deletes pods after they complete.
type PodGC struct {
	Strategy string `json:"strategy"`
}

// WorkflowTemplateRef points a Workflow at a WorkflowTemplate.
type WorkflowTemplateRef struct {
	Name string `json:"name"`
}

// Arguments are parameters passed to a workflow or task.
type Arguments struct {
	Parameters []Parameter `json:"parameters,omitempty"`
}

// Parameter is a named string.
type Parameter struct {
	Name  string  `json:"name"`
	Value *string `json:"value,omitempty"`
}

// Inputs declares what a template takes.
type Inputs struct {
	Parameters []Parameter `json:"parameters,omitempty"`
}

// Template is one template; exactly one of DAG, Container, Resource is set.
type Template struct {
	Name            string           `json:"name"`
	Inputs          *Inputs          `json:"inputs,omitempty"`
	Metadata        *TemplateMeta    `json:"metadata,omitempty"`
	DAG             *DAG             `json:"dag,omitempty"`
	Container       *Container       `json:"container,omitempty"`
	Resource        *Resource        `json:"resource,omitempty"`
	RetryStrategy   *RetryStrategy   `json:"retryStrategy,omitempty"`
	Timeout         string           `json:"timeout,omitempty"`
	ArchiveLocation *ArchiveLocation `json:"archiveLocation,omitempty"`
	Volumes         []Volume         `json:"volumes,omitempty"`
}

// TemplateMeta is metadata for the template's pod.
type TemplateMeta struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// DAG is a set of tasks with dependencies.
type DAG struct {
	Tasks []*Task `json:"tasks"`
}

// Task is one DAG task. The backend writes `dependencies` (never `depends`,
// and never both: v4's CEL rules reject that).
type Task struct {
	Name         string      `json:"name"`
	Template     string      `json:"template"`
	Dependencies []string    `json:"dependencies,omitempty"`
	Arguments    *Arguments  `json:"arguments,omitempty"`
	ContinueOn   *ContinueOn `json:"continueOn,omitempty"`
}

// ContinueOn lets the DAG go on when the task fails or errors.
type ContinueOn struct {
	Error  bool `json:"error,omitempty"`
	Failed bool `json:"failed,omitempty"`
}

// Container runs an image.
type Container struct {
	Name         string        `json:"name,omitempty"`
	Image        string        `json:"image"`
	Command      []string      `json:"command,omitempty"`
	Args         []string      `json:"args,omitempty"`
	Env          []k8s.EnvVar  `json:"env,omitempty"`
	VolumeMounts []VolumeMount `json:"volumeMounts,omitempty"`
}

// VolumeMount mounts a volume into a container.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// Volume is a pod volume; only ConfigMap volumes are written.
type Volume struct {
	Name      string           `json:"name"`
	ConfigMap *ConfigMapVolume `json:"configMap,omitempty"`
}

// ConfigMapVolume mounts a ConfigMap.
type ConfigMapVolume struct {
	Name string `json:"name"`
}

// Resource creates a Kubernetes object and waits on its conditions.
type Resource struct {
	Action            string `json:"action"`
	Manifest          string `json:"manifest"`
	SetOwnerReference bool   `json:"setOwnerReference,omitempty"`
	SuccessCondition  string `json:"successCondition,omitempty"`
	FailureCondition  string `json:"failureCondition,omitempty"`
}

// RetryStrategy retries a failed node. Limit is an int-or-string in both
// CRD sets; the backend writes an integer.
type RetryStrategy struct {
	Limit       *int64   `json:"limit,omitempty"`
	RetryPolicy string   `json:"retryPolicy,omitempty"`
	Backoff     *Backoff `json:"backoff,omitempty"`
}

// Backoff: duration and maxDuration are strings; factor an int-or-string,
// which Argo reads as an integer (fractional factors are rejected in Check).
type Backoff struct {
	Duration    string `json:"duration,omitempty"`
	Factor      *int64 `json:"factor,omitempty"`
	MaxDuration string `json:"maxDuration,omitempty"`
}

// ArchiveLocation is where a template's outputs and logs go.
type ArchiveLocation struct {
	ArchiveLogs *bool       `json:"archiveLogs,omitempty"`
	S3          *S3Artifact `json:"s3,omitempty"`
}

// S3Artifact is an S3 or MinIO location.
type S3Artifact struct {
	Endpoint        string                 `json:"endpoint,omitempty"`
	Bucket          string                 `json:"bucket,omitempty"`
	Region          string                 `json:"region,omitempty"`
	Insecure        *bool                  `json:"insecure,omitempty"`
	Key             string                 `json:"key,omitempty"`
	AccessKeySecret *k8s.SecretKeySelector `json:"accessKeySecret,omitempty"`
	SecretKeySecret *k8s.SecretKeySelector `json:"secretKeySecret,omitempty"`
}
