package openlineage

import (
	"slices"
	"strings"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler/ir"
)

// Build settings (--set key=value) every backend reads the same way:
//
//	openlineage.namespace      job namespace (default: the environment's namespace, else "rtsapc")
//	openlineage.transport      console | http | kafka (default: http when openlineage.url is set, else console)
//	openlineage.url            receiver base URL, e.g. http://marquez:5000
//	openlineage.endpoint       default /api/v1/lineage
//	openlineage.kafka.topic    default "openlineage"
//	openlineage.kafka.brokers  default "kafka:9092"
//	openlineage.apiKeySecret   <secret>/<key>: a Kubernetes Secret key holding the API key; pods
//	                           that post events get it as OPENLINEAGE_API_KEY (secretKeyRef), sent as
//	                           "Authorization: Bearer <key>" (Argo's lineage steps, Beam steps)
//	openlineage.repoURL        web URL of the spec repository (sourceCodeLocation facet)
//	openlineage.revision       its revision (default HEAD)
//	<engine>.version           engine version for the processing_engine facet
const (
	SetNamespace    = "openlineage.namespace"
	SetTransport    = "openlineage.transport"
	SetURL          = "openlineage.url"
	SetEndpoint     = "openlineage.endpoint"
	SetKafkaTopic   = "openlineage.kafka.topic"
	SetKafkaBrokers = "openlineage.kafka.brokers"
	SetAPIKeySecret = "openlineage.apiKeySecret"
)

// APIKeyEnv is the environment variable holding the API key, as the
// runtime's HTTP transport (package lineage) and the OpenLineage clients
// read it.
const APIKeyEnv = "OPENLINEAGE_API_KEY"

// Transport is the transport the settings select: openlineage.transport,
// else http when openlineage.url is set, else console.
func Transport(opts *backends.Options) string {
	if t := opts.Setting(SetTransport, ""); t != "" {
		return t
	}
	if opts.Setting(SetURL, "") != "" {
		return "http"
	}
	return "console"
}

// ListenerConfig is the OpenLineage Java client configuration an engine's
// listener (Flink, Spark) needs so that its events name the job as the
// static declarations do and go where the settings say. Keys are relative
// to the client's root ("job.namespace", "transport.type", …): Flink
// prefixes them with "openlineage.", Spark with "spark.openlineage.". The
// result is sorted by key. No secret is ever put here; an API key belongs in
// the pod environment from a Secret.
func ListenerConfig(p *ir.Pipeline, opts *backends.Options) []ir.KV {
	url := opts.Setting(SetURL, "")
	transport := Transport(opts)
	kv := []ir.KV{
		{Key: "job.name", Value: JobName(p)},
		{Key: "job.namespace", Value: Namespace(opts)},
		{Key: "transport.type", Value: transport},
	}
	switch transport {
	case "http":
		kv = append(kv, ir.KV{Key: "transport.endpoint", Value: opts.Setting(SetEndpoint, "/api/v1/lineage")},
			ir.KV{Key: "transport.url", Value: url})
	case "kafka":
		kv = append(kv, ir.KV{Key: "transport.properties.bootstrap.servers", Value: opts.Setting(SetKafkaBrokers, "kafka:9092")},
			ir.KV{Key: "transport.topicName", Value: opts.Setting(SetKafkaTopic, "openlineage")})
	}
	slices.SortFunc(kv, func(a, b ir.KV) int { return strings.Compare(a.Key, b.Key) })
	return kv
}
