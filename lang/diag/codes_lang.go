package diag

// Codes of the loading stage and the spec language (RTS1000–1999).
// Owned by lang/cuespec and lang/hclspec. Append at the end.
const (
	// BadSpecSyntax: a spec file does not parse.
	BadSpecSyntax Code = 1000
	// FailedLoad: a path cannot be read or a package cannot be loaded.
	FailedLoad Code = 1001
	// ConflictingValues: the spec conflicts with the schema (CUE unification).
	ConflictingValues Code = 1002
	// IncompleteValue: a required field is missing or not concrete.
	IncompleteValue Code = 1003
	// UnknownSpecField: a field the schema does not define.
	UnknownSpecField Code = 1004
	// BadTypeString: a record field type does not follow the type grammar.
	BadTypeString Code = 1005
	// BadDuration: a duration string ("5m") does not parse.
	BadDuration Code = 1006
	// UnknownEnvironment: --env names no environments.<name> of the spec.
	UnknownEnvironment Code = 1007
	// InvalidSpec: a value has the wrong shape for the model (the schema
	// was bypassed, e.g. a node without kind).
	InvalidSpec Code = 1008
)

func init() {
	register(map[Code]string{
		BadSpecSyntax:      "BadSpecSyntax",
		FailedLoad:         "FailedLoad",
		ConflictingValues:  "ConflictingValues",
		IncompleteValue:    "IncompleteValue",
		UnknownSpecField:   "UnknownSpecField",
		BadTypeString:      "BadTypeString",
		BadDuration:        "BadDuration",
		UnknownEnvironment: "UnknownEnvironment",
		InvalidSpec:        "InvalidSpec",
	})
}
