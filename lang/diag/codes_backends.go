package diag

// Codes of the backends (RTS4000–4999). Blocks: 4000 shared, 4100 beam,
// 4200 flink, 4300 spark, 4400 nifi, 4500 argo, 4600 openlineage. Append at
// the end of the right block.
const (
	// UnsupportedOperator: the target cannot express this operator exactly.
	UnsupportedOperator Code = 4000
	// UnsupportedType: the target cannot represent a record type exactly.
	UnsupportedType Code = 4001
	// UnsupportedFunction: the target has no exact equivalent of a function.
	UnsupportedFunction Code = 4002
	// UnsupportedConnector: the target has no connector for this source/sink.
	UnsupportedConnector Code = 4003
	// UnrepresentableName: a name the target cannot hold even quoted.
	UnrepresentableName Code = 4004
	// UnknownTarget: --target names no backend.
	UnknownTarget Code = 4005
	// ValidationSkipped: the upstream schemas to validate an artifact
	// against were not found, so it was written unvalidated.
	ValidationSkipped Code = 4006
)

func init() {
	register(map[Code]string{
		UnsupportedOperator:  "UnsupportedOperator",
		UnsupportedType:      "UnsupportedType",
		UnsupportedFunction:  "UnsupportedFunction",
		UnsupportedConnector: "UnsupportedConnector",
		UnrepresentableName:  "UnrepresentableName",
		UnknownTarget:        "UnknownTarget",
		ValidationSkipped:    "ValidationSkipped",
	})
}

// Codes of the openlineage backend (RTS4600–4699).
const (
	// UnresolvedDatasetName: a connector gives no host (brokers, url, …), so
	// its dataset's OpenLineage namespace cannot match what engines report.
	UnresolvedDatasetName Code = 4600
)

func init() {
	register(map[Code]string{
		UnresolvedDatasetName: "UnresolvedDatasetName",
	})
}

// Codes of the nifi backend (RTS4400–4499).
const (
	// NiFiMissingOption: a connector lacks an option the NiFi processor needs
	// (a topic, a table, a url).
	NiFiMissingOption Code = 4400
	// NiFiLiteralSecret: a sensitive NiFi property would hold a literal; it
	// must come from a secret reference (a sensitive parameter).
	NiFiLiteralSecret Code = 4401
	// NiFiNameCollision: two field names differ only in case, which NiFi's
	// SQL (Calcite, case-insensitive) cannot tell apart.
	NiFiNameCollision Code = 4402
)

func init() {
	register(map[Code]string{
		NiFiMissingOption: "NiFiMissingOption",
		NiFiLiteralSecret: "NiFiLiteralSecret",
		NiFiNameCollision: "NiFiNameCollision",
	})
}

// Codes of the argo backend (RTS4500–4599).
const (
	// ArgoNameCollision: two workflows, steps or parameters derive the same
	// Kubernetes or Argo name.
	ArgoNameCollision Code = 4500
	// ArgoUnsupportedStep: a step cannot run as an Argo task (a streaming
	// pipeline never completes; an engine without a batch runner).
	ArgoUnsupportedStep Code = 4501
	// ArgoUnsupportedRetry: a retry setting Argo cannot express exactly (a
	// fractional backoff factor, an unknown policy).
	ArgoUnsupportedRetry Code = 4502
	// ArgoInvalidSchedule: a schedule Argo would reject (cron syntax,
	// timezone, concurrency policy).
	ArgoInvalidSchedule Code = 4503
	// ArgoUnknownDependency: a step depends on a step the workflow lacks.
	ArgoUnknownDependency Code = 4504
	// ArgoLineageSettings: openlineage.* settings the workflow's lineage
	// steps cannot honour (a transport curl cannot speak, a malformed API
	// key Secret reference, http without a URL).
	ArgoLineageSettings Code = 4505
)

func init() {
	register(map[Code]string{
		ArgoNameCollision:     "ArgoNameCollision",
		ArgoUnsupportedStep:   "ArgoUnsupportedStep",
		ArgoUnsupportedRetry:  "ArgoUnsupportedRetry",
		ArgoInvalidSchedule:   "ArgoInvalidSchedule",
		ArgoUnknownDependency: "ArgoUnknownDependency",
		ArgoLineageSettings:   "ArgoLineageSettings",
	})
}

// Codes of the flink backend (RTS4200–4299).
const (
	// FlinkNameCollision: two pipelines derive the same Kubernetes name.
	FlinkNameCollision Code = 4200
	// FlinkRunnerUnsafeName: a name holds text the Flink SQL runner strips
	// or splits on before Flink parses the script ("--", "/*", a line
	// ending in ";").
	FlinkRunnerUnsafeName Code = 4201
	// FlinkInvalidDeployment: deployment settings the Flink operator's
	// validator would reject (upgrade mode without a checkpoint directory,
	// a forbidden configuration key, …).
	FlinkInvalidDeployment Code = 4202
	// FlinkMissingOption: a connector lacks an option the Flink connector
	// needs.
	FlinkMissingOption Code = 4203
	// FlinkLineageSettings: openlineage.* settings the FlinkDeployment's
	// OpenLineage listener cannot honour (a malformed apiKeySecret, an API
	// key for a session cluster's pods).
	FlinkLineageSettings Code = 4204
)

func init() {
	register(map[Code]string{
		FlinkNameCollision:     "FlinkNameCollision",
		FlinkRunnerUnsafeName:  "FlinkRunnerUnsafeName",
		FlinkInvalidDeployment: "FlinkInvalidDeployment",
		FlinkMissingOption:     "FlinkMissingOption",
		FlinkLineageSettings:   "FlinkLineageSettings",
	})
}

// Codes of the spark backend (RTS4300–4399).
const (
	// SparkNameCollision: two pipelines derive the same Kubernetes name.
	SparkNameCollision Code = 4300
	// SparkInvalidApplication: deployment settings the Spark operator
	// would reject.
	SparkInvalidApplication Code = 4301
	// SparkMissingOption: a connector lacks an option Spark needs.
	SparkMissingOption Code = 4302
	// SparkLineageSettings: openlineage.* settings the SparkApplication's
	// OpenLineage listener cannot honour (a malformed apiKeySecret).
	SparkLineageSettings Code = 4303
	// SparkImageVersion: the image tag names a Spark version whose
	// major.minor differs from sparkVersion, which the program, its
	// packages and the operator follow (a warning: tags are only names).
	SparkImageVersion Code = 4304
)

func init() {
	register(map[Code]string{
		SparkNameCollision:      "SparkNameCollision",
		SparkInvalidApplication: "SparkInvalidApplication",
		SparkMissingOption:      "SparkMissingOption",
		SparkLineageSettings:    "SparkLineageSettings",
		SparkImageVersion:       "SparkImageVersion",
	})
}
