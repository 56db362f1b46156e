// Command rtsapc is the compiler of the Real-Time Streaming Analytics
// Platform. See internal/cli.
package main

import (
	"os"

	"rtsap.dev/rtsapc/internal/cli"
)

func main() { os.Exit(cli.Main()) }
