// Package cli is the rtsapc command line: argument parsing, the orchestration
// of stages, and views. It is the only package that prints. main calls Main;
// testscript calls it in-process.
//
// Each subcommand lives in its own file and adds itself to the command table
// with register in an init function.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
)

// Version is set at link time (-ldflags "-X rtsap.dev/rtsapc/internal/cli.Version=…").
var Version = "v0.1.0-dev"

// Exit codes shared by every command.
const (
	ExitOK    = 0
	ExitError = 1 // problems in the spec, or a failed operation
	ExitUsage = 2 // bad flags or arguments
)

// Env is what a command may touch: streams, working directory, environment.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Dir            string
	Getenv         func(string) string
	// IsTerminal: stdout is a terminal (colour, progress).
	IsTerminal bool
}

// Command is a subcommand.
type Command struct {
	Name  string
	Usage string // "rtsapc vet [--format text|json] PATH..."
	Short string // one line for the command list
	Long  string // paragraphs for --help
	// Flags declares the command's flags on fs.
	Flags func(fs *flag.FlagSet)
	// Run executes the command with the parsed flag set and positional args;
	// it returns the exit code.
	Run func(ctx context.Context, env *Env, fs *flag.FlagSet, args []string) int
}

var commands = map[string]*Command{}

func register(c *Command) {
	if _, dup := commands[c.Name]; dup {
		panic("cli: command registered twice: " + c.Name)
	}
	commands[c.Name] = c
}

// Main runs rtsapc with os.Args and returns the exit code.
func Main() int {
	wd, _ := os.Getwd()
	env := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Dir: wd, Getenv: os.Getenv,
		IsTerminal: isTerminal(os.Stdout)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return Run(ctx, env, os.Args[1:])
}

// Run runs one command line (without the program name).
func Run(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			if c, ok := commands[args[1]]; ok {
				printCommandHelp(env.Stdout, c)
				return ExitOK
			}
		}
		usage(env.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "rtsapc: unknown command %q\n", args[0])
		if s := suggest(args[0]); s != "" {
			fmt.Fprintf(env.Stderr, "Did you mean %q?\n", s)
		}
		fmt.Fprintln(env.Stderr, "Run 'rtsapc --help' for the list of commands.")
		return ExitUsage
	}
	fs := flag.NewFlagSet("rtsapc "+c.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c.Flags != nil {
		c.Flags(fs)
	}
	// Flags may follow positional arguments (rtsapc vet ./p --format json).
	flagArgs, pos, err := splitArgs(fs, args[1:])
	if err == nil {
		err = fs.Parse(flagArgs)
	}
	if err == flag.ErrHelp {
		printCommandHelp(env.Stdout, c)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "rtsapc %s: %v\nusage: %s\n", c.Name, err, c.Usage)
		return ExitUsage
	}
	return c.Run(ctx, env, fs, append(pos, fs.Args()...))
}

// splitArgs separates flags from positional arguments so that flags may come
// after paths. "--" ends flag parsing.
func splitArgs(fs *flag.FlagSet, args []string) (flags, pos []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		if a == "-h" || a == "--help" || a == "-help" {
			return nil, nil, flag.ErrHelp
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			return nil, nil, fmt.Errorf("flag provided but not defined: %s", a)
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 >= len(args) {
			return nil, nil, fmt.Errorf("flag needs an argument: %s", a)
		}
		i++
		flags = append(flags, args[i])
	}
	return flags, pos, nil
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "rtsapc compiles declarative market-data pipelines (CUE) into Beam, Flink, Spark, NiFi and Argo artifacts.")
	fmt.Fprintln(w, "\nUsage:\n  rtsapc <command> [flags] [PATH...]\n\nCommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].Short)
	}
	fmt.Fprintln(w, "\nRun 'rtsapc <command> --help' for a command's flags.")
}

func printCommandHelp(w io.Writer, c *Command) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", c.Usage, c.Short)
	if c.Long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.Long))
	}
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	if c.Flags != nil {
		c.Flags(fs)
	}
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

func suggest(name string) string {
	best, bestD := "", 3
	for n := range commands {
		if d := editDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev = cur
	}
	return prev[len(b)]
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
