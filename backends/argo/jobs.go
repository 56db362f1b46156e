package argo

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"rtsap.dev/rtsapc/backends/artifact"

	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler/ir"
)

// The batch jobs a pipeline step creates. These are minimal resources that
// validate against the operators' CRDs (../shared/schemas/spark, flink);
// once the spark and flink backends expose their resources for a pipeline,
// the steps should embed those instead (same names, same config).
//
// Every job gets metadata.generateName, so each workflow run creates its own
// object, owned by the workflow (setOwnerReference) and deleted with it.

type jobMeta struct {
	GenerateName string            `json:"generateName"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

func (g *gen) jobMeta(pl *ir.Pipeline) jobMeta {
	m := g.ctx.Meta(k8s.DeriveName(pl.Name, k8s.NameRule{MaxLen: 40, LetterFirst: true}), "batch-job", pl.Name, pl)
	return jobMeta{GenerateName: m.Name + "-", Labels: m.Labels, Annotations: m.Annotations}
}

type sparkApp struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Metadata   jobMeta   `json:"metadata"`
	Spec       sparkSpec `json:"spec"`
}

type sparkSpec struct {
	Type                string            `json:"type"`
	PythonVersion       string            `json:"pythonVersion"`
	Mode                string            `json:"mode"`
	Image               string            `json:"image"`
	MainApplicationFile string            `json:"mainApplicationFile"`
	SparkVersion        string            `json:"sparkVersion"`
	SparkConf           map[string]string `json:"sparkConf,omitempty"`
	RestartPolicy       struct {
		Type string `json:"type"`
	} `json:"restartPolicy"`
	Driver   sparkPod `json:"driver"`
	Executor sparkPod `json:"executor"`
}

type sparkPod struct {
	Cores          int32  `json:"cores"`
	Memory         string `json:"memory"`
	ServiceAccount string `json:"serviceAccount,omitempty"`
	Instances      *int32 `json:"instances,omitempty"`
}

func (g *gen) sparkApplication(pl *ir.Pipeline) (string, error) {
	image := pl.Deploy.Image
	if image == "" {
		image = g.opts.Setting("spark.image", "docker.io/apache/spark:4.0.4")
	}
	mem := sparkMemory(pl.Deploy.Memory)
	inst := int32(pl.Deploy.Replicas)
	if inst <= 0 {
		inst = int32(pl.Deploy.Parallelism)
	}
	if inst <= 0 {
		inst = 1
	}
	cores := int32(math.Ceil(pl.Deploy.CPU))
	if cores <= 0 {
		cores = 1
	}
	version := g.opts.Setting("spark.version", "")
	if version == "" {
		// The image's tag names the Spark version when it is one ("…/spark:3.5.3").
		if i := strings.LastIndex(image, ":"); i >= 0 && sparkVersion.MatchString(image[i+1:]) {
			version = sparkVersion.FindString(image[i+1:])
		} else {
			version = "4.0.4"
		}
	}
	main := g.opts.Setting("spark.mainApplicationFile", "local:///opt/rtsap/{pipeline}/job.py")
	app := sparkApp{APIVersion: "sparkoperator.k8s.io/v1beta2", Kind: "SparkApplication", Metadata: g.jobMeta(pl),
		Spec: sparkSpec{Type: "Python", PythonVersion: "3", Mode: "cluster", Image: image,
			MainApplicationFile: strings.ReplaceAll(main, "{pipeline}", artifact.PathSegment(pl.Name)),
			SparkVersion:        version,
			Driver:              sparkPod{Cores: 1, Memory: mem, ServiceAccount: g.opts.Setting("spark.serviceAccount", "spark-operator-spark")},
			Executor:            sparkPod{Cores: cores, Memory: mem, Instances: &inst}}}
	app.Spec.RestartPolicy.Type = "Never"
	if len(pl.Deploy.Config) > 0 {
		app.Spec.SparkConf = map[string]string{}
		for _, kv := range pl.Deploy.Config {
			app.Spec.SparkConf[kv.Key] = kv.Value
		}
	}
	b, err := k8s.Marshal(app)
	if err != nil {
		return "", fmt.Errorf("encoding SparkApplication: %v", err)
	}
	return string(b), nil
}

var sparkVersion = regexp.MustCompile(`^\d+\.\d+\.\d+`)

// sparkMemory converts a Kubernetes quantity ("16Gi") to Spark's notation
// ("16g"; Spark's suffixes are binary).
func sparkMemory(q string) string {
	if q == "" {
		return "1g"
	}
	for k8sUnit, spark := range map[string]string{"Gi": "g", "Mi": "m", "Ki": "k", "Ti": "t"} {
		if strings.HasSuffix(q, k8sUnit) {
			return strings.TrimSuffix(q, k8sUnit) + spark
		}
	}
	return q
}

type flinkDep struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Metadata   jobMeta   `json:"metadata"`
	Spec       flinkSpec `json:"spec"`
}

type flinkSpec struct {
	Image              string            `json:"image"`
	FlinkVersion       string            `json:"flinkVersion"`
	ServiceAccount     string            `json:"serviceAccount"`
	FlinkConfiguration map[string]string `json:"flinkConfiguration"`
	JobManager         flinkPod          `json:"jobManager"`
	TaskManager        flinkPod          `json:"taskManager"`
	Job                flinkJob          `json:"job"`
}

type flinkPod struct {
	Resource struct {
		CPU    float64 `json:"cpu"`
		Memory string  `json:"memory"`
	} `json:"resource"`
}

type flinkJob struct {
	JarURI      string   `json:"jarURI"`
	Args        []string `json:"args"`
	Parallelism int      `json:"parallelism"`
	UpgradeMode string   `json:"upgradeMode"`
}

func (g *gen) flinkDeployment(pl *ir.Pipeline) (string, error) {
	image := pl.Deploy.Image
	if image == "" {
		image = g.opts.Setting("flink.image", "flink:2.2")
	}
	par := pl.Deploy.Parallelism
	if par <= 0 {
		par = 1
	}
	mem := "2048m"
	if pl.Deploy.Memory != "" {
		mem = sparkMemory(pl.Deploy.Memory) // Flink's MemorySize reads "16g" too
	}
	d := flinkDep{APIVersion: "flink.apache.org/v1beta1", Kind: "FlinkDeployment", Metadata: g.jobMeta(pl),
		Spec: flinkSpec{Image: image, FlinkVersion: g.opts.Setting("flink.version", "v2_2"),
			ServiceAccount: g.opts.Setting("flink.serviceAccount", "flink"),
			// A bounded job: batch execution, and the cluster stays until the
			// workflow deletes it (the owner reference) so its state is read.
			FlinkConfiguration: map[string]string{"execution.runtime-mode": "BATCH"},
			Job: flinkJob{JarURI: "local:///opt/flink/usrlib/sql-runner.jar",
				Args:        []string{"/opt/flink/usrlib/sql-scripts/" + artifact.PathSegment(pl.Name) + ".sql"},
				Parallelism: par, UpgradeMode: "stateless"}}}
	for _, p := range []*flinkPod{&d.Spec.JobManager, &d.Spec.TaskManager} {
		p.Resource.CPU = 1
		if pl.Deploy.CPU > 0 {
			p.Resource.CPU = pl.Deploy.CPU
		}
		p.Resource.Memory = mem
	}
	for _, kv := range pl.Deploy.Config {
		d.Spec.FlinkConfiguration[kv.Key] = kv.Value
	}
	b, err := k8s.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encoding FlinkDeployment: %v", err)
	}
	return string(b), nil
}
