package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lineage"
	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/runtime/beamrt"
)

// lineageFile is the default destination of a run's events, under the
// run's output directory: nothing needs a server.
const lineageFile = "openlineage.jsonl"

// openRunLineage opens the lineage of a run of pl. The destination is, first
// found: --lineage; the environment (RTSAPC_LINEAGE, OPENLINEAGE_DISABLED,
// RTSAPC_OPENLINEAGE_URL, OPENLINEAGE_URL); the --env environment's
// targets.openlineage.url; file:<outDir>/openlineage.jsonl. The static
// facets are those `rtsapc lineage` prints for the same --env and --set.
// A bad --lineage is a usage error (usage true); a bad environment setting
// is reported by the caller and the run goes on without lineage.
func openRunLineage(env *Env, prog *ir.Program, pl *ir.Pipeline, opts *backends.Options, flagValue, outDir string) (l *beamrt.Lineage, dest string, usage bool, err error) {
	dest = strings.TrimSpace(flagValue)
	var t lineage.Transport
	switch {
	case dest != "":
		dest = absFileSpec(env, dest)
		t, err = lineage.Open(dest, env.Getenv)
		if err != nil {
			return nil, dest, true, err
		}
	case lineage.EnvSelects(env.Getenv):
		dest = "environment"
		t, err = lineage.FromEnv(env.Getenv)
	default:
		if u := settingsLineageURL(env, opts); u != "" {
			dest = u
		} else {
			dest = "file:" + filepath.Join(outDir, lineageFile)
		}
		t, err = lineage.Open(dest, env.Getenv)
	}
	if err != nil {
		return nil, dest, false, err
	}
	st, _ := openlineage.Build(prog, pl, opts) // its warnings are vet's and lineage's to print
	job, err := json.Marshal(st.Job)
	if err != nil {
		_ = t.Close()
		return nil, dest, false, err
	}
	var ds []beamrt.LineageDataset
	for _, d := range openlineage.NodeDatasets(pl, opts) {
		ds = append(ds, beamrt.LineageDataset{Node: d.Node, Namespace: d.Namespace, Name: d.Name, Output: d.Output})
	}
	l = &beamrt.Lineage{Job: job, Datasets: ds}
	l.Emitter = lineage.NewEmitter(t, lineage.EmitterOptions{OnError: l.OnError})
	return l, dest, false, nil
}

// absFileSpec makes a file: destination's path absolute against the
// command's directory.
func absFileSpec(env *Env, spec string) string {
	if p, ok := strings.CutPrefix(spec, "file:"); ok && p != "" && !strings.HasPrefix(p, "//") {
		return "file:" + env.abs(p)
	}
	return spec
}

// settingsLineageURL is the --env environment's targets.openlineage.url,
// where `rtsapc apply` posts the declarations.
func settingsLineageURL(env *Env, opts *backends.Options) string {
	if opts.Env == nil {
		return ""
	}
	s, _ := plan.SettingsFor(opts.Env, opts.Env.Name, env.Dir, func(string) string { return "" })
	if s == nil {
		return ""
	}
	return s.OpenLineageURL
}

// lineageReport is the one line a run prints about its events.
func lineageReport(l *beamrt.Lineage, dest string) string {
	if l == nil {
		return ""
	}
	s := l.Stats()
	msg := fmt.Sprintf("lineage: %d events → %s", s.Sent, dest)
	if s.Failed+s.Dropped > 0 {
		msg += fmt.Sprintf(" (%d failed, %d dropped", s.Failed, s.Dropped)
		if err := l.Err(); err != nil {
			msg += ": " + firstLines(err.Error(), 1)
		}
		msg += "; the run was not affected)"
	}
	return msg
}
