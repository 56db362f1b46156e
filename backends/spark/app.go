package spark

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// Settings (--set key=value) read by the spark backend, with defaults.
const (
	SetImage          = "spark.image"
	SetVersion        = "spark.version"
	SetServiceAccount = "spark.serviceAccount"
	SetCheckpointDir  = "spark.checkpointDir"
	SetMainFile       = "spark.mainFile" // e.g. s3a://bucket/main.py instead of the ConfigMap
	SetSchedule       = "spark.schedule" // cron: batch pipelines become ScheduledSparkApplications
	SetTimezone       = "spark.schedule.timeZone"
	SetOLTransport    = "openlineage.transport"
	SetOLURL          = "openlineage.url"
	SetOLEndpoint     = "openlineage.endpoint"
	SetOLKafkaTopic   = "openlineage.kafka.topic"
	SetOLKafkaBrokers = "openlineage.kafka.brokers"

	DefaultImage         = "docker.io/apache/spark:4.0.4"
	DefaultVersion       = "4.0.4"
	DefaultSA            = "spark-operator-spark"
	DefaultCheckpointDir = "s3a://spark-checkpoints"

	appMount = "/opt/rtsap/app"
	mainFile = "main.py"
)

// SparkApplication is sparkoperator.k8s.io/v1beta2 SparkApplication.
type SparkApplication struct {
	k8s.TypeMeta `json:",inline"`
	Metadata     k8s.ObjectMeta `json:"metadata"`
	Spec         AppSpec        `json:"spec"`
}

// ScheduledSparkApplication runs a SparkApplication on a cron schedule.
type ScheduledSparkApplication struct {
	k8s.TypeMeta `json:",inline"`
	Metadata     k8s.ObjectMeta `json:"metadata"`
	Spec         ScheduledSpec  `json:"spec"`
}

// ScheduledSpec is ScheduledSparkApplication.spec.
type ScheduledSpec struct {
	Schedule                  string  `json:"schedule"`
	TimeZone                  string  `json:"timeZone,omitempty"`
	ConcurrencyPolicy         string  `json:"concurrencyPolicy"`
	SuccessfulRunHistoryLimit int     `json:"successfulRunHistoryLimit"`
	FailedRunHistoryLimit     int     `json:"failedRunHistoryLimit"`
	Template                  AppSpec `json:"template"`
}

// AppSpec is SparkApplication.spec (the fields rtsapc sets).
type AppSpec struct {
	Type                string             `json:"type"`
	PythonVersion       string             `json:"pythonVersion"`
	Mode                string             `json:"mode"`
	Image               string             `json:"image"`
	ImagePullPolicy     string             `json:"imagePullPolicy"`
	MainApplicationFile string             `json:"mainApplicationFile"`
	SparkVersion        string             `json:"sparkVersion"`
	SparkConf           map[string]string  `json:"sparkConf"`
	HadoopConf          map[string]string  `json:"hadoopConf,omitempty"`
	Deps                *Deps              `json:"deps,omitempty"`
	RestartPolicy       RestartPolicy      `json:"restartPolicy"`
	Driver              Pod                `json:"driver"`
	Executor            Pod                `json:"executor"`
	DynamicAllocation   *DynamicAllocation `json:"dynamicAllocation,omitempty"`
}

// Deps are packages resolved at submit time.
type Deps struct {
	Packages []string `json:"packages,omitempty"`
}

// RestartPolicy is spec.restartPolicy.
type RestartPolicy struct {
	Type                             string `json:"type"`
	OnFailureRetries                 int    `json:"onFailureRetries,omitempty"`
	OnFailureRetryInterval           int    `json:"onFailureRetryInterval,omitempty"`
	OnSubmissionFailureRetries       int    `json:"onSubmissionFailureRetries,omitempty"`
	OnSubmissionFailureRetryInterval int    `json:"onSubmissionFailureRetryInterval,omitempty"`
}

// Pod is driver / executor settings.
type Pod struct {
	Cores           int               `json:"cores"`
	Memory          string            `json:"memory"`
	Instances       int               `json:"instances,omitempty"`
	ServiceAccount  string            `json:"serviceAccount,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Env             []k8s.EnvVar      `json:"env,omitempty"`
	ConfigMaps      []NamePath        `json:"configMaps,omitempty"`
	SecurityContext *SecurityContext  `json:"securityContext,omitempty"`
}

// NamePath mounts a ConfigMap at a path.
type NamePath struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// SecurityContext is the restricted context of the operator's examples.
type SecurityContext struct {
	Capabilities             Capabilities   `json:"capabilities"`
	RunAsGroup               int            `json:"runAsGroup"`
	RunAsUser                int            `json:"runAsUser"`
	RunAsNonRoot             bool           `json:"runAsNonRoot"`
	AllowPrivilegeEscalation bool           `json:"allowPrivilegeEscalation"`
	SeccompProfile           SeccompProfile `json:"seccompProfile"`
}

// Capabilities drops Linux capabilities.
type Capabilities struct {
	Drop []string `json:"drop"`
}

// SeccompProfile selects a seccomp profile.
type SeccompProfile struct {
	Type string `json:"type"`
}

// DynamicAllocation is spec.dynamicAllocation.
type DynamicAllocation struct {
	Enabled                bool `json:"enabled"`
	InitialExecutors       int  `json:"initialExecutors"`
	MinExecutors           int  `json:"minExecutors"`
	MaxExecutors           int  `json:"maxExecutors"`
	ShuffleTrackingEnabled bool `json:"shuffleTrackingEnabled"`
}

func restricted() *SecurityContext {
	return &SecurityContext{Capabilities: Capabilities{Drop: []string{"ALL"}}, RunAsGroup: 185, RunAsUser: 185, RunAsNonRoot: true,
		SeccompProfile: SeccompProfile{Type: "RuntimeDefault"}}
}

func scale(n int, env *ir.Environment) int {
	if env == nil || env.Scale <= 0 || n == 0 {
		return n
	}
	return max(1, int(math.Round(float64(n)*env.Scale)))
}

// sparkMemory converts a Kubernetes quantity (4Gi) to Spark's (4g).
var memRe = regexp.MustCompile(`^([0-9]+)([KMGT]i?|[kmgt])?$`)

func sparkMemory(m string) (string, bool) {
	if m == "" {
		return "1g", true
	}
	g := memRe.FindStringSubmatch(m)
	if g == nil {
		return m, false
	}
	unit := strings.ToLower(strings.TrimSuffix(g[2], "i"))
	if unit == "" {
		return g[1], true
	}
	return g[1] + unit, true
}

type appBuilder struct {
	pl     *ir.Pipeline
	opts   *backends.Options
	ctx    *k8s.Context
	prog   *program
	name   string
	cmName string
	diags  diag.Diagnostics
	olEnv  []k8s.EnvVar // the listener's API key (driver environment)
}

func (a *appBuilder) errf(format string, args ...any) {
	a.diags = a.diags.Append(diag.Errorf(diag.SparkInvalidApplication, a.pl.Pos, "Invalid Spark application", format, args...))
}

func (a *appBuilder) spec() AppSpec {
	dep := a.pl.Deploy
	conf := map[string]string{
		"spark.sql.adaptive.enabled":                    "true",
		"spark.sql.adaptive.coalescePartitions.enabled": "true",
		"spark.sql.adaptive.skewJoin.enabled":           "true",
		"spark.sql.session.timeZone":                    "UTC",
		"spark.jars.ivy":                                "/tmp/.ivy2",
		"spark.app.name":                                a.pl.Name,
	}
	if p := scale(dep.Parallelism, a.opts.Env); p > 0 {
		conf["spark.sql.shuffle.partitions"] = strconv.Itoa(p)
	}
	if !a.prog.batch {
		conf["spark.sql.streaming.stateStore.providerClass"] = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
	}
	a.lineage(conf)
	a.checkImage()
	for _, kv := range dep.Config {
		conf[kv.Key] = kv.Value
	}
	pkgs := []string{pkgOL}
	for _, p := range sortedKeys(a.prog.packages) {
		pkgs = append(pkgs, p)
	}
	mem, ok := sparkMemory(dep.Memory)
	if !ok {
		a.errf("Memory %q of pipeline %q is not a Kubernetes quantity Spark understands.", dep.Memory, a.pl.Name)
	}
	cores := int(math.Ceil(dep.CPU))
	if cores < 1 {
		cores = 1
	}
	// Secrets are read by the driver (connector options are built there);
	// executors get only the S3 credentials the s3a filesystem reads.
	var env, execEnv []k8s.EnvVar
	for _, n := range sortedKeys(a.prog.secrets) {
		e, err := k8s.SecretEnv(a.prog.secrets[n])
		if err != nil {
			a.errf("%v.", err)
			continue
		}
		e.Name = n
		env = append(env, e)
	}
	if c := a.prog.s3Creds; c[0] != nil {
		for i, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
			s := *c[i]
			s.Env = name
			if e, err := k8s.SecretEnv(&s); err == nil {
				env = append(env, e)
				execEnv = append(execEnv, e)
			} else {
				a.errf("S3 credentials: %v.", err)
			}
		}
	}
	// Only the driver runs the OpenLineage listener: executors never see
	// the API key.
	env = append(env, a.olEnv...)
	env, execEnv = k8s.SortEnv(env), k8s.SortEnv(execEnv)
	main := "local://" + appMount + "/" + mainFile
	var cms []NamePath
	if f := a.opts.Setting(SetMainFile, ""); f != "" {
		main = f
	} else {
		cms = []NamePath{{Name: a.cmName, Path: appMount}}
	}
	labels := map[string]string{k8s.LabelPipeline: k8s.DeriveName(a.pl.Name, k8s.DNSLabel)}
	instances := scale(dep.Replicas, a.opts.Env)
	if instances <= 0 {
		instances = 1
	}
	spec := AppSpec{
		Type: "Python", PythonVersion: "3", Mode: "cluster",
		Image:               a.image(),
		ImagePullPolicy:     "IfNotPresent",
		MainApplicationFile: main,
		SparkVersion:        a.opts.Setting(SetVersion, DefaultVersion),
		SparkConf:           conf,
		Deps:                &Deps{Packages: pkgs},
		Driver:              Pod{Cores: 1, Memory: "1g", ServiceAccount: a.opts.Setting(SetServiceAccount, DefaultSA), Labels: labels, Env: env, ConfigMaps: cms, SecurityContext: restricted()},
		Executor:            Pod{Cores: cores, Memory: mem, Instances: instances, Labels: labels, Env: execEnv, SecurityContext: restricted()},
	}
	if len(a.prog.hadoop) > 0 {
		spec.HadoopConf = a.prog.hadoop
	}
	if dep.MaxParallelism > 0 {
		maxE := scale(dep.MaxParallelism, a.opts.Env) / cores
		if maxE < instances {
			maxE = instances
		}
		spec.DynamicAllocation = &DynamicAllocation{Enabled: true, InitialExecutors: instances, MinExecutors: 1, MaxExecutors: maxE, ShuffleTrackingEnabled: true}
	}
	if a.prog.batch {
		spec.RestartPolicy = RestartPolicy{Type: "OnFailure", OnFailureRetries: 3, OnFailureRetryInterval: 10, OnSubmissionFailureRetries: 5, OnSubmissionFailureRetryInterval: 20}
	} else {
		// A streaming query restarts from its checkpoint.
		spec.RestartPolicy = RestartPolicy{Type: "Always", OnFailureRetryInterval: 10, OnSubmissionFailureRetryInterval: 20}
	}
	return spec
}

func (a *appBuilder) image() string {
	if a.pl.Deploy.Image != "" {
		return a.pl.Deploy.Image
	}
	return a.opts.Setting(SetImage, DefaultImage)
}

// lineage configures the OpenLineage Spark listener and its transport.
func (a *appBuilder) lineage(conf map[string]string) {
	conf["spark.extraListeners"] = "io.openlineage.spark.agent.OpenLineageSparkListener"
	conf["spark.openlineage.namespace"] = openlineage.Namespace(a.opts)
	conf["spark.openlineage.appName"] = openlineage.JobName(a.pl)
	conf["spark.openlineage.columnLineage.datasetLineageEnabled"] = "true"
	url := a.opts.Setting(SetOLURL, "")
	transport := a.opts.Setting(SetOLTransport, "")
	if transport == "" {
		transport = "console"
		if url != "" {
			transport = "http"
		}
	}
	conf["spark.openlineage.transport.type"] = transport
	switch transport {
	case "http":
		if url == "" {
			a.errf("OpenLineage transport http needs --set %s=URL.", SetOLURL)
		}
		conf["spark.openlineage.transport.url"] = url
		conf["spark.openlineage.transport.endpoint"] = a.opts.Setting(SetOLEndpoint, "/api/v1/lineage")
	case "kafka":
		conf["spark.openlineage.transport.topicName"] = a.opts.Setting(SetOLKafkaTopic, "openlineage")
		conf["spark.openlineage.transport.properties.bootstrap.servers"] = a.opts.Setting(SetOLKafkaBrokers, "kafka:9092")
	}
	if o := a.pl.Owner; o != "" {
		conf["spark.openlineage.job.owners.team"] = o
	}
	a.apiKey(transport)
	// The listener names its jobs after appName in snake_case (and its
	// action jobs "<app>.<node>.<dataset>"), never exactly as rtsapc does:
	// the parent facet hangs them under the declared job, through the
	// build's declaration run (openlineage/run.json).
	conf["spark.openlineage.parentJobNamespace"] = openlineage.Namespace(a.opts)
	conf["spark.openlineage.parentJobName"] = openlineage.JobName(a.pl)
	conf["spark.openlineage.parentRunId"] = openlineage.DeclarationRunID(&ir.Program{SpecDigest: a.ctx.SpecDigest}, a.pl, a.opts)
}

// object returns the SparkApplication, or a ScheduledSparkApplication for
// a batch pipeline when a schedule is set.
func (a *appBuilder) object() any {
	app := a.application()
	if cron := a.opts.Setting(SetSchedule, ""); cron != "" && a.prog.batch {
		return &ScheduledSparkApplication{
			TypeMeta: k8s.TypeMeta{APIVersion: "sparkoperator.k8s.io/v1beta2", Kind: "ScheduledSparkApplication"},
			Metadata: app.Metadata,
			Spec: ScheduledSpec{Schedule: cron, TimeZone: a.opts.Setting(SetTimezone, "UTC"), ConcurrencyPolicy: "Forbid",
				SuccessfulRunHistoryLimit: 3, FailedRunHistoryLimit: 3, Template: app.Spec},
		}
	}
	return app
}

// application returns the SparkApplication, whatever the schedule.
func (a *appBuilder) application() *SparkApplication {
	return &SparkApplication{
		TypeMeta: k8s.TypeMeta{APIVersion: "sparkoperator.k8s.io/v1beta2", Kind: "SparkApplication"},
		Metadata: a.ctx.Meta(a.name, "spark", a.pl.Name, a.pl),
		Spec:     a.spec(),
	}
}

var avroName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// avroSchema is the Avro schema (JSON) of a record, for from_avro.
func avroSchema(t *rtype.Type, name string) (string, error) {
	var conv func(t *rtype.Type, name string) (any, error)
	n := 0
	conv = func(t *rtype.Type, name string) (any, error) {
		switch t.Kind {
		case rtype.String:
			return "string", nil
		case rtype.Bool:
			return "boolean", nil
		case rtype.Int32:
			return "int", nil
		case rtype.Int64:
			return "long", nil
		case rtype.Float32:
			return "float", nil
		case rtype.Float64:
			return "double", nil
		case rtype.Bytes:
			return "bytes", nil
		case rtype.Decimal:
			return map[string]any{"type": "bytes", "logicalType": "decimal", "precision": t.Precision, "scale": t.Scale}, nil
		case rtype.Timestamp:
			lt := "timestamp-millis"
			if t.Precision > 3 {
				lt = "timestamp-micros"
			}
			return map[string]any{"type": "long", "logicalType": lt}, nil
		case rtype.Date:
			return map[string]any{"type": "int", "logicalType": "date"}, nil
		case rtype.List:
			e, err := conv(t.Elem, name)
			return map[string]any{"type": "array", "items": e}, err
		case rtype.Map:
			e, err := conv(t.Elem, name)
			return map[string]any{"type": "map", "values": e}, err
		case rtype.Record:
			n++
			var fields []any
			for _, f := range t.Fields {
				if !avroName.MatchString(f.Name) {
					return nil, fmt.Errorf("field name %q is not a valid Avro name", f.Name)
				}
				ft, err := conv(f.Type, f.Name)
				if err != nil {
					return nil, err
				}
				if f.Nullable {
					ft = []any{"null", ft}
				}
				fields = append(fields, map[string]any{"name": f.Name, "type": ft})
			}
			return map[string]any{"type": "record", "name": "r" + strconv.Itoa(n), "fields": fields}, nil
		}
		return nil, fmt.Errorf("type %s has no Avro form", t)
	}
	v, err := conv(t, name)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(v)
	return string(data), err
}
