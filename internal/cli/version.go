package cli

import (
	"context"
	"flag"
	"fmt"
	"runtime"
)

func init() {
	register(&Command{
		Name:  "version",
		Usage: "rtsapc version",
		Short: "print the rtsapc version",
		Run: func(_ context.Context, env *Env, _ *flag.FlagSet, args []string) int {
			fmt.Fprintf(env.Stdout, "rtsapc %s %s/%s %s\n", Version, runtime.GOOS, runtime.GOARCH, runtime.Version())
			return ExitOK
		},
	})
}
