package plan

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/plan/target/dir"
)

// Routing says which targets are configured; what has no target of its own
// goes to the GitOps folder (the dir target) as files.
type Routing struct {
	Kafka       bool // topics to the kafka target, else declarations under kafka/topics/
	Kubernetes  bool // manifests to the cluster, else files
	OpenLineage bool // lineage declarations sent on apply, else files
	// Namespace is given to namespaced manifests that have none.
	Namespace string
}

// TopicAddr, ObjectAddr and LineageAddr are the addresses of the other
// targets' resources.
func TopicAddr(name string) string { return fmt.Sprintf("kafka.topic[%s]", strconv.Quote(name)) }

// ObjectAddr addresses a Kubernetes object: kubernetes.Kind["ns/name"].
func ObjectAddr(kind, nsName string) string {
	return fmt.Sprintf("kubernetes.%s[%s]", kind, strconv.Quote(nsName))
}

func LineageAddr(path string) string {
	return fmt.Sprintf("openlineage.declaration[%s]", strconv.Quote(path))
}

// kindStage orders Kubernetes kinds: what others refer to first, what
// starts work last.
var kindStage = map[string]target.Stage{
	"Namespace": target.Prerequisites, "CustomResourceDefinition": target.Prerequisites,
	"ServiceAccount": target.Prerequisites, "Role": target.Prerequisites, "RoleBinding": target.Prerequisites,
	"ClusterRole": target.Prerequisites, "ClusterRoleBinding": target.Prerequisites,
	"PersistentVolumeClaim": target.Prerequisites,
	// Workflows reference templates by name: templates must exist first.
	"WorkflowTemplate": target.Prerequisites, "ClusterWorkflowTemplate": target.Prerequisites,
	"FlinkDeployment": target.Jobs, "FlinkSessionJob": target.Jobs, "FlinkBlueGreenDeployment": target.Jobs,
	"SparkApplication": target.Jobs, "ScheduledSparkApplication": target.Jobs,
	"Workflow": target.Jobs, "CronWorkflow": target.Jobs,
	"Deployment": target.Jobs, "StatefulSet": target.Jobs, "Job": target.Jobs, "CronJob": target.Jobs,
}

// clusterScoped kinds take no namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "CustomResourceDefinition": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"ClusterWorkflowTemplate": true, "PersistentVolume": true, "StorageClass": true, "PriorityClass": true,
}

// StageOfKind is the apply stage of a Kubernetes kind (Config by default).
func StageOfKind(kind string) target.Stage {
	if s, ok := kindStage[kind]; ok {
		return s
	}
	return target.Config
}

// ClusterScoped reports whether kind has no namespace.
func ClusterScoped(kind string) bool { return clusterScoped[kind] }

// Desired turns a program and its artifacts into the desired resources of
// each target, and the graphs of its streaming jobs.
func Desired(prog *ir.Program, set *artifact.Set, rt Routing) ([]*target.Resource, []*JobGraph, diag.Diagnostics) {
	var ds diag.Diagnostics
	var out []*target.Resource
	if set != nil {
		for _, f := range set.Files {
			r, err := fileResource(f, rt)
			if err != nil {
				ds = ds.Append(diag.Errorf(diag.InvalidArtifact, diag.Range{}, "Cannot deploy artifact", "%s: %v", f.Path, err))
				continue
			}
			out = append(out, r)
		}
	}
	var jobs []*JobGraph
	if prog != nil {
		tops, tds := Topics(prog)
		ds = ds.Extend(tds)
		for _, t := range tops {
			if rt.Kafka {
				out = append(out, &target.Resource{Addr: TopicAddr(t.Name), Target: "kafka", Type: "topic", Name: t.Name,
					Pipeline: t.Pipeline, Stage: target.Prerequisites, Body: t.Body})
				continue
			}
			decl := map[string]any{"topic": t.Name}
			for k, v := range t.Body {
				decl[k] = v
			}
			data, _ := json.MarshalIndent(decl, "", "  ")
			out = append(out, dir.Resource("kafka/topics/"+t.Name+".json", append(data, '\n'), t.Pipeline, target.Prerequisites))
		}
		for _, p := range prog.Pipelines {
			if g := JobGraphOf(p); g != nil {
				jobs = append(jobs, g)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out, jobs, ds
}

func fileResource(f *artifact.File, rt Routing) (*target.Resource, error) {
	switch {
	case f.Kind == artifact.Manifest && rt.Kubernetes:
		js, err := yaml.YAMLToJSON(f.Data)
		if err != nil {
			return nil, err
		}
		body, err := normalizeJSON(js)
		if err != nil {
			return nil, err
		}
		apiVersion, _ := body["apiVersion"].(string)
		kind, _ := body["kind"].(string)
		meta, _ := body["metadata"].(map[string]any)
		if apiVersion == "" || kind == "" || meta == nil {
			return nil, fmt.Errorf("not a Kubernetes object (apiVersion, kind and metadata are required)")
		}
		name, _ := meta["name"].(string)
		ns, _ := meta["namespace"].(string)
		if name == "" {
			return nil, fmt.Errorf("%s has no metadata.name", kind)
		}
		if ClusterScoped(kind) {
			ns = ""
			delete(meta, "namespace")
		} else if ns == "" {
			ns = rt.Namespace
			if ns == "" {
				ns = "default"
			}
			meta["namespace"] = ns
		}
		if kind == "Secret" && apiVersion == "v1" {
			secretStringData(body)
		}
		id := name
		if ns != "" {
			id = ns + "/" + name
		}
		return &target.Resource{Addr: ObjectAddr(kind, id), Target: "kubernetes", Type: kind, Name: id,
			Pipeline: f.Pipeline, Stage: StageOfKind(kind), Body: body}, nil
	case f.Target == "openlineage" && rt.OpenLineage:
		events, err := lineageEvents(f.Data)
		if err != nil {
			return nil, err
		}
		return &target.Resource{Addr: LineageAddr(f.Path), Target: "openlineage", Type: "declaration", Name: f.Path,
			Pipeline: f.Pipeline, Stage: target.Lineage, Body: map[string]any{"events": events}}, nil
	}
	stage := target.Config
	if f.Kind == artifact.Manifest {
		var m struct{ Kind string }
		if yaml.Unmarshal(f.Data, &m) == nil {
			stage = StageOfKind(m.Kind)
		}
	}
	if f.Target == "openlineage" {
		stage = target.Lineage
	}
	return dir.Resource(f.Path, f.Data, f.Pipeline, stage), nil
}

// lineageEvents reads a JSON event, a JSON array of events, or JSON lines.
func lineageEvents(data []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []any
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if err.Error() == "EOF" {
				break
			}
			return nil, fmt.Errorf("lineage declaration: %v", err)
		}
		if l, ok := v.([]any); ok {
			out = append(out, l...)
		} else {
			out = append(out, v)
		}
	}
	return out, nil
}

func normalizeJSON(js []byte) (map[string]any, error) {
	v, err := decodeJSON(js)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object")
	}
	return m, nil
}

// Topic is a desired Kafka topic.
type Topic struct {
	Name     string
	Pipeline string // the first pipeline using it
	// Body: {"partitions": n, "replicationFactor": n, "configs": {k: v}},
	// each present only when the spec sets it (the rest is left to the
	// broker's defaults and not managed).
	Body map[string]any
}

var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// Topics collects the Kafka topics the program's sources and sinks use. A
// topic used twice must be declared the same way both times.
func Topics(prog *ir.Program) ([]*Topic, diag.Diagnostics) {
	var ds diag.Diagnostics
	byName := map[string]*Topic{}
	var order []string
	for _, p := range prog.Pipelines {
		for _, n := range p.Nodes {
			var c *ir.Connector
			switch op := n.Op.(type) {
			case *ir.Source:
				c = &op.Connector
			case *ir.Sink:
				c = &op.Connector
			default:
				continue
			}
			if c.Kind != "kafka" && c.Kind != "upsert-kafka" {
				continue
			}
			name := c.String("topic", "")
			if name == "" {
				continue // the compiler reports a missing topic
			}
			pos := n.Pos
			if o, ok := c.Option("topic"); ok && o.Pos.IsValid() {
				pos = o.Pos
			}
			if !topicName.MatchString(name) || name == "." || name == ".." {
				ds = ds.Append(diag.Errorf(diag.InvalidTargetConfig, pos, "Invalid topic name",
					"Kafka topic names are 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-'; %s is not.", strconv.Quote(name)))
				continue
			}
			body, err := topicBody(c)
			if err != nil {
				ds = ds.Append(diag.Errorf(diag.InvalidTargetConfig, pos, "Invalid topic settings", "Topic %s: %v", strconv.Quote(name), err))
				continue
			}
			if old, ok := byName[name]; ok {
				merged, err := mergeTopic(old.Body, body)
				if err != nil {
					ds = ds.Append(diag.Errorf(diag.DuplicateResource, pos, "Conflicting topic settings",
						"Topic %s is declared differently by pipelines %q and %q: %v.", strconv.Quote(name), old.Pipeline, p.Name, err))
					continue
				}
				old.Body = merged
				continue
			}
			byName[name] = &Topic{Name: name, Pipeline: p.Name, Body: body}
			order = append(order, name)
		}
	}
	sort.Strings(order)
	var out []*Topic
	for _, n := range order {
		out = append(out, byName[n])
	}
	return out, ds
}

// mergeTopic combines two declarations of one topic; a field both set
// must agree.
func mergeTopic(a, b map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if k == "configs" {
			ac, _ := out["configs"].(map[string]any)
			bc, _ := v.(map[string]any)
			mc := map[string]any{}
			for ck, cv := range ac {
				mc[ck] = cv
			}
			for ck, cv := range bc {
				if old, ok := mc[ck]; ok && old != cv {
					return nil, fmt.Errorf("config %s is %v and %v", ck, old, cv)
				}
				mc[ck] = cv
			}
			out["configs"] = mc
			continue
		}
		if old, ok := out[k]; ok && !equal(old, v) {
			return nil, fmt.Errorf("%s is %v and %v", k, old, v)
		}
		out[k] = v
	}
	return out, nil
}

// topicBody reads the topic settings of a kafka connector: partitions,
// replication (or replicationFactor), topicConfig (any topic config,
// verbatim; also "configs") and the named
// shorthands retention, retentionBytes, cleanupPolicy, compression and
// tieredStorage.
func topicBody(c *ir.Connector) (map[string]any, error) {
	body := map[string]any{}
	configs := map[string]any{}
	for _, o := range c.Options {
		switch o.Key {
		case "partitions":
			n, ok := intOf(o.Value)
			if !ok || n < 1 || n > 1<<20 {
				return nil, fmt.Errorf("partitions must be a positive integer, not %v", o.Value)
			}
			body["partitions"] = json.Number(strconv.FormatInt(n, 10))
		case "replicationFactor", "replication":
			n, ok := intOf(o.Value)
			if !ok || n < 1 || n > 32767 {
				return nil, fmt.Errorf("replicationFactor must be a positive integer, not %v", o.Value)
			}
			body["replicationFactor"] = json.Number(strconv.FormatInt(n, 10))
		case "retention":
			ms, err := millis(o.Value)
			if err != nil {
				return nil, fmt.Errorf("retention: %v", err)
			}
			configs["retention.ms"] = ms
		case "retentionBytes":
			n, ok := intOf(o.Value)
			if !ok {
				return nil, fmt.Errorf("retentionBytes must be an integer, not %v", o.Value)
			}
			configs["retention.bytes"] = strconv.FormatInt(n, 10)
		case "cleanupPolicy":
			configs["cleanup.policy"] = fmt.Sprint(o.Value)
		case "compression":
			configs["compression.type"] = fmt.Sprint(o.Value)
		case "tieredStorage":
			b, ok := o.Value.(bool)
			if !ok {
				return nil, fmt.Errorf("tieredStorage must be a boolean, not %v", o.Value)
			}
			configs["remote.storage.enable"] = strconv.FormatBool(b)
		case "topicConfig", "configs":
			switch v := o.Value.(type) {
			case []ir.Option:
				for _, co := range v {
					configs[co.Key] = configString(co.Value)
				}
			case map[string]any:
				for k, cv := range v {
					configs[k] = configString(cv)
				}
			default:
				return nil, fmt.Errorf("configs must be a struct of topic configs")
			}
		}
	}
	for k, v := range configs {
		if _, isSecret := v.(*ir.Secret); isSecret {
			return nil, fmt.Errorf("config %s cannot be a secret", k)
		}
	}
	if len(configs) > 0 {
		body["configs"] = configs
	}
	return body, nil
}

func configString(v any) any {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case *ir.Secret:
		return x
	}
	return fmt.Sprint(v)
}

func intOf(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == float64(int64(x)) {
			return int64(x), true
		}
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// millis reads a duration ("7d", "36h", "90m") or a number of milliseconds;
// -1 (or "infinite") means keep forever.
func millis(v any) (string, error) {
	if n, ok := v.(int64); ok {
		return strconv.FormatInt(n, 10), nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a duration such as \"7d\" or milliseconds, not %v", v)
	}
	if s == "infinite" || s == "-1" {
		return "-1", nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 0 {
			return "", fmt.Errorf("bad duration %q", s)
		}
		return strconv.FormatInt(n*24*3600*1000, 10), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return "", fmt.Errorf("bad duration %q", s)
	}
	return strconv.FormatInt(d.Milliseconds(), 10), nil
}

// secretStringData moves a Secret's stringData into data, as the API server
// does on write: stringData is never read back, so comparing it would show
// a change on every plan.
func secretStringData(body map[string]any) {
	sd, ok := body["stringData"].(map[string]any)
	if !ok {
		return
	}
	data, _ := body["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		if s, ok := v.(string); ok {
			data[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
	}
	body["data"] = data
	delete(body, "stringData")
}
