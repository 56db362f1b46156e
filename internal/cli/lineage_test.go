package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/backends/openlineage/oltest"
)

func lineageCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Stdout: &out, Stderr: &errb, Dir: dir, Getenv: func(string) string { return "" }}
	code := Run(context.Background(), env, append([]string{"lineage"}, args...))
	return code, out.String(), errb.String()
}

// TestLineageJSON: `rtsapc lineage ./...` prints one event per line for
// every example, and every event validates against the official schemas.
func TestLineageJSON(t *testing.T) {
	v := oltest.New(t)
	code, out, stderr := lineageCLI(t, "./...")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	kinds := map[string]int{}
	for i, l := range lines {
		if err := v.Validate([]byte(l)); err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		kinds[oltest.Kind(m)]++
	}
	if kinds["JobEvent"] < 6 || kinds["RunEvent"] != kinds["JobEvent"] || kinds["DatasetEvent"] < kinds["JobEvent"] {
		t.Errorf("events by kind: %v", kinds)
	}
}

func TestLineageGraphsAndUsage(t *testing.T) {
	code, out, stderr := lineageCLI(t, "--format", "dot", "--env", "prod", "./equities-vwap")
	if code != ExitOK || !strings.HasPrefix(out, "digraph lineage {") || !strings.Contains(out, "kafka://kafka-0.md.svc:9093") {
		t.Errorf("dot: exit %d\n%s\n%s", code, out, stderr)
	}
	code, out, _ = lineageCLI(t, "--format", "mermaid", "./price-patterns")
	if code != ExitOK || !strings.HasPrefix(out, "flowchart LR\n") || !strings.Contains(out, "-.->") {
		t.Errorf("mermaid: exit %d\n%s", code, out)
	}
	code, out, _ = lineageCLI(t, "--format", "text", "--pipeline", "equities-vwap", "./equities-vwap")
	if code != ExitOK || !strings.Contains(out, "vwap <- kafka://unresolved md.equities.trades.v1 price DIRECT/AGGREGATION\n") {
		t.Errorf("text: exit %d\n%s", code, out)
	}
	code, out, _ = lineageCLI(t, "--format", "text", "--set", "openlineage.namespace=lineage-ns", "./price-patterns")
	if code != ExitOK || !strings.HasPrefix(out, "job lineage-ns price-patterns") {
		t.Errorf("--set: exit %d\n%s", code, out)
	}
	if code, _, stderr := lineageCLI(t, "--format", "svg", "./equities-vwap"); code != ExitUsage || !strings.Contains(stderr, "--format") {
		t.Errorf("bad format: exit %d %s", code, stderr)
	}
	if code, _, stderr := lineageCLI(t, "--pipeline", "equities-vwaq", "./equities-vwap"); code != ExitError || !strings.Contains(stderr, "equities-vwap") {
		t.Errorf("unknown pipeline: exit %d %s", code, stderr)
	}
}
