package beamgo_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/beamgo"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/cuespec"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

func compile(t *testing.T, dir string) *ir.Program {
	t.Helper()
	f, ds := cuespec.Load(&cuespec.Config{Dir: dir}, []string{"."})
	if ds.HasErrors() {
		t.Fatalf("load: %v", ds)
	}
	prog, cds := compiler.Compile(f, &compiler.Config{Check: true})
	if cds.HasErrors() {
		t.Fatalf("compile: %v", cds)
	}
	return prog
}

// TestGolden: the generated main.go and go.mod of each case.
func TestGolden(t *testing.T) {
	golden.Run(t, "testdata", func(t *golden.T) {
		prog := compile(t.T, t.WriteInputs())
		opts := &backends.Options{Version: "test"}
		for _, pl := range prog.Pipelines {
			if ds := beamgo.Check(pl); ds.HasErrors() {
				t.Out(pl.Name+"/check", []byte(fmt.Sprint(ds)))
				continue
			}
			src, err := beamgo.MainGo(pl, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Out(pl.Name+"/main.go", src)
			t.Out(pl.Name+"/go.mod", beamgo.GoMod(pl, opts))
		}
	})
}

// hostilePipeline: every node and field named from the hostile corpus.
func hostilePipeline(t *testing.T, root string) *ir.Pipeline {
	b, err := os.ReadFile(filepath.Join(root, "..", "shared", "hostile", "names.json"))
	if err != nil {
		t.Skipf("HOSTILE CORPUS MISSING: %v", err)
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		t.Fatal(err)
	}
	var fields []rtype.Field
	for _, n := range names {
		fields = append(fields, rtype.Field{Name: n, Type: rtype.StringType, Nullable: true})
	}
	fields = append(fields, rtype.Field{Name: "ts", Type: rtype.TimestampMillis})
	rec := rtype.RecordOf(fields...)
	ref := &ir.Expr{Kind: ir.Ref, Path: []string{names[0]}, Type: rtype.StringType, Text: names[len(names)-1]}
	where := &ir.Expr{Kind: ir.Call, Fn: ir.FnNe, Type: rtype.BoolType, Text: names[3],
		Args: []*ir.Expr{ref, {Kind: ir.Lit, Value: names[50], Type: rtype.StringType}}}
	pl := &ir.Pipeline{Name: names[29], Mode: ir.Streaming}
	add := func(name string, op ir.Op, out *rtype.Type, ins ...ir.NodeID) {
		pl.Nodes = append(pl.Nodes, &ir.Node{ID: ir.NodeID(len(pl.Nodes) + 1), Name: name, Op: op, Out: out, Inputs: ins})
	}
	add(names[35], &ir.Source{Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{{Key: "topic", Value: names[44]}}},
		Schema: rec, EventTime: "ts", MaxOutOfOrderness: time.Second}, rec)
	for i, n := range names[36:44] {
		add(n, &ir.Filter{Where: where}, rec, ir.NodeID(i+1))
	}
	add(names[53], &ir.Sink{Connector: ir.Connector{Kind: "stdout"}}, rec, ir.NodeID(len(pl.Nodes)))
	return pl
}

func TestHostileNames(t *testing.T) {
	pl := hostilePipeline(t, repoRoot(t))
	src, err := beamgo.MainGo(pl, &backends.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\n\"new\nline\"", "nul\x00byte"} {
		if strings.Contains(string(src), bad) {
			t.Errorf("raw hostile name %q in the generated Go", bad)
		}
	}
}

// TestGeneratedProgramsBuild: `go build` and `go vet` of the generated
// programs of an example and of the hostile pipeline, against this
// repository through a replace.
func TestGeneratedProgramsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Beam programs (minutes on two cores)")
	}
	root := repoRoot(t)
	dir := t.TempDir()
	opts := &backends.Options{Version: "test", Settings: map[string]string{"beam.replace": root}}
	var pls []*ir.Pipeline
	for _, ex := range []string{"equities-vwap", "volatility-alerts"} {
		pls = append(pls, compile(t, filepath.Join(root, "examples", ex)).Pipelines...)
	}
	pls = append(pls, hostilePipeline(t, root))
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(fmt.Sprintf(
		"module rtsap.dev/generated\n\ngo 1.26.8\n\nrequire rtsap.dev/rtsapc v0.1.0\n\nreplace rtsap.dev/rtsapc => %q\n", root)), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, pl := range pls {
		src, err := beamgo.MainGo(pl, opts)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("p%d", i), "main.go")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestExampleSinksRunOnBeam: every sink of the beam examples passes the
// check (news-sentiment's qdrant sink included), and so do the sinks of
// nightly-backtest (spark) that the Beam runtime also writes: s3 with
// partitionBy and zstd, postgres.
func TestExampleSinksRunOnBeam(t *testing.T) {
	root := repoRoot(t)
	for _, ex := range []string{"news-sentiment", "equities-vwap", "volatility-alerts", "trades-quotes-spread", "nightly-backtest"} {
		prog := compile(t, filepath.Join(root, "examples", ex))
		for _, pl := range prog.Pipelines {
			if pl.Engine != "beam" && ex != "nightly-backtest" {
				continue
			}
			for _, d := range beamgo.Check(pl) {
				if strings.Contains(d.Summary, "sink") {
					t.Errorf("%s/%s: %v", ex, pl.Name, d)
				}
			}
		}
	}
}
