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
)

func init() {
	register(map[Code]string{
		UnsupportedOperator:  "UnsupportedOperator",
		UnsupportedType:      "UnsupportedType",
		UnsupportedFunction:  "UnsupportedFunction",
		UnsupportedConnector: "UnsupportedConnector",
		UnrepresentableName:  "UnrepresentableName",
		UnknownTarget:        "UnknownTarget",
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
