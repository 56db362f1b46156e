// Package dir is the GitOps-folder target: each resource is a file under a
// root directory, written atomically; deleting one removes directories it
// leaves empty. It needs nothing installed and is the default target.
package dir

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/state"
)

// Name is the target's name in addresses.
const Name = "dir"

// Target writes files under Root.
type Target struct {
	Root string
}

var _ target.Target = (*Target)(nil)

func (t *Target) Name() string { return Name }

// Addr is the address of the file at p.
func Addr(p string) string { return fmt.Sprintf("dir.file[%q]", p) }

// Resource is the desired resource for a file with data.
func Resource(p string, data []byte, pipeline string, stage target.Stage) *target.Resource {
	return &target.Resource{Addr: Addr(p), Target: Name, Type: "file", Name: p, Pipeline: pipeline, Stage: stage, Body: Body(data)}
}

// Body is a file's body: {"content": text}, or {"base64": …} for bytes
// that are not UTF-8.
func Body(data []byte) map[string]any {
	if utf8.Valid(data) {
		return map[string]any{"content": string(data)}
	}
	return map[string]any{"base64": base64.StdEncoding.EncodeToString(data)}
}

func bytesOf(body map[string]any) ([]byte, error) {
	if s, ok := body["content"].(string); ok {
		return []byte(s), nil
	}
	if s, ok := body["base64"].(string); ok {
		return base64.StdEncoding.DecodeString(s)
	}
	return nil, fmt.Errorf("file body has neither content nor base64")
}

// path resolves a resource name under Root, refusing anything that would
// leave it (names from a tampered state file included).
func (t *Target) path(name string) (string, error) {
	if name == "" || name == "." || path.IsAbs(name) || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("bad file name %q", name)
	}
	return filepath.Join(t.Root, filepath.FromSlash(name)), nil
}

func (t *Target) Read(_ context.Context, rs []*target.Resource) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for _, r := range rs {
		p, err := t.path(r.Name)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[r.Addr] = Body(data)
	}
	return out, nil
}

func (t *Target) Apply(_ context.Context, r *target.Resource, _ map[string]any) error {
	p, err := t.path(r.Name)
	if err != nil {
		return err
	}
	data, err := bytesOf(r.Body)
	if err != nil {
		return fmt.Errorf("%s: %v", r.Addr, err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return state.WriteFileAtomic(p, data, 0o644)
}

func (t *Target) Delete(_ context.Context, r *target.Resource) error {
	p, err := t.path(r.Name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// Remove directories left empty, up to (not including) the root.
	root := filepath.Clean(t.Root)
	for d := filepath.Dir(p); d != root && strings.HasPrefix(d, root+string(filepath.Separator)); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

func (t *Target) Ready(context.Context, *target.Resource) (target.Readiness, error) {
	return target.Readiness{Ready: true, Known: true}, nil
}
