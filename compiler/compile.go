// Package compiler lowers a spec model to the typed IR and runs the passes.
//
// STUB: the compiler owner replaces this file; the signature is the contract.
package compiler

import (
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// Config controls compilation; the zero value works.
type Config struct {
	// Check runs ir.Verify after every pass (tests always set it).
	Check bool
	// Env selects an environment by name ("" = none).
	Env string
	// Disable names optional passes to skip.
	Disable []string
}

// Compile lowers f to IR and runs the pass table. It returns a partial
// program together with every problem found.
func Compile(f *spec.File, cfg *Config) (*ir.Program, diag.Diagnostics) {
	return &ir.Program{}, diag.Diagnostics{diag.Errorf(diag.InternalError, diag.Range{}, "Not implemented", "the compiler is not built yet")}
}
