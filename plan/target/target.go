// Package target defines what plan and apply drive: a Target reads the live
// form of resources, applies and deletes them, and reports readiness. The
// implementations live in the sub-packages dir (a GitOps folder), kafka
// (topics through kadm), kubernetes (server-side apply) and openlineage
// (lineage declarations).
package target

import (
	"context"
	"fmt"
)

// Stage orders apply: every resource of a stage is applied and ready before
// the next stage starts, and deletions run in reverse stage order.
type Stage int

const (
	// Prerequisites: topics, namespaces, CRDs, workflow templates — what
	// the jobs read from or are defined in terms of.
	Prerequisites Stage = 1
	// Config: ConfigMaps, files of the GitOps folder, service accounts.
	Config Stage = 2
	// Jobs: Flink, Spark and Argo objects that start work.
	Jobs Stage = 3
	// Lineage: declarations of what was deployed, once it is deployed.
	Lineage Stage = 4
)

func (s Stage) String() string {
	switch s {
	case Prerequisites:
		return "prerequisites"
	case Config:
		return "config"
	case Jobs:
		return "jobs"
	case Lineage:
		return "lineage"
	}
	return fmt.Sprintf("stage%d", int(s))
}

// Resource is one desired (or previously applied) thing in a target.
type Resource struct {
	// Addr is unique across all targets: `kafka.topic["md.trades"]`.
	Addr   string
	Target string // dir, kafka, kubernetes, openlineage
	Type   string // file, topic, a Kubernetes kind, event
	// Name identifies the resource within its target and type: a path, a
	// topic, "namespace/name".
	Name     string
	Pipeline string
	Stage    Stage
	// Body is the resource as JSON values (map[string]any, []any, string,
	// json.Number, bool, nil): what the target applies, and what the plan
	// compares with the live form.
	Body map[string]any
}

// Readiness is a resource's readiness after apply.
type Readiness struct {
	Ready bool
	// Known is false when the target cannot tell (an object with no status
	// and no controller to set one); apply then does not wait.
	Known  bool
	Detail string
}

// Target is a place resources are deployed to.
type Target interface {
	Name() string
	// Read returns the live body of each resource that exists, keyed by
	// Addr; an absent key means the resource does not exist. Bodies are
	// as the target stores them (the plan projects them onto the fields
	// rtsapc manages).
	Read(ctx context.Context, rs []*Resource) (map[string]map[string]any, error)
	// Apply creates or updates r; live is its current body (nil when
	// absent), so targets can remove what r no longer sets.
	Apply(ctx context.Context, r *Resource, live map[string]any) error
	// Delete removes r; deleting something absent is not an error.
	Delete(ctx context.Context, r *Resource) error
	// Ready reports r's readiness.
	Ready(ctx context.Context, r *Resource) (Readiness, error)
}

// Replacer is implemented by targets where some changes cannot be made in
// place (a topic's partitions cannot decrease): NeedsReplace says whether
// going from live to r needs a delete and a create, and why.
type Replacer interface {
	NeedsReplace(r *Resource, live map[string]any) (bool, string)
}

// WriteOnly is implemented by targets that cannot be read back (a lineage
// endpoint): the plan takes what the state recorded as the live form.
type WriteOnly interface{ WriteOnly() bool }

// Closer is implemented by targets holding connections.
type Closer interface{ Close() }

func (s Stage) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Stage) UnmarshalText(b []byte) error {
	for x := Prerequisites; x <= Lineage; x++ {
		if x.String() == string(b) {
			*s = x
			return nil
		}
	}
	return fmt.Errorf("target: unknown stage %q", b)
}
