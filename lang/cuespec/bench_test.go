package cuespec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"

	"rtsap.dev/rtsapc/compiler"
)

// genSpec writes a pipeline of n nodes: 10 Kafka sources, 10 chains of
// filters and maps (an OHLC bar every 50th node) and 10 sinks.
func genSpec(n int) string {
	var b strings.Builder
	b.WriteString(`package gen

import (
	"rtsap.dev/rtsap"
	"rtsap.dev/rtsap/connect/kafka"
	"rtsap.dev/rtsap/finance"
)

#Trade: rtsap.#Record & {symbol: "string", venue: "string", price: "decimal(18,6)", size: "int64", ts: "timestamp(3)"}

pipelines: big: rtsap.#Pipeline & {
	engine: "flink"
	sources: {
`)
	const chains = 10
	prev := make([]string, chains)
	for i := range chains {
		fmt.Fprintf(&b, "\t\ts%d: kafka.#Source & {topic: \"md.trades.%d\", schema: #Trade, eventTime: {field: \"ts\", maxOutOfOrderness: \"5s\"}}\n", i, i)
		prev[i] = fmt.Sprintf("s%d", i)
	}
	b.WriteString("\t}\n\ttransforms: {\n")
	for i := range n - 2*chains {
		from := prev[i%chains]
		switch {
		case i%50 == 49:
			fmt.Fprintf(&b, "\t\tt%d: finance.#OHLC & {from: %q, window: tumble: size: \"1m\"}\n", i, from)
			continue
		case i%3 == 0:
			fmt.Fprintf(&b, "\t\tt%d: rtsap.#Filter & {from: %q, where: \"size > %d && venue != 'DARK'\"}\n", i, from, i)
		case i%3 == 1:
			fmt.Fprintf(&b, "\t\tt%d: rtsap.#Map & {from: %q, keep: true, select: price: \"price * 1.0%d\"}\n", i, from, i%10)
		default:
			fmt.Fprintf(&b, "\t\tt%d: rtsap.#Filter & {from: %q, where: \"symbol != 'X%d'\"}\n", i, from, i)
		}
		prev[i%chains] = fmt.Sprintf("t%d", i)
	}
	b.WriteString("\t}\n\tsinks: {\n")
	for i := range chains {
		fmt.Fprintf(&b, "\t\tk%d: kafka.#Sink & {from: %q, topic: \"out.%d\"}\n", i, prev[i], i)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func writeGen(tb testing.TB, n int) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gen.cue"), []byte(genSpec(n)), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

func TestGeneratedSpec(t *testing.T) {
	dir := writeGen(t, 1000)
	f, ds := Load(&Config{Dir: dir}, nil)
	if len(ds) > 0 {
		t.Fatal(ds)
	}
	if n := len(f.Pipelines[0].Nodes); n != 1000 {
		t.Errorf("%d nodes, want 1000", n)
	}
}

// cueExport is what `cue export` does, in process, over the same files and
// the same schema overlay: load, build, validate concrete, marshal JSON.
func cueExport(tb testing.TB, dir string, args []string) int {
	ov := map[string]load.Source{}
	for rel, b := range Overlay(true) {
		ov[filepath.Join(dir, filepath.FromSlash(rel))] = load.FromBytes(b)
	}
	insts := load.Instances(args, &load.Config{Dir: dir, ModuleRoot: dir, Overlay: ov})
	ctx := cuecontext.New()
	n := 0
	for _, inst := range insts {
		if inst.Err != nil {
			tb.Fatal(inst.Err)
		}
		v := ctx.BuildInstance(inst)
		if err := v.Validate(cue.Concrete(true)); err != nil {
			tb.Fatal(err)
		}
		b, err := v.MarshalJSON()
		if err != nil {
			tb.Fatal(err)
		}
		n += len(b)
	}
	return n
}

// BenchmarkLoad compares Load (what vet spends in the front-end) and vet
// (Load + compile) with plain CUE evaluation of the same files, side by
// side:
//
//	go test -run '^$' -bench Load -benchtime 5x ./lang/cuespec
func BenchmarkLoad(b *testing.B) {
	examples, _ := filepath.Abs("../../examples")
	gen := writeGen(b, 1000)
	for _, c := range []struct {
		name string
		dir  string
	}{{"examples", examples}, {"gen1000", gen}} {
		b.Run(c.name+"/cue-export", func(b *testing.B) {
			for range b.N {
				cueExport(b, c.dir, []string{"./..."})
			}
		})
		b.Run(c.name+"/load", func(b *testing.B) {
			for range b.N {
				if _, ds := Load(&Config{Dir: c.dir}, []string{"./..."}); len(ds) > 0 {
					b.Fatal(ds)
				}
			}
		})
		// vet = Load + compile, what `rtsapc vet` does.
		b.Run(c.name+"/vet", func(b *testing.B) {
			for range b.N {
				f, ds := Load(&Config{Dir: c.dir}, []string{"./..."})
				if len(ds) > 0 {
					b.Fatal(ds)
				}
				if _, ds := compiler.Compile(f, &compiler.Config{}); ds.HasErrors() {
					b.Fatal(ds)
				}
			}
		})
	}
}

// BenchmarkVetWithErrors is vet of the 1,000-node spec with one error (a
// bad type string in the record every source reads): the package is
// evaluated a second time with loose references (see loadInstance), so
// this costs about two evaluations where a clean spec costs one.
//
//	go test -run '^$' -bench VetWithErrors -benchtime 3x ./lang/cuespec
func BenchmarkVetWithErrors(b *testing.B) {
	dir := b.TempDir()
	src := strings.Replace(genSpec(1000), `size: "int64"`, `size: "int46"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "gen.cue"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		f, ds := Load(&Config{Dir: dir}, []string{"./..."})
		if ds = ds.Sort(); len(ds.Errs()) != 1 || ds[0].Code.String() != "RTS1005" {
			b.Fatalf("want one bad type string, got:\n%v", ds)
		}
		if _, cds := compiler.Compile(f, &compiler.Config{}); len(cds) > 0 {
			b.Fatalf("the compiler repeats or cascades:\n%v", cds)
		}
	}
}
