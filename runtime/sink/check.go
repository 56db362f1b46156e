package sink

import (
	"io"

	"rtsap.dev/rtsapc/compiler/ir"
)

// checkPlaceholder stands for every secret and environment variable in
// Check: their values are the run's business, not the spec's.
const checkPlaceholder = "rtsapc-check"

// Check reports what New refuses in a sink node for reasons of the spec
// alone — the connector kind, its options, names and types — so that a
// capability check (the beam backend's, run by `rtsapc vet`) and the
// runtime cannot disagree. What a run supplies is assumed present: secrets
// and environment variables, --dsn, --brokers, and urls left out of the
// spec or given as secrets (--set can supply them). Nothing is opened,
// read or dialled.
func Check(node *ir.Node) error {
	opts := Options{
		check:     true,
		LookupEnv: func(string) (string, bool) { return checkPlaceholder, true },
		DSN:       "postgres://" + checkPlaceholder + "@localhost/" + checkPlaceholder,
		Brokers:   []string{checkPlaceholder + ".invalid:9092"},
		Stdout:    io.Discard,
	}
	_, err := New(node, opts)
	return err
}
