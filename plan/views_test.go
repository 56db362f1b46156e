package plan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/plan/target/dir"
	"rtsap.dev/rtsapc/state"
)

// TestViews renders plans over the dir target from txtar cases:
// applied/<path> is applied first (with jobs.applied, a JSON list of job
// graphs), then live/<path> overwrites files by hand ("DELETE" removes
// one), then desired/<path> (with jobs.desired) is planned. The human and
// JSON views are the goldens.
func TestViews(t *testing.T) {
	golden.Run(t, filepath.Join("testdata", "views"), func(t *golden.T) {
		in := t.Inputs()
		d := t.TempDir()
		root := filepath.Join(d, "deploy")
		targets := map[string]target.Target{"dir": &dir.Target{Root: root}}
		store := &state.Local{Path: filepath.Join(d, "state.json")}
		ctx := context.Background()
		set := func(prefix string) []*target.Resource {
			var out []*target.Resource
			for name, data := range in {
				if p, ok := strings.CutPrefix(name, prefix); ok {
					out = append(out, dir.Resource(p, data, "vwap", target.Config))
				}
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
			return out
		}
		jobs := func(name string) []*plan.JobGraph {
			var gs []*plan.JobGraph
			if data, ok := in[name]; ok {
				if err := json.Unmarshal(data, &gs); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			return gs
		}
		p, ds := plan.Build(ctx, &plan.Config{Desired: set("applied/"), Jobs: jobs("jobs.applied"), Targets: targets})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		if _, ds := plan.Apply(ctx, &plan.ApplyConfig{Plan: p, Targets: targets, Store: store}); ds.HasErrors() {
			t.Fatal(ds)
		}
		for name, data := range in {
			if p, ok := strings.CutPrefix(name, "live/"); ok {
				fp := filepath.Join(root, filepath.FromSlash(p))
				if strings.TrimSpace(string(data)) == "DELETE" {
					os.Remove(fp)
					continue
				}
				os.MkdirAll(filepath.Dir(fp), 0o755)
				os.WriteFile(fp, data, 0o644)
			}
		}
		st, _ := store.Read(ctx)
		p, ds = plan.Build(ctx, &plan.Config{Desired: set("desired/"), Jobs: jobs("jobs.desired"), State: st, Targets: targets})
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		var h, j bytes.Buffer
		plan.WriteHuman(&h, p, plan.HumanOptions{})
		plan.WriteJSON(&j, p)
		// The lineage id is random; the serial is what matters.
		t.Out("human", h.Bytes())
		t.Out("json", bytes.ReplaceAll(j.Bytes(), []byte(st.Lineage), []byte("LINEAGE")))
	})
}
