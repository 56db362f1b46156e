package compiler_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/lang/cuespec"
	"rtsap.dev/rtsapc/lang/diag"
)

// compileCUE loads one spec file through the front-end and compiles it.
func compileCUE(t *testing.T, src string) (string, diag.Diagnostics, func(string) string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spec.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, ds := cuespec.Load(&cuespec.Config{Dir: dir}, []string{"."})
	if ds.HasErrors() {
		return "", ds, nil
	}
	prog, cds := compiler.Compile(f, &compiler.Config{Check: true})
	out := func(name string) string {
		if prog == nil || len(prog.Pipelines) == 0 || prog.Pipelines[0].Lookup(name) == nil {
			return ""
		}
		n := prog.Pipelines[0].Lookup(name)
		return n.Out.String() + " @" + n.EventTime
	}
	return "", cds, out
}

const windowingHead = `package p

import (
	"rtsap.dev/rtsap"
	"rtsap.dev/rtsap/connect/kafka"
)

pipelines: p: rtsap.#Pipeline & {
	engine: "beam"
	sources: ticks: kafka.#Source & {
		topic:  "ticks"
		schema: {symbol: "string", price: "decimal(18,6)", ts: "timestamp(3)"}
		eventTime: field: "ts"
	}
	sources: plain: kafka.#Source & {
		topic:  "plain"
		schema: {symbol: "string", ts: "timestamp(3)"}
	}
	sinks: out: kafka.#Sink & {from: "w", topic: "out"}
`

// #Windowing adds window_start and window_end (timestamp(3)) after the
// input's fields and keeps the input's event time.
func TestWindowingTypes(t *testing.T) {
	_, ds, out := compileCUE(t, windowingHead+`	sinks: plainOut: kafka.#Sink & {from: "plain", topic: "p"}
	transforms: w: rtsap.#Windowing & {from: "ticks", window: hop: {size: "10m", slide: "5m"}}
}
`)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	want := "record<symbol: string, price: decimal(18,6), ts: timestamp(3), window_start: timestamp(3), window_end: timestamp(3)> @ts"
	if got := out("w"); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// Each misuse is one error with its code, at the window (the session kind
// for a session window).
func TestWindowingErrors(t *testing.T) {
	for _, c := range []struct {
		name, transforms string
		code             diag.Code
		line, col        int
	}{
		{"session", `	transforms: w: rtsap.#Windowing & {from: "ticks", window: session: gap: "1m"}`, diag.InvalidWindow, 21, 60},
		{"no event time", `	transforms: w: rtsap.#Windowing & {from: "plain", window: tumble: size: "1m"}`, diag.MissingEventTime, 21, 52},
		{"window columns twice", `	transforms: {
		a: rtsap.#Aggregate & {from: "ticks", window: tumble: size: "1m", select: n: "count()"}
		w: rtsap.#Windowing & {from: "a", window: tumble: size: "5m"}
	}`, diag.DuplicateName, 23, 37},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := windowingHead + `	sinks: plainOut: kafka.#Sink & {from: "plain", topic: "p"}
` + c.transforms + "\n}\n"
			_, ds, _ := compileCUE(t, src)
			var got []string
			for _, d := range ds {
				if d.Severity == diag.Error {
					got = append(got, d.Code.String())
					if d.Code == c.code && (d.Subject == nil || d.Subject.Start.Line != c.line || d.Subject.Start.Column != c.col) {
						t.Errorf("%s at %v, want %d:%d", d.Code, d.Subject, c.line, c.col)
					}
				}
			}
			if strings.Join(got, ",") != c.code.String() {
				t.Errorf("got %v, want one %s:\n%v", got, c.code, ds)
			}
		})
	}
}

// The schema requires a window.
func TestWindowingNeedsWindow(t *testing.T) {
	_, ds, _ := compileCUE(t, windowingHead+`	transforms: w: rtsap.#Windowing & {from: "ticks"}
}
`)
	if !ds.HasErrors() {
		t.Fatal("a windowing without window was accepted")
	}
}
