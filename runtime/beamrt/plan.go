// Package beamrt builds Beam Go pipelines from the IR: one function per
// operator, used in-process by `rtsapc run` and by the Go programs the
// beamgo backend generates (one implementation of each operator).
//
// Every DoFn carries the pipeline's IR (gob-encoded, see [Plan]) and the id
// of its node, so it works unchanged on any runner: the worker decodes the
// plan once per process and compiles the node's expressions in Setup.
package beamrt

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"sync"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
)

func init() {
	for _, v := range []any{&ir.Source{}, &ir.DeadLetter{}, &ir.Filter{}, &ir.Map{}, &ir.Aggregate{},
		&ir.LateOutput{}, &ir.Rolling{}, &ir.Join{}, &ir.Lookup{}, &ir.Pattern{}, &ir.Dedupe{},
		&ir.TopN{}, &ir.Union{}, &ir.Sink{}, ir.Decimal(""), time.Duration(0), []any{},
		[]ir.Option{}, &ir.Secret{}, map[string]any{}, time.Time{}, int32(0), float32(0)} {
		gob.Register(v)
	}
}

// Options are run-time settings that do not come from the spec.
type Options struct {
	// Brokers overrides every Kafka connector's bootstrap servers.
	Brokers string
	// Bounded makes every Kafka source read to the offsets present when it
	// starts and stop (backfills, tests, `rtsapc run --events`).
	Bounded bool
	// OutDir: when set, every sink writes JSONL files under it (rtsapc
	// run), instead of its declared system.
	OutDir string
	// DSN overrides PostgreSQL/TimescaleDB sinks' URL.
	DSN string
	// StartOffset: "earliest" (default) or "latest" when the connector does
	// not say.
	StartOffset string
	// PollTimeout bounds one Kafka poll (default 200ms).
	PollTimeout time.Duration
	// NoFusion keeps every operator a separate Beam step (no partial
	// aggregation in the source's read loop).
	NoFusion bool
	// Set overrides string, number or bool connector options of sources
	// and sinks by node: "NODE.OPTION=VALUE" (the last dot before '='
	// splits), e.g. "trades.endpoint=http://127.0.0.1:9000". Secrets are
	// never set here: they are read from the environment.
	Set []string
}

// Plan is a pipeline and the run options, encoded for DoFns.
type Plan struct {
	Pipeline *ir.Pipeline
	Options  Options
}

// Encode gob-encodes p.
func (p *Plan) Encode() ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(p); err != nil {
		return nil, fmt.Errorf("beamrt: encoding the plan: %v", err)
	}
	return b.Bytes(), nil
}

var plans sync.Map // sha256 → *Plan

// DecodePlan decodes (once per process) a plan encoded by Encode.
func DecodePlan(b []byte) (*Plan, error) {
	k := sha256.Sum256(b)
	if p, ok := plans.Load(k); ok {
		return p.(*Plan), nil
	}
	var p Plan
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&p); err != nil {
		return nil, fmt.Errorf("beamrt: decoding the plan: %v", err)
	}
	plans.Store(k, &p)
	return &p, nil
}

// NodeRef identifies one node of an encoded plan; DoFns embed it.
type NodeRef struct {
	Plan []byte
	Node int32
}

// resolve returns the plan and the node.
func (r NodeRef) resolve() (*Plan, *ir.Node, error) {
	p, err := DecodePlan(r.Plan)
	if err != nil {
		return nil, nil, err
	}
	if r.Node < 1 || int(r.Node) > len(p.Pipeline.Nodes) {
		return nil, nil, fmt.Errorf("beamrt: node %d not in pipeline %q", r.Node, p.Pipeline.Name)
	}
	return p, p.Pipeline.Nodes[r.Node-1], nil
}
