package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"rtsap.dev/rtsapc/internal/cli"
	"rtsap.dev/rtsapc/internal/golden"
)

// TestMain lets the test binary act as rtsapc, so scripts run the real CLI
// in-process (testscript re-executes the binary per command).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rtsapc": func() { os.Exit(cli.Main()) },
	})
}

// TestScript runs testdata/script/*.txtar. Names start with the subcommand
// (vet_*, build_*, plan_*, apply_*). With -update or RTSAPC_UPDATE=1, cmp
// against an in-archive file rewrites it.
func TestScript(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		UpdateScripts:       golden.Update(),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			// Scripts may copy the repo's examples: $REPO/examples.
			e.Setenv("REPO", root)
			return setupDeploy(e)
		},
		Condition: deployCondition,
		Cmds:      scriptCmds(),
	})
}

func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"exitcode": cmdExitcode,
	}
	for k, v := range deployCmds {
		cmds[k] = v
	}
	return cmds
}

// cmdExitcode runs "exitcode N prog args..." and checks the exact exit status,
// which testscript's `! exec` cannot (go-internal issue 93).
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	err := ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			got = ee.ExitCode()
		} else {
			ts.Fatalf("exec %s: %v", args[1], err)
		}
	}
	if want := args[0]; want != itoa(got) {
		ts.Fatalf("exit code %d, want %s", got, want)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}
