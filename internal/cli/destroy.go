package cli

import (
	"context"
	"flag"
)

func init() {
	register(&Command{
		Name:  "destroy",
		Usage: "rtsapc destroy [-env ENV] [-auto-approve] [-lock-timeout DURATION] [PATH]",
		Short: "delete everything rtsapc deployed in an environment",
		Long: `Destroy plans the deletion of every resource the state records (jobs
first, then configuration, then topics and other prerequisites), shows it,
asks for confirmation (skipped with -auto-approve), and carries it out. The
spec at PATH is read only for the environment's target settings.`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("env", "", "environment to destroy")
			fs.Bool("auto-approve", false, "destroy without asking for confirmation")
			fs.Duration("lock-timeout", 0, "how long to wait for the state lock")
		},
		Run: func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) int {
			return runApply(ctx, env, fs, args, true)
		},
	})
}
