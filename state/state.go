// Package state is rtsapc's record of what it deployed: one JSON document per
// environment with a serial (bumped on every write), a lineage id (fixed when
// the state is created, so a plan made against one state is never applied to
// another), the digest and the redacted body of every managed resource, and
// the operator graph of every streaming job (for state-compatibility
// verdicts).
//
// Stores write atomically (temp file, fsync, rename), keep backups, and hold
// a lock that names its holder.
package state

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
)

// FormatVersion is the version of the state document layout.
const FormatVersion = 1

// State is the persisted record of one environment's deployment.
type State struct {
	Version int `json:"version"`
	// Serial increases by one on every write; a saved plan remembers it.
	Serial uint64 `json:"serial"`
	// Lineage identifies this state across writes; it never changes.
	Lineage string `json:"lineage"`
	// RtsapcVersion is the version of rtsapc that last wrote the state.
	RtsapcVersion string `json:"rtsapc_version,omitempty"`
	Env           string `json:"env,omitempty"`
	// Resources are sorted by Addr.
	Resources []*Resource `json:"resources"`
	// Jobs are the streaming jobs deployed, sorted by Pipeline.
	Jobs []*Job `json:"jobs,omitempty"`
}

// Resource is one managed resource as last applied.
type Resource struct {
	Addr     string `json:"addr"`
	Target   string `json:"target"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Pipeline string `json:"pipeline,omitempty"`
	Stage    int    `json:"stage"`
	// Digest is the sha256 of the canonical JSON of the applied body,
	// sensitive values included (so a changed secret is still a change).
	Digest string `json:"digest"`
	// Body is the applied body with sensitive values replaced by their
	// redaction marker; enough to delete the resource and to show drift.
	Body json.RawMessage `json:"body"`
}

// Job is the state-relevant shape of a deployed streaming job.
type Job struct {
	Pipeline string          `json:"pipeline"`
	Engine   string          `json:"engine"`
	Graph    json.RawMessage `json:"graph"`
}

// New returns an empty state with a fresh lineage.
func New() *State {
	return &State{Version: FormatVersion, Lineage: uuid.NewString()}
}

// Lookup returns the resource at addr, or nil (also on a nil state).
func (s *State) Lookup(addr string) *Resource {
	if s == nil {
		return nil
	}
	i := sort.Search(len(s.Resources), func(i int) bool { return s.Resources[i].Addr >= addr })
	if i < len(s.Resources) && s.Resources[i].Addr == addr {
		return s.Resources[i]
	}
	return nil
}

// Put adds or replaces r, keeping Resources sorted.
func (s *State) Put(r *Resource) {
	i := sort.Search(len(s.Resources), func(i int) bool { return s.Resources[i].Addr >= r.Addr })
	if i < len(s.Resources) && s.Resources[i].Addr == r.Addr {
		s.Resources[i] = r
		return
	}
	s.Resources = append(s.Resources, nil)
	copy(s.Resources[i+1:], s.Resources[i:])
	s.Resources[i] = r
}

// Remove deletes the resource at addr, if present.
func (s *State) Remove(addr string) {
	i := sort.Search(len(s.Resources), func(i int) bool { return s.Resources[i].Addr >= addr })
	if i < len(s.Resources) && s.Resources[i].Addr == addr {
		s.Resources = append(s.Resources[:i], s.Resources[i+1:]...)
	}
}

// Job returns the job record of pipeline, or nil.
func (s *State) Job(pipeline string) *Job {
	for _, j := range s.Jobs {
		if j.Pipeline == pipeline {
			return j
		}
	}
	return nil
}

// PutJob adds or replaces a job record; RemoveJob deletes one.
func (s *State) PutJob(j *Job) {
	s.RemoveJob(j.Pipeline)
	s.Jobs = append(s.Jobs, j)
	sort.Slice(s.Jobs, func(a, b int) bool { return s.Jobs[a].Pipeline < s.Jobs[b].Pipeline })
}

func (s *State) RemoveJob(pipeline string) {
	for i, j := range s.Jobs {
		if j.Pipeline == pipeline {
			s.Jobs = append(s.Jobs[:i], s.Jobs[i+1:]...)
			return
		}
	}
}

// Encode renders the state as indented JSON with a final newline.
func (s *State) Encode() ([]byte, error) {
	if s.Resources == nil {
		s.Resources = []*Resource{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Decode parses a state document.
func Decode(data []byte) (*State, error) {
	var s State
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if s.Version != FormatVersion {
		return nil, fmt.Errorf("state: format version %d is not supported (this rtsapc reads version %d)", s.Version, FormatVersion)
	}
	if s.Lineage == "" {
		return nil, fmt.Errorf("state: no lineage")
	}
	sort.Slice(s.Resources, func(i, j int) bool { return s.Resources[i].Addr < s.Resources[j].Addr })
	return &s, nil
}

// LockInfo says who holds a lock; it is shown to whoever waits for it.
type LockInfo struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"` // "apply", "destroy"
	Who       string    `json:"who"`       // user@host
	PID       int       `json:"pid"`
	Version   string    `json:"version"`
	Created   time.Time `json:"created"`
}

func (l *LockInfo) String() string {
	return fmt.Sprintf("%s (pid %d, %s, since %s, lock id %s)", l.Who, l.PID, l.Operation, l.Created.UTC().Format(time.RFC3339), l.ID)
}

// LockedError is returned when the lock is held by someone else.
type LockedError struct {
	Holder *LockInfo // nil when the holder could not be read
	Waited time.Duration
}

func (e *LockedError) Error() string {
	h := "another process"
	if e.Holder != nil {
		h = e.Holder.String()
	}
	if e.Waited > 0 {
		return fmt.Sprintf("state is locked by %s; gave up after waiting %s", h, e.Waited)
	}
	return fmt.Sprintf("state is locked by %s", h)
}

// Store persists a state and serialises writers.
type Store interface {
	// Read returns the current state; a store never written returns
	// (nil, nil).
	Read(ctx context.Context) (*State, error)
	// Write persists s atomically. The caller holds the lock and has
	// bumped the serial.
	Write(ctx context.Context, s *State) error
	// Lock takes the lock, retrying until timeout (0: try once). The
	// returned function releases it.
	Lock(ctx context.Context, info *LockInfo, timeout time.Duration) (unlock func() error, err error)
	// Describe names the store for messages ("state file .rtsapc/state.json").
	Describe() string
}
