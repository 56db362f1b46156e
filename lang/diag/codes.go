package diag

import "fmt"

// Code identifies a kind of problem. Codes are stable: never renumber or
// reuse one; add new codes at the end of their block. Names are adjective +
// noun (go/types' codes.go). Blocks, so that each area appends without
// touching another's file:
//
//	RTS1000–1999  loading and the spec language (codes_lang.go)
//	RTS2000–2999  names, references, graph and record types (codes_compiler.go)
//	RTS3000–3999  expressions (CEL) (codes_compiler.go)
//	RTS4000–4999  backend capabilities and generation (codes_backends.go)
//	RTS5000–5999  plan, apply and targets (codes_plan.go)
//	RTS9000–9999  internal errors (this file)
//
// Each file registers the names of its codes with [register] in init.
type Code int

// String renders the code as printed in diagnostics: RTS2001.
func (c Code) String() string { return fmt.Sprintf("RTS%04d", int(c)) }

// Name returns the code's identifier (UnknownNode) or "" if unregistered.
func (c Code) Name() string { return names[c] }

var names = map[Code]string{}

// register records the names of codes; a duplicate number is a programming
// error caught at init.
func register(m map[Code]string) {
	for c, n := range m {
		if old, ok := names[c]; ok {
			panic(fmt.Sprintf("diag: code %s registered twice (%s, %s)", c, old, n))
		}
		names[c] = n
	}
}

// Codes returns every registered code, for documentation and tests.
func Codes() map[Code]string {
	out := make(map[Code]string, len(names))
	for c, n := range names {
		out[c] = n
	}
	return out
}

const (
	// InternalError is a bug in rtsapc: a pass panicked or a backend emitted
	// something its own validation rejects. Nothing is written.
	InternalError Code = 9000
	// InvalidArtifact: a generated artifact failed validation against the
	// target's schema (CRD, JSON Schema); reported as an internal error.
	InvalidArtifact Code = 9001
)

func init() {
	register(map[Code]string{
		InternalError:   "InternalError",
		InvalidArtifact: "InvalidArtifact",
	})
}
