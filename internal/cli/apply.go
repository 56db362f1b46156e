package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/plan/target/open"
)

func init() {
	register(&Command{
		Name:  "apply",
		Usage: "rtsapc apply [-env ENV] [-auto-approve] [-lock-timeout DURATION] [PLANFILE | PATH]",
		Short: "apply a saved plan, or plan and apply the specs",
		Long: `Apply with a plan file (from "rtsapc plan -out FILE") applies exactly that
plan, and refuses it when the state or a live resource changed since it was
made ("Saved plan is stale"). With a spec PATH (or none: the current
directory), apply plans first, shows the plan and asks for confirmation
(skipped with -auto-approve).

Changes run in stages: topics and other prerequisites, then configuration,
then jobs, then lineage declarations, waiting for each stage to be ready;
then what is no longer desired is deleted, jobs first. Every finished change
is recorded in the state at once, so an interrupted apply loses nothing and
the next plan or apply continues from the true state. The state is locked
while apply runs; -lock-timeout waits for another holder.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("env", "", "environment to apply (with a spec PATH)")
			fs.Bool("auto-approve", false, "apply without asking for confirmation")
			fs.Duration("lock-timeout", 0, "how long to wait for the state lock")
		},
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) int {
			return runApply(ctx, env, fs, args, false)
		},
	})
}

// isPlanFile reports whether the single argument names a plan file.
func isPlanFile(env *Env, args []string) bool {
	if len(args) != 1 {
		return false
	}
	st, err := os.Stat(env.abs(args[0]))
	if err != nil || st.IsDir() {
		return false
	}
	f, err := os.Open(env.abs(args[0]))
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := f.Read(head)
	return strings.Contains(string(head[:n]), `"kind": "rtsapc-plan"`)
}

func runApply(ctx context.Context, env *Env, fs *flag.FlagSet, args []string, destroy bool) int {
	op := "apply"
	if destroy {
		op = "destroy"
	}
	autoApprove := fs.Lookup("auto-approve").Value.String() == "true"
	lockTimeout := fs.Lookup("lock-timeout").Value.(flag.Getter).Get().(time.Duration)
	envName := fs.Lookup("env").Value.String()

	var d *deployment
	var p *plan.Plan
	fromFile := !destroy && isPlanFile(env, args)
	if fromFile {
		f, err := os.Open(env.abs(args[0]))
		if err == nil {
			p, err = plan.ReadPlanFile(f)
			f.Close()
		}
		if err != nil || p.Settings == nil {
			if err == nil {
				err = fmt.Errorf("it names no state or targets")
			}
			printDiagnostics(env, nil, diag.Diagnostics{diag.Errorf(diag.InvalidPlanFile, diag.Range{}, "Invalid plan file", "%s: %v", args[0], err)}, "text")
			return ExitError
		}
		targets, ds := open.Targets(ctx, p.Settings)
		store, err := open.Store(p.Settings)
		if err != nil {
			ds = ds.Append(diag.Errorf(diag.InvalidTargetConfig, diag.Range{}, "Cannot open the state", "%v", err))
		}
		d = &deployment{settings: p.Settings, targets: targets, store: store}
		if ds.HasErrors() {
			printDiagnostics(env, nil, ds, "text")
			return ExitError
		}
	} else {
		var ds diag.Diagnostics
		d, ds = prepare(ctx, env, envName, args, destroy)
		if ds.HasErrors() {
			d.close()
			printDiagnostics(env, d.file, ds, "text")
			return ExitError
		}
		printDiagnostics(env, d.file, ds, "text")
	}
	defer d.close()

	unlock, ld := lockState(ctx, env, d.store, op, lockTimeout)
	if ld != nil {
		printDiagnostics(env, d.file, diag.Diagnostics{ld}, "text")
		return ExitError
	}
	defer unlock()
	st, err := d.store.Read(ctx)
	if err != nil {
		printDiagnostics(env, d.file, diag.Diagnostics{stateError(err)}, "text")
		return ExitError
	}

	if fromFile {
		if ds := plan.CheckStale(ctx, p, st, d.targets); ds.HasErrors() {
			printDiagnostics(env, nil, ds, "text")
			return ExitError
		}
	} else {
		var ds diag.Diagnostics
		p, ds = plan.Build(ctx, &plan.Config{Version: Version, Env: d.settings.Env, Destroy: destroy,
			Desired: d.desired, Jobs: d.jobs, State: st, Targets: d.targets})
		p.Settings = d.settings
		printDiagnostics(env, d.file, ds, "text")
		if ds.HasErrors() {
			return ExitError
		}
		if code := showPlan(env, p, false); code != ExitOK {
			return code
		}
		if !p.HasChanges() && len(p.Records) == 0 {
			return ExitOK
		}
		if p.HasChanges() && !autoApprove {
			q := "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: "
			if destroy {
				q = "\nDo you really want to destroy everything rtsapc deployed in this environment?\n  Only 'yes' will be accepted to confirm.\n\n  Enter a value: "
			}
			fmt.Fprint(env.Stdout, q)
			line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
			fmt.Fprintln(env.Stdout)
			if strings.TrimSpace(line) != "yes" {
				fmt.Fprintf(env.Stdout, "%s cancelled.\n", capitalize(op))
				return ExitError
			}
		}
	}

	crashAfter := -1
	if v := env.Getenv("RTSAPC_TEST_CRASH_AFTER"); v != "" {
		crashAfter, _ = strconv.Atoi(v)
	}
	done := 0
	_, ds := plan.Apply(ctx, &plan.ApplyConfig{
		Plan: p, Targets: d.targets, Store: d.store, State: st, Version: Version,
		ReadyTimeout: readyTimeout(env),
		Progress: func(ev plan.Event) {
			switch ev.Phase {
			case "start":
				fmt.Fprintf(env.Stdout, "%s: %s...\n", ev.Addr, progressVerb(ev.Action, false))
			case "done":
				fmt.Fprintf(env.Stdout, "%s: %s complete\n", ev.Addr, progressVerb(ev.Action, true))
			case "waiting":
				fmt.Fprintf(env.Stdout, "%s: waiting for readiness (%s)\n", ev.Addr, ev.Detail)
			}
		},
		AfterEach: func(*plan.Change) error {
			// Test hook: die abruptly after N changes, as a killed
			// process would (no unlock, no final state write).
			if done++; done == crashAfter {
				os.Exit(3)
			}
			return nil
		},
	})
	if ds.HasErrors() {
		printDiagnostics(env, d.file, ds, "text")
		return ExitError
	}
	s := p.Summary
	if destroy {
		fmt.Fprintf(env.Stdout, "\nDestroy complete! Resources: %d destroyed.\n", s.Destroy)
	} else {
		fmt.Fprintf(env.Stdout, "\nApply complete! Resources: %d added, %d changed, %d replaced, %d destroyed.\n", s.Add, s.Change, s.Replace, s.Destroy)
	}
	return ExitOK
}

func readyTimeout(env *Env) time.Duration {
	if d, err := time.ParseDuration(env.Getenv("RTSAPC_READY_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Minute
}

func progressVerb(a plan.Action, done bool) string {
	names := map[plan.Action][2]string{
		plan.Create:  {"Creating", "Creation"},
		plan.Update:  {"Updating", "Update"},
		plan.Replace: {"Replacing", "Replacement"},
		plan.Delete:  {"Destroying", "Destruction"},
	}
	if done {
		return names[a][1]
	}
	return names[a][0]
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
