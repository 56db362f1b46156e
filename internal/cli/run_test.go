package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunExample: `rtsapc run ./examples/equities-vwap --events 3000` runs
// on Prism with the embedded Kafka and previews every sink.
func TestRunExample(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	if _, err := os.Stat(filepath.Join(root, "examples", "equities-vwap")); err != nil {
		t.Skipf("EXAMPLE MISSING: %v", err)
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Dir: dir, Getenv: func(string) string { return "" }}
	code := Run(context.Background(), env, []string{"run", filepath.Join(root, "examples", "equities-vwap"), "--events", "3000", "--preview", "2"})
	if code != ExitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, errb.String())
	}
	for _, want := range []string{"sink bars:", "sink vwap:", "window_start"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "pipeline equities-vwap finished") {
		t.Errorf("stderr lacks the summary:\n%s", errb.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "run", "equities-vwap", "bars.jsonl"))
	if err != nil || len(b) == 0 {
		t.Errorf("bars.jsonl: %v (%d bytes)", err, len(b))
	}
	// Bad usage is reported, not run.
	if code := Run(context.Background(), env, []string{"run", "--events", "5", "--duration", "1s", filepath.Join(root, "examples", "equities-vwap")}); code != ExitUsage {
		t.Errorf("--events with --duration: exit %d, want %d", code, ExitUsage)
	}
}
