package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/all"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/plan/target/open"
	"rtsap.dev/rtsapc/state"
)

func init() {
	register(&Command{
		Name:  "plan",
		Usage: "rtsapc plan [-env ENV] [-out FILE] [-json] [-detailed-exitcode] PATH",
		Short: "show what apply would change in the live targets",
		Long: `Plan compiles the specs at PATH, generates every artifact, reads the state
and the live targets, and shows what apply would do: create (+), update (~),
replace (±) and delete (-), with field-level diffs. Live changes made outside
rtsapc since the last apply are shown apart, as drift. Each streaming job
whose deployment changes gets a verdict: a stateless change, one that needs
a savepoint (and whether the operator's upgradeMode takes it), or a
state-incompatible one (operator graph, key or aggregate changed), with the
reason.

Targets come from the environment's "targets" in the spec (dir: {path},
state: {path}, kafka: {brokers}, kubernetes: {kubeconfig, namespace},
openlineage: {url}) and from RTSAPC_KAFKA_BROKERS, RTSAPC_KUBECONFIG and
RTSAPC_OPENLINEAGE_URL. With none, everything goes to a GitOps folder: the
folder is .rtsapc/<env>/deploy and the state .rtsapc/<env>/state.json in the
current directory (<env> is "default" without -env).

-out writes a self-contained plan file for "rtsapc apply FILE". Secrets
never appear in plan output, plan files or state.

Exit status: 0 on success; with -detailed-exitcode, 0 when there are no
changes, 2 when there are changes; 1 on errors.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("env", "", "environment to plan for")
			fs.String("out", "", "write the plan to `FILE` for apply")
			fs.Bool("json", false, "print the plan as JSON (the structure the human view renders)")
			fs.Bool("detailed-exitcode", false, "exit 0 with no changes, 2 with changes, 1 on error")
		},
		Run: runPlan,
	})
}

// deployment is everything plan, apply and destroy work on.
type deployment struct {
	file     *spec.File
	settings *plan.Settings
	desired  []*target.Resource
	jobs     []*plan.JobGraph
	targets  map[string]target.Target
	store    state.Store
}

func (d *deployment) close() {
	for _, t := range d.targets {
		if c, ok := t.(target.Closer); ok {
			c.Close()
		}
	}
}

// prepare compiles the spec, generates the artifacts and configures the
// targets. With destroy, artifacts are not generated.
func prepare(ctx context.Context, env *Env, envName string, args []string, destroy bool) (*deployment, diag.Diagnostics) {
	prog, f, ds := loadAndCompile(env, loadOptions{Env: envName}, args)
	d := &deployment{file: f}
	if ds.HasErrors() {
		return d, ds
	}
	var e *ir.Environment
	if envName != "" {
		for _, x := range prog.Environments {
			if x.Name == envName {
				e = x
			}
		}
		if e == nil {
			var names []string
			for _, x := range prog.Environments {
				names = append(names, x.Name)
			}
			return d, ds.Append(diag.Errorf(diag.InvalidTargetConfig, diag.Range{}, "Unknown environment",
				"The spec has no environment %q (it has %v).%s", envName, names, diag.DidYouMean(envName, names)))
		}
	}
	settings, sds := plan.SettingsFor(e, envName, env.Dir, env.Getenv)
	ds = ds.Extend(sds)
	if sds.HasErrors() {
		return d, ds
	}
	d.settings = settings
	if !destroy {
		reg := all.Default()
		opts := &backends.Options{Version: Version, Env: e}
		set, gds := reg.Generate(prog, defaultTargets(prog, reg), opts)
		ds = ds.Extend(gds)
		if ds.HasErrors() {
			return d, ds.Sort()
		}
		desired, jobs, dds := plan.Desired(prog, set, settings.Routing())
		ds = ds.Extend(dds)
		d.desired, d.jobs = desired, jobs
	}
	targets, tds := open.Targets(ctx, settings)
	d.targets = targets
	store, err := open.Store(settings)
	if err != nil {
		tds = tds.Append(diag.Errorf(diag.InvalidTargetConfig, diag.Range{}, "Cannot open the state", "%v", err))
	}
	d.store = store
	return d, ds.Extend(tds).Sort()
}

func runPlan(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) int {
	asJSON := fs.Lookup("json").Value.String() == "true"
	detailed := fs.Lookup("detailed-exitcode").Value.String() == "true"
	d, ds := prepare(ctx, env, fs.Lookup("env").Value.String(), args, false)
	defer d.close()
	if ds.HasErrors() {
		printDiagnostics(env, d.file, ds, "text")
		return ExitError
	}
	st, err := d.store.Read(ctx)
	if err != nil {
		printDiagnostics(env, d.file, ds.Append(stateError(err)), "text")
		return ExitError
	}
	p, pds := plan.Build(ctx, &plan.Config{Version: Version, Env: d.settings.Env, Desired: d.desired, Jobs: d.jobs, State: st, Targets: d.targets})
	p.Settings = d.settings
	ds = ds.Extend(pds)
	printDiagnostics(env, d.file, ds, "text")
	if ds.HasErrors() {
		return ExitError
	}
	if code := showPlan(env, p, asJSON); code != ExitOK {
		return code
	}
	if out := fs.Lookup("out").Value.String(); out != "" {
		if err := writePlanFile(env.abs(out), p); err != nil {
			fmt.Fprintf(env.Stderr, "rtsapc plan: %v\n", err)
			return ExitError
		}
		if !asJSON {
			fmt.Fprintf(env.Stdout, "\nSaved the plan to %s. To perform exactly these actions, run:\n    rtsapc apply %s\n", out, out)
		}
	}
	if detailed && p.HasChanges() {
		return 2
	}
	return ExitOK
}

func showPlan(env *Env, p *plan.Plan, asJSON bool) int {
	var err error
	if asJSON {
		err = plan.WriteJSON(env.Stdout, p)
	} else {
		err = plan.WriteHuman(env.Stdout, p, plan.HumanOptions{Color: useColor(env)})
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "rtsapc: %v\n", err)
		return ExitError
	}
	return ExitOK
}

func useColor(env *Env) bool { return env.IsTerminal && env.Getenv("NO_COLOR") == "" }

func writePlanFile(path string, p *plan.Plan) error {
	var b strings.Builder
	if err := plan.WritePlanFile(&b, p); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return state.WriteFileAtomic(path, []byte(b.String()), 0o600)
}

func stateError(err error) *diag.Diagnostic {
	return diag.Errorf(diag.InvalidTargetConfig, diag.Range{}, "Cannot read the state", "%v", err)
}

// lockState takes the state lock for op, printing who holds it while
// waiting.
func lockState(ctx context.Context, env *Env, store state.Store, op string, timeout time.Duration) (func() error, *diag.Diagnostic) {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		who += "@" + h
	}
	info := &state.LockInfo{ID: uuid.NewString(), Operation: op, Who: who, PID: os.Getpid(), Version: Version, Created: time.Now().UTC()}
	unlock, err := store.Lock(ctx, info, timeout)
	if err != nil {
		var le *state.LockedError
		if errors.As(err, &le) {
			return nil, diag.Errorf(diag.StateLocked, diag.Range{}, "State locked",
				"The %s is locked: %v. Another apply or destroy is running; wait for it, or pass -lock-timeout to wait longer.", store.Describe(), err)
		}
		return nil, diag.Errorf(diag.StateLocked, diag.Range{}, "Cannot lock the state", "%s: %v", store.Describe(), err)
	}
	// Test hook: hold the lock until the named file is removed, so scripts
	// can run a second apply against a held lock deterministically.
	if f := env.Getenv("RTSAPC_TEST_HOLD_LOCK"); f != "" {
		os.WriteFile(f, []byte("held\n"), 0o644)
		for i := 0; i < 600; i++ {
			if _, err := os.Stat(f); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return unlock, nil
}

// sortedNames lists a map's keys in order.
func sortedNames[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
