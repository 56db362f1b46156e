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
	// DuplicateResource: two artifacts declare the same resource.
	DuplicateResource Code = 5003
	// ApplyFailed: a target refused a change; what was applied before it is
	// recorded in the state.
	ApplyFailed Code = 5004
	// ResourceNotReady: an applied resource did not become ready in time.
	ResourceNotReady Code = 5005
	// InvalidPlanFile: a plan file cannot be read or was written by an
	// incompatible rtsapc.
	InvalidPlanFile Code = 5006
	// SensitivePlanValue: a change holds sensitive values, which plan files
	// never carry; it can only be applied from the spec.
	SensitivePlanValue Code = 5007
	// InvalidTargetConfig: a target's settings are wrong or incomplete.
	InvalidTargetConfig Code = 5008
)

func init() {
	register(map[Code]string{
		StalePlan:           "StalePlan",
		StateLocked:         "StateLocked",
		TargetUnreachable:   "TargetUnreachable",
		DuplicateResource:   "DuplicateResource",
		ApplyFailed:         "ApplyFailed",
		ResourceNotReady:    "ResourceNotReady",
		InvalidPlanFile:     "InvalidPlanFile",
		SensitivePlanValue:  "SensitivePlanValue",
		InvalidTargetConfig: "InvalidTargetConfig",
	})
}
