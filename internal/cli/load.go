package cli

import (
	"fmt"
	"path/filepath"

	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/cuespec"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// loadOptions are the front-end and compiler settings shared by commands.
type loadOptions struct {
	Env string
}

// loadAndCompile runs the front-end and the compiler over args and returns
// the program, the sources (for rendering) and every diagnostic, sorted.
func loadAndCompile(env *Env, opts loadOptions, args []string) (*ir.Program, *spec.File, diag.Diagnostics) {
	if len(args) == 0 {
		args = []string{"."}
	}
	f, ds := cuespec.Load(&cuespec.Config{Dir: env.Dir, Env: opts.Env}, args)
	var prog *ir.Program
	if f != nil && (!ds.HasErrors() || len(f.Pipelines) > 0 || len(f.Workflows) > 0) {
		// The front-end returns a partial model even with errors (what it
		// reported is marked Invalid in it), so the compiler reports the
		// rest of the problems in the same run. What the front-end already
		// reported at a position is not repeated.
		cenv := opts.Env
		for _, d := range ds {
			if d.Code == diag.UnknownEnvironment {
				cenv = "" // reported once, by the front-end
			}
		}
		var cds diag.Diagnostics
		prog, cds = compiler.Compile(f, &compiler.Config{Env: cenv})
		ds = ds.Extend(withoutRepeats(cds, ds))
	}
	return prog, f, ds.Sort()
}

// withoutRepeats drops from later the diagnostics whose code and start
// position match one in earlier.
func withoutRepeats(later, earlier diag.Diagnostics) diag.Diagnostics {
	type key struct {
		code diag.Code
		file string
		line int
		col  int
	}
	seen := map[key]bool{}
	for _, d := range earlier {
		if d.Subject != nil {
			seen[key{d.Code, d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column}] = true
		}
	}
	var out diag.Diagnostics
	for _, d := range later {
		if d.Subject != nil && seen[key{d.Code, d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column}] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// printDiagnostics renders ds on stderr as text, or stdout as JSON.
func printDiagnostics(env *Env, f *spec.File, ds diag.Diagnostics, format string) {
	var src diag.Sources
	if f != nil {
		src = f.Sources
	}
	if format == "json" {
		_ = diag.WriteJSON(env.Stdout, ds, src)
		return
	}
	tw := &diag.TextWriter{W: env.Stderr, Sources: src, Color: false}
	_ = tw.Write(ds)
	if n := len(ds.Errs()); n > 0 {
		fmt.Fprintf(env.Stderr, "%d error%s\n", n, plural(n))
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// relDir makes dir absolute against the command's working directory.
func (e *Env) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.Dir, p)
}
