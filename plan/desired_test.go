package plan

import (
	"strings"
	"testing"

	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/plan/target"
)

func kafkaNode(name string, sink bool, opts ...ir.Option) *ir.Node {
	c := ir.Connector{Kind: "kafka", Options: opts}
	if sink {
		return &ir.Node{Name: name, Op: &ir.Sink{Connector: c}}
	}
	return &ir.Node{Name: name, Op: &ir.Source{Connector: c}}
}

func opt(k string, v any) ir.Option { return ir.Option{Key: k, Value: v} }

func TestTopics(t *testing.T) {
	prog := &ir.Program{Pipelines: []*ir.Pipeline{
		{Name: "a", Mode: ir.Streaming, Nodes: []*ir.Node{
			kafkaNode("in", false, opt("topic", "md.trades")),
			kafkaNode("out", true, opt("topic", "md.bars"), opt("partitions", int64(6)), opt("replication", int64(3)),
				opt("topicConfig", []ir.Option{opt("cleanup.policy", "compact")}),
				opt("retention", "7d"), opt("compression", "zstd"), opt("tieredStorage", true)),
		}},
		{Name: "b", Mode: ir.Batch, Nodes: []*ir.Node{
			kafkaNode("in", false, opt("topic", "md.bars"), opt("partitions", int64(6))),
			kafkaNode("bad", true, opt("topic", "no/slashes")),
			kafkaNode("clash", true, opt("topic", "md.trades"), opt("partitions", int64(2))),
		}},
	}}
	tops, ds := Topics(prog)
	var got []string
	for _, tp := range tops {
		got = append(got, tp.Name+" "+string(Canonical(tp.Body)))
	}
	want := []string{
		`md.bars {"configs":{"cleanup.policy":"compact","compression.type":"zstd","remote.storage.enable":"true","retention.ms":"604800000"},"partitions":6,"replicationFactor":3}`,
		`md.trades {"partitions":2}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("topics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(ds) != 1 || ds[0].Code != diag.InvalidTargetConfig || !strings.Contains(ds[0].Detail, `"no/slashes"`) {
		t.Errorf("diagnostics %v; want one InvalidTargetConfig for the bad name", ds)
	}

	// Two pipelines setting one topic differently is an error.
	prog.Pipelines[1].Nodes[2] = kafkaNode("clash", true, opt("topic", "md.bars"), opt("partitions", int64(12)))
	if _, ds := Topics(prog); len(ds) != 2 || ds[1].Code != diag.DuplicateResource || !strings.Contains(ds[1].Detail, "partitions is 6 and 12") {
		t.Errorf("clash diagnostics %v", ds)
	}
}

func TestDesiredRouting(t *testing.T) {
	set := &artifact.Set{}
	set.Add(&artifact.File{Path: "p/flink/cm.yaml", Kind: artifact.Manifest, Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")})
	set.Add(&artifact.File{Path: "p/flink/ns.yaml", Kind: artifact.Manifest, Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: md, namespace: ignored}\n")})
	set.Add(&artifact.File{Path: "p/flink/job.sql", Kind: artifact.SQL, Data: []byte("SELECT 1")})
	set.Add(&artifact.File{Path: "p/flink/fd.yaml", Kind: artifact.Manifest, Data: []byte("apiVersion: flink.apache.org/v1beta1\nkind: FlinkDeployment\nmetadata: {name: p}\n")})
	prog := &ir.Program{Pipelines: []*ir.Pipeline{{Name: "p", Nodes: []*ir.Node{kafkaNode("in", false, opt("topic", "t"))}}}}

	res, _, ds := Desired(prog, set, Routing{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	var addrs []string
	for _, r := range res {
		addrs = append(addrs, r.Addr+" "+r.Stage.String())
	}
	if got := strings.Join(addrs, "\n"); got != `dir.file["kafka/topics/t.json"] prerequisites
dir.file["p/flink/cm.yaml"] config
dir.file["p/flink/fd.yaml"] jobs
dir.file["p/flink/job.sql"] config
dir.file["p/flink/ns.yaml"] prerequisites` {
		t.Errorf("folder routing:\n%s", got)
	}

	res, _, _ = Desired(prog, set, Routing{Kafka: true, Kubernetes: true, Namespace: "md"})
	addrs = nil
	for _, r := range res {
		addrs = append(addrs, r.Addr+" "+r.Stage.String())
	}
	if got := strings.Join(addrs, "\n"); got != `dir.file["p/flink/job.sql"] config
kafka.topic["t"] prerequisites
kubernetes.ConfigMap["md/x"] config
kubernetes.FlinkDeployment["md/p"] jobs
kubernetes.Namespace["md"] prerequisites` {
		t.Errorf("cluster routing:\n%s", got)
	}
}

func TestColor(t *testing.T) {
	p := &Plan{Operation: "apply", Changes: []*Change{{Addr: "a", Action: Create, Stage: target.Config}, {Addr: "b", Action: Delete, Stage: target.Config}}, Summary: Summary{Add: 1, Destroy: 1}}
	var plain, color strings.Builder
	if err := WriteHuman(&plain, p, HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	WriteHuman(&color, p, HumanOptions{Color: true})
	if strings.Contains(plain.String(), "\x1b") {
		t.Errorf("colour without Color: %q", plain.String())
	}
	if !strings.Contains(color.String(), "\x1b[32m+\x1b[0m a") || !strings.Contains(color.String(), "\x1b[31m-\x1b[0m b") {
		t.Errorf("no colours with Color: %q", color.String())
	}
}
