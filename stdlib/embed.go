// Package stdlib embeds the CUE module rtsap.dev/rtsap: the spec language's
// schema (package rtsap), the connectors (connect/<system>) and the finance
// library. lang/cuespec overlays it under cue.mod/pkg so imports resolve
// offline; `rtsapc init` writes the same files to disk for the cue command.
package stdlib

import "embed"

// Module is the import path of the embedded CUE module.
const Module = "rtsap.dev/rtsap"

// FS holds the module's .cue files at their paths relative to the module
// root (types.cue, finance/vwap.cue, connect/kafka/kafka.cue, …) and
// cue.mod/module.cue.
//
//go:embed *.cue cue.mod/module.cue finance connect
var FS embed.FS
