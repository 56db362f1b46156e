package flink

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// Settings (--set key=value) read by the flink backend, with defaults.
const (
	SetImage          = "flink.image"          // image with the SQL runner and connector jars
	SetVersion        = "flink.version"        // Flink version of the image: 2.2 → flinkVersion v2_2
	SetRunnerJar      = "flink.sqlRunnerJar"   // jarURI of the SQL runner
	SetServiceAccount = "flink.serviceAccount" // the operator's job service account
	SetStateDir       = "flink.stateDir"       // base URI for checkpoints, savepoints and HA
	SetSession        = "flink.session"        // name of a session FlinkDeployment: emit a FlinkSessionJob
	SetScriptDir      = "flink.scriptDir"      // where a session cluster finds scripts
	SetS3Endpoint     = "flink.s3.endpoint"    // S3/MinIO endpoint for state and files
	SetAutoscaler     = "flink.autoscaler"     // "true" forces the operator's autoscaler on
	SetS3Secret       = "flink.s3.secret"      // Secret with keys access-key, secret-key for state on S3/MinIO
	SetOLTransport    = "openlineage.transport"
	SetOLURL          = "openlineage.url"
	SetOLEndpoint     = "openlineage.endpoint"
	SetOLKafkaTopic   = "openlineage.kafka.topic"
	SetOLKafkaBrokers = "openlineage.kafka.brokers"

	DefaultImage     = "flink:2.2"
	DefaultVersion   = "2.2"
	DefaultRunnerJar = "local:///opt/flink/usrlib/sql-runner.jar"
	DefaultStateDir  = "s3://flink-state"
	DefaultSA        = "flink"

	olListenerFactory = "io.openlineage.flink.listener.OpenLineageJobStatusChangedListenerFactory"
	scriptMount       = "/opt/rtsap/sql"
	templateMount     = "/opt/rtsap/template"
	scriptFile        = "job.sql"
)

// nameRule is the Flink operator's resource-name rule
// [a-z]([-a-z\d]{0,43}[a-z\d])?.
var nameRule = k8s.NameRule{MaxLen: 45, LetterFirst: true}

// forbiddenConfig are flinkConfiguration keys the operator rejects.
var forbiddenConfig = []string{"kubernetes.namespace", "kubernetes.cluster-id", "high-availability.cluster-id"}

// FlinkDeployment is flink.apache.org/v1beta1 FlinkDeployment (the fields
// rtsapc sets).
type FlinkDeployment struct {
	k8s.TypeMeta `json:",inline"`
	Metadata     k8s.ObjectMeta `json:"metadata"`
	Spec         DeploymentSpec `json:"spec"`
}

// DeploymentSpec is FlinkDeployment.spec.
type DeploymentSpec struct {
	Image              string            `json:"image"`
	ImagePullPolicy    string            `json:"imagePullPolicy,omitempty"`
	FlinkVersion       string            `json:"flinkVersion"`
	ServiceAccount     string            `json:"serviceAccount"`
	FlinkConfiguration map[string]string `json:"flinkConfiguration"`
	JobManager         Component         `json:"jobManager"`
	TaskManager        Component         `json:"taskManager"`
	PodTemplate        *PodTemplate      `json:"podTemplate,omitempty"`
	Job                *JobSpec          `json:"job,omitempty"`
	Mode               string            `json:"mode,omitempty"`
}

// Component is jobManager / taskManager.
type Component struct {
	Resource Resource `json:"resource"`
	Replicas int      `json:"replicas,omitempty"`
}

// Resource is cpu and memory of a Flink process.
type Resource struct {
	CPU    float64 `json:"cpu"`
	Memory string  `json:"memory"`
}

// JobSpec is spec.job.
type JobSpec struct {
	JarURI      string   `json:"jarURI"`
	Args        []string `json:"args,omitempty"`
	Parallelism int      `json:"parallelism"`
	UpgradeMode string   `json:"upgradeMode"`
	State       string   `json:"state"`
}

// FlinkSessionJob is flink.apache.org/v1beta1 FlinkSessionJob.
type FlinkSessionJob struct {
	k8s.TypeMeta `json:",inline"`
	Metadata     k8s.ObjectMeta `json:"metadata"`
	Spec         SessionJobSpec `json:"spec"`
}

// SessionJobSpec is FlinkSessionJob.spec.
type SessionJobSpec struct {
	DeploymentName     string            `json:"deploymentName"`
	FlinkConfiguration map[string]string `json:"flinkConfiguration,omitempty"`
	Job                JobSpec           `json:"job"`
}

// PodTemplate is the part of a PodTemplateSpec rtsapc sets.
type PodTemplate struct {
	Spec PodSpec `json:"spec"`
}

// PodSpec holds the containers and volumes.
type PodSpec struct {
	InitContainers []Container `json:"initContainers,omitempty"`
	Containers     []Container `json:"containers"`
	Volumes        []Volume    `json:"volumes,omitempty"`
}

// Container is a pod container.
type Container struct {
	Name         string        `json:"name"`
	Image        string        `json:"image,omitempty"`
	Command      []string      `json:"command,omitempty"`
	Env          []k8s.EnvVar  `json:"env,omitempty"`
	VolumeMounts []VolumeMount `json:"volumeMounts,omitempty"`
}

// VolumeMount mounts a volume.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// Volume is a ConfigMap or emptyDir volume.
type Volume struct {
	Name      string        `json:"name"`
	ConfigMap *ConfigMapRef `json:"configMap,omitempty"`
	EmptyDir  *EmptyDir     `json:"emptyDir,omitempty"`
}

// EmptyDir is an emptyDir volume source; Medium "Memory" keeps its files
// off the node's disk.
type EmptyDir struct {
	Medium string `json:"medium,omitempty"`
}

// ConfigMapRef names a ConfigMap.
type ConfigMapRef struct {
	Name string `json:"name"`
}

// flinkVersionEnum converts "2.2" / "2.2.0" / "v2_2" to the CRD's v2_2.
func flinkVersionEnum(v string) string {
	if strings.HasPrefix(v, "v") {
		return v
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return "v" + v
	}
	return "v" + parts[0] + "_" + parts[1]
}

var memRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?([KMGT]i?|[kmgt]|[KMGT]B)?$`)

// deployment builds the FlinkDeployment (or FlinkSessionJob) of a pipeline.
type deployment struct {
	pl      *ir.Pipeline
	opts    *backends.Options
	ctx     *k8s.Context
	name    string // derived resource name
	cmName  string
	sc      *script
	diags   diag.Diagnostics
	session string
	olKey   *k8s.EnvVar // the listener's API key, from its Secret (olauth.go)
}

func (d *deployment) errf(format string, args ...any) {
	d.diags = d.diags.Append(diag.Errorf(diag.FlinkInvalidDeployment, d.pl.Pos, "Invalid Flink deployment", format, args...))
}

func scale(n int, env *ir.Environment) int {
	if env == nil || env.Scale <= 0 || n == 0 {
		return n
	}
	return max(1, int(math.Round(float64(n)*env.Scale)))
}

// configuration builds flinkConfiguration.
func (d *deployment) configuration() map[string]string {
	dep := d.pl.Deploy
	cp := dep.Checkpoint
	conf := map[string]string{}
	conf["pipeline.name"] = d.pl.Name
	if d.pl.Mode == ir.Batch {
		// Bounded sources, run to the end with batch scheduling; the job
		// then reports FINISHED (what a workflow step waits for).
		conf["execution.runtime-mode"] = "BATCH"
	}
	interval := "1 min"
	if cp.Interval > 0 {
		interval = durationOption(cp.Interval)
	}
	conf["execution.checkpointing.interval"] = interval
	switch cp.Mode {
	case "at_least_once":
		conf["execution.checkpointing.mode"] = "AT_LEAST_ONCE"
	default:
		conf["execution.checkpointing.mode"] = "EXACTLY_ONCE"
	}
	base := strings.TrimSuffix(d.opts.Setting(SetStateDir, DefaultStateDir), "/") + "/" + d.nsPath() + d.name
	ckDir, spDir := cp.Dir, cp.SavepointDir
	if ckDir == "" {
		ckDir = base + "/checkpoints"
	}
	if spDir == "" {
		spDir = base + "/savepoints"
	}
	conf["execution.checkpointing.dir"] = ckDir
	conf["execution.checkpointing.savepoint-dir"] = spDir
	conf["execution.checkpointing.storage"] = "filesystem"
	conf["execution.checkpointing.num-retained"] = "3"
	backend := cp.StateBackend
	if backend == "" {
		backend = "rocksdb"
	}
	conf["state.backend.type"] = backend
	if backend == "rocksdb" {
		conf["execution.checkpointing.incremental"] = "true"
	}
	// HA keeps the job's state across JobManager restarts and makes the
	// last-state upgrade mode work.
	conf["high-availability.type"] = "kubernetes"
	conf["high-availability.storageDir"] = base + "/ha"
	conf["restart-strategy.type"] = "exponential-delay"
	conf["restart-strategy.exponential-delay.initial-backoff"] = "1 s"
	conf["restart-strategy.exponential-delay.max-backoff"] = "1 min"
	conf["restart-strategy.exponential-delay.backoff-multiplier"] = "2.0"
	conf["restart-strategy.exponential-delay.reset-backoff-threshold"] = "10 min"
	conf["restart-strategy.exponential-delay.jitter-factor"] = "0.1"
	conf["kubernetes.operator.savepoint.format.type"] = "NATIVE"
	conf["kubernetes.operator.job.upgrade.last-state-fallback.enabled"] = "false"
	slots := 1
	if p, r := scale(dep.Parallelism, d.opts.Env), scale(dep.Replicas, d.opts.Env); p > 0 && r > 0 {
		slots = (p + r - 1) / r
	}
	conf["taskmanager.numberOfTaskSlots"] = strconv.Itoa(slots)
	if dep.MaxParallelism > 0 || d.opts.Setting(SetAutoscaler, "") == "true" {
		conf["job.autoscaler.enabled"] = "true"
		conf["job.autoscaler.stabilization.interval"] = "1 min"
		conf["job.autoscaler.metrics.window"] = "5 min"
		conf["job.autoscaler.target.utilization"] = "0.7"
		conf["job.autoscaler.target.utilization.boundary"] = "0.2"
		conf["job.autoscaler.restart.time"] = "2 min"
		conf["job.autoscaler.catch-up.duration"] = "5 min"
		conf["jobmanager.scheduler"] = "adaptive"
		if dep.MaxParallelism > 0 {
			conf["pipeline.max-parallelism"] = strconv.Itoa(scale(dep.MaxParallelism, d.opts.Env))
		}
	}
	if e := d.opts.Setting(SetS3Endpoint, d.sc.s3Endpoint); e != "" {
		conf["s3.endpoint"] = e
		conf["s3.path.style.access"] = "true"
	} else if d.sc.s3PathStyle {
		conf["s3.path.style.access"] = "true"
	}
	d.lineage(conf)
	for _, kv := range dep.Config {
		conf[kv.Key] = kv.Value
	}
	for _, k := range forbiddenConfig {
		if _, ok := conf[k]; ok {
			d.errf("flinkConfiguration key %q is set by the Flink operator and may not be given (pipeline %q).", k, d.pl.Name)
		}
	}
	return conf
}

func (d *deployment) nsPath() string {
	if d.ctx.Namespace != "" {
		return d.ctx.Namespace + "/"
	}
	return ""
}

// lineage wires the OpenLineage listener (Flink 2.x job-status listener,
// which reports SQL jobs) and its transport.
func (d *deployment) lineage(conf map[string]string) {
	v := flinkVersionEnum(d.opts.Setting(SetVersion, DefaultVersion))
	if !strings.HasPrefix(v, "v2_") {
		return // Flink 1.x's listener does not support SQL jobs
	}
	conf["execution.job-status-changed-listeners"] = olListenerFactory
	conf["openlineage.job.namespace"] = openlineage.Namespace(d.opts)
	conf["openlineage.job.name"] = openlineage.JobName(d.pl)
	if o := d.pl.Owner; o != "" {
		conf["openlineage.job.owners.team"] = o
	}
	url := d.opts.Setting(SetOLURL, "")
	transport := d.opts.Setting(SetOLTransport, "")
	if transport == "" {
		transport = "console"
		if url != "" {
			transport = "http"
		}
	}
	conf["openlineage.transport.type"] = transport
	switch transport {
	case "http":
		if url == "" {
			d.errf("OpenLineage transport http needs --set %s=URL.", SetOLURL)
		}
		conf["openlineage.transport.url"] = url
		conf["openlineage.transport.endpoint"] = d.opts.Setting(SetOLEndpoint, "/api/v1/lineage")
	case "kafka":
		conf["openlineage.transport.topicName"] = d.opts.Setting(SetOLKafkaTopic, "openlineage")
		conf["openlineage.transport.properties.bootstrap.servers"] = d.opts.Setting(SetOLKafkaBrokers, "kafka:9092")
	}
	d.apiKey(transport)
}

func (d *deployment) resources() Resource {
	r := Resource{CPU: d.pl.Deploy.CPU, Memory: d.pl.Deploy.Memory}
	if r.CPU <= 0 {
		r.CPU = 1
	}
	if r.Memory == "" {
		r.Memory = "2048m"
	}
	if !memRe.MatchString(r.Memory) {
		d.errf("Memory %q of pipeline %q is not a Flink memory size.", r.Memory, d.pl.Name)
	}
	return r
}

func (d *deployment) upgradeMode() string {
	m := d.pl.Deploy.Checkpoint.UpgradeMode
	if m == "" {
		m = "savepoint"
	}
	switch m {
	case "stateless", "last-state", "savepoint":
	default:
		d.errf("upgradeMode %q is not one of stateless, last-state, savepoint.", m)
	}
	return m
}

// podTemplate mounts the script ConfigMap; with secrets, an init container
// renders the script with their values into an emptyDir, so secrets are
// only ever referenced (secretKeyRef) and never written into artifacts.
func (d *deployment) podTemplate() *PodTemplate {
	main := Container{Name: "flink-main-container"}
	spec := PodSpec{}
	var names []string
	for n := range d.sc.secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	if name := d.opts.Setting(SetS3Secret, ""); name != "" && d.sc.s3Creds[0] == nil {
		d.sc.s3Creds = [2]*ir.Secret{{Name: name, Key: "access-key"}, {Name: name, Key: "secret-key"}}
	}
	if c := d.sc.s3Creds; c[0] != nil {
		for i, env := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
			sec := *c[i]
			sec.Env = env
			if e, err := k8s.SecretEnv(&sec); err != nil {
				d.errf("S3 credentials: %v.", err)
			} else {
				main.Env = append(main.Env, e)
			}
		}
	}
	if len(names) == 0 {
		spec.Volumes = []Volume{{Name: "sql", ConfigMap: &ConfigMapRef{Name: d.cmName}}}
		main.VolumeMounts = []VolumeMount{{Name: "sql", MountPath: scriptMount, ReadOnly: true}}
	} else {
		init := Container{Name: "render-sql", Image: d.image(), Command: []string{"/bin/bash", "-c", renderScript(names)}}
		for _, n := range names {
			e, err := k8s.SecretEnv(d.sc.secrets[n])
			if err != nil {
				d.errf("%v.", err)
				continue
			}
			e.Name = n
			init.Env = append(init.Env, e)
		}
		init.Env = k8s.SortEnv(init.Env)
		init.VolumeMounts = []VolumeMount{{Name: "sql-template", MountPath: templateMount, ReadOnly: true}, {Name: "sql", MountPath: scriptMount}}
		main.VolumeMounts = []VolumeMount{{Name: "sql", MountPath: scriptMount, ReadOnly: true}}
		spec.InitContainers = []Container{init}
		spec.Volumes = []Volume{{Name: "sql", EmptyDir: &EmptyDir{}}, {Name: "sql-template", ConfigMap: &ConfigMapRef{Name: d.cmName}}}
	}
	d.lineagePod(&spec, &main)
	spec.Containers = []Container{main}
	return &PodTemplate{Spec: spec}
}

// renderScript is the init container's bash program: it substitutes each
// ${VAR} placeholder with the variable's value, single quotes doubled (the
// placeholders sit inside SQL string literals), and ${VAR|jaas} with the
// value also escaped for a quoted JAAS option (\ and "). It refuses values
// the SQL runner would mangle rather than start a job with a corrupted
// secret.
func renderScript(vars []string) string {
	var b strings.Builder
	b.WriteString("set -euo pipefail\n")
	fmt.Fprintf(&b, "s=$(cat %s/%s; printf x); s=${s%%x}\n", templateMount, scriptFile)
	b.WriteString("for v in " + strings.Join(vars, " ") + "; do\n")
	b.WriteString("  val=${!v}\n")
	b.WriteString("  case \"$val\" in *--*|*'/*'*|*$'\\n'*|*$'\\r'*) echo \"secret $v holds --, /* or a line break, which the Flink SQL runner would corrupt\" >&2; exit 1;; esac\n")
	b.WriteString("  j=${val//\\\\/\\\\\\\\}; j=${j//\\\"/\\\\\\\"}; j=${j//\\'/\\'\\'}\n")
	b.WriteString("  val=${val//\\'/\\'\\'}\n")
	b.WriteString("  s=${s//\"\\${$v|jaas}\"/\"$j\"}\n")
	b.WriteString("  s=${s//\"\\${$v}\"/\"$val\"}\n")
	b.WriteString("done\n")
	fmt.Fprintf(&b, "printf '%%s' \"$s\" > %s/%s\n", scriptMount, scriptFile)
	return b.String()
}

func (d *deployment) image() string {
	if d.pl.Deploy.Image != "" {
		return d.pl.Deploy.Image
	}
	return d.opts.Setting(SetImage, DefaultImage)
}

func (d *deployment) job() JobSpec {
	p := scale(d.pl.Deploy.Parallelism, d.opts.Env)
	if p <= 0 {
		p = 1
	}
	return JobSpec{
		JarURI:      d.opts.Setting(SetRunnerJar, DefaultRunnerJar),
		Args:        []string{scriptMount + "/" + scriptFile},
		Parallelism: p,
		UpgradeMode: d.upgradeMode(),
		State:       "running",
	}
}

// object returns the FlinkDeployment, or the FlinkSessionJob when the
// session setting names a session cluster.
func (d *deployment) object() any {
	meta := d.ctx.Meta(d.name, "flink", d.pl.Name, d.pl)
	conf := d.configuration()
	job := d.job()
	if d.session != "" {
		job.Args = []string{strings.TrimSuffix(d.opts.Setting(SetScriptDir, "/opt/flink/usrlib/sql-scripts"), "/") + "/" + d.name + ".sql"}
		if len(d.sc.secrets) > 0 || d.sc.s3Creds[0] != nil {
			d.errf("Pipeline %q uses secrets, which a FlinkSessionJob cannot reference (the session cluster's pods are not rtsapc's); use application mode.", d.pl.Name)
		}
		if d.olKey != nil {
			d.diags = d.diags.Append(diag.Errorf(diag.FlinkLineageSettings, d.pl.Pos, "OpenLineage API key for a session job",
				"Pipeline %q: %s names a Secret, but the listener of a FlinkSessionJob runs in the session cluster's pods, which are not rtsapc's; configure the key there (openlineage.yml) and drop the setting, or use application mode.", d.pl.Name, openlineage.SetAPIKeySecret))
		}
		if !strings.HasPrefix(job.JarURI, "https://") {
			d.errf("A FlinkSessionJob's jarURI must be an https:// URI (the operator's default allowed scheme); set --set %s=https://….", SetRunnerJar)
		}
		// Cluster-level keys belong to the session deployment.
		for k := range conf {
			if strings.HasPrefix(k, "high-availability.") || strings.HasPrefix(k, "taskmanager.") || k == "jobmanager.scheduler" || strings.HasPrefix(k, "s3.") {
				delete(conf, k)
			}
		}
		return &FlinkSessionJob{
			TypeMeta: k8s.TypeMeta{APIVersion: "flink.apache.org/v1beta1", Kind: "FlinkSessionJob"},
			Metadata: meta,
			Spec:     SessionJobSpec{DeploymentName: d.session, FlinkConfiguration: conf, Job: job},
		}
	}
	res := d.resources()
	tm := Component{Resource: res, Replicas: scale(d.pl.Deploy.Replicas, d.opts.Env)}
	if tm.Replicas < 0 {
		tm.Replicas = 0
	}
	return &FlinkDeployment{
		TypeMeta: k8s.TypeMeta{APIVersion: "flink.apache.org/v1beta1", Kind: "FlinkDeployment"},
		Metadata: meta,
		Spec: DeploymentSpec{
			Image:              d.image(),
			FlinkVersion:       flinkVersionEnum(d.opts.Setting(SetVersion, DefaultVersion)),
			ServiceAccount:     d.opts.Setting(SetServiceAccount, DefaultSA),
			FlinkConfiguration: conf,
			JobManager:         Component{Resource: res, Replicas: 1},
			TaskManager:        tm,
			PodTemplate:        d.podTemplate(),
			Job:                &job,
			Mode:               "native",
		},
	}
}
