package diag

// Codes of plan and apply (RTS5000–5999). Owned by plan/ and its targets.
// Append at the end.
const (
	// StalePlan: the saved plan no longer matches the state.
	StalePlan Code = 5000
	// StateLocked: another process holds the state lock.
	StateLocked Code = 5001
	// TargetUnreachable: a target (Kafka, Kubernetes) cannot be reached.
	TargetUnreachable Code = 5002
)

func init() {
	register(map[Code]string{
		StalePlan:         "StalePlan",
		StateLocked:       "StateLocked",
		TargetUnreachable: "TargetUnreachable",
	})
}
