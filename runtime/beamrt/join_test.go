package beamrt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/backends/beamgo"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/cuespec"
	"rtsap.dev/rtsapc/runtime/beamrt"
)

// compileSpec compiles a one-pipeline CUE spec written to a temp dir.
func compileSpec(t *testing.T, src string) *ir.Pipeline {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spec.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, ds := cuespec.Load(&cuespec.Config{Dir: dir}, []string{"."})
	if ds.HasErrors() {
		t.Fatalf("load: %v", ds)
	}
	prog, cds := compiler.Compile(f, &compiler.Config{})
	if cds.HasErrors() {
		t.Fatalf("compile: %v", cds)
	}
	pl := prog.Pipelines[0]
	if ds := beamgo.Check(pl); ds.HasErrors() {
		t.Fatalf("beam check: %v", ds)
	}
	return pl
}

const joinSpec = `
package j

import (
	"rtsap.dev/rtsap"
	"rtsap.dev/rtsap/connect/kafka"
)

#L: rtsap.#Record & {id: "string", k?: "string", ts: "timestamp(3)"}
#R: rtsap.#Record & {rid: "string", k?: "string", w: "int64", ts: "timestamp(3)"}

_join: {
	left: {from: "l", as: "a"}
	right: {from: "r", as: "b"}
	on: ["k"]
	between: {lower: "-2s", upper: "1s"}
	where: "b.w != 13"
}
_pair: {id: "a.id", rid: "b.rid", lts: "a.ts", rts: "b.ts"}

pipelines: joins: rtsap.#Pipeline & {
	engine: "beam"
	owner:  "test"
	sources: {
		l: kafka.#Source & {topic: "l", format: "json", schema: #L, eventTime: {field: "ts", maxOutOfOrderness: "3s"}}
		r: kafka.#Source & {topic: "r", format: "json", schema: #R, eventTime: {field: "ts", maxOutOfOrderness: "3s"}}
	}
	transforms: {
		inner: rtsap.#Join & _join & {select: _pair}
		lefto: rtsap.#Join & _join & {type: "left", select: _pair}
		fullo: rtsap.#Join & _join & {type: "full", select: _pair}
		semi:  rtsap.#Join & _join & {type: "semi"}
		anti:  rtsap.#Join & _join & {type: "anti"}
		win: rtsap.#Join & {
			left: {from: "l", as: "a"}
			right: {from: "r", as: "b"}
			on: ["k"]
			type: "left"
			window: tumble: size: "5s"
			select: _pair
		}
	}
	sinks: {
		for n in ["inner", "lefto", "fullo", "semi", "anti", "win"] {
			"out_\(n)": kafka.#Sink & {from: n, topic: "out_\(n)"}
		}
	}
}
`

type jrow struct {
	id, k string
	w     int64
	ts    int64 // ms from base
	null  bool  // k is null
}

// TestJoinKinds runs interval joins of every kind and a window join over
// the same two streams (out of order within the bound, a late row, null
// keys) and checks each output against pairs computed here.
func TestJoinKinds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	pl := compileSpec(t, joinSpec)
	// one partition per topic: the test computes each row's lateness from
	// the read order
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "l", "r"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	base := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC).UnixMilli()
	var ls, rs []jrow
	for i := 0; i < 40; i++ {
		ls = append(ls, jrow{id: fmt.Sprintf("L%d", i), k: []string{"A", "B", "C"}[i%3], ts: 5000 + int64(i)*900 - int64(i%3)*1000})
		rs = append(rs, jrow{id: fmt.Sprintf("R%d", i), k: []string{"A", "B", "D"}[i%3], w: int64(i), ts: 5000 + int64(i)*870 + 500 - int64(i%4)*700})
	}
	ls[7].null, rs[9].null = true, true
	// late: 12 s behind the newest row of its stream (bound 3 s)
	ls = append(ls, jrow{id: "Llate", k: "A", ts: 39*900 - 12000})
	rs = append(rs, jrow{id: "Rlate", k: "A", w: 99, ts: 39*870 - 12000})
	late := func(xs []jrow) map[string]bool {
		m := map[string]bool{}
		var max int64 = -1 << 62
		for _, x := range xs {
			if x.ts < max-3000 {
				m[x.id] = true
			}
			max = maxI(max, x.ts)
		}
		return m
	}
	lateL, lateR := late(ls), late(rs)
	enc := func(x jrow, right bool) []byte {
		k := fmt.Sprintf("%q", x.k)
		if x.null {
			k = "null"
		}
		if right {
			return fmt.Appendf(nil, `{"rid":%q,"k":%s,"w":%d,"ts":%d}`, x.id, k, x.w, base+x.ts)
		}
		return fmt.Appendf(nil, `{"id":%q,"k":%s,"ts":%d}`, x.id, k, base+x.ts)
	}
	var lv, rv [][]byte
	for _, x := range ls {
		lv = append(lv, enc(x, false))
	}
	for _, x := range rs {
		rv = append(rv, enc(x, true))
	}
	produce(t, cl, "l", lv)
	produce(t, cl, "r", rv)

	match := func(l, r jrow) bool {
		d := r.ts - l.ts
		return !l.null && !r.null && l.k == r.k && d >= -2000 && d <= 1000 && r.w != 13 && !lateL[l.id] && !lateR[r.id]
	}
	pair := func(l, r string) string { return l + "|" + r }
	want := map[string][]string{}
	lm, rm := map[string]bool{}, map[string]bool{}
	for _, l := range ls {
		for _, r := range rs {
			if match(l, r) {
				want["inner"] = append(want["inner"], pair(l.id, r.id))
				lm[l.id], rm[r.id] = true, true
			}
		}
	}
	want["lefto"] = append([]string{}, want["inner"]...)
	want["fullo"] = append([]string{}, want["inner"]...)
	for _, l := range ls {
		if !lm[l.id] {
			want["lefto"] = append(want["lefto"], pair(l.id, ""))
			want["fullo"] = append(want["fullo"], pair(l.id, ""))
			want["anti"] = append(want["anti"], l.id)
		} else {
			want["semi"] = append(want["semi"], l.id)
		}
	}
	for _, r := range rs {
		if !rm[r.id] {
			want["fullo"] = append(want["fullo"], pair("", r.id))
		}
	}
	// window join: same 5 s tumbling window; late rows (window closed by
	// the source watermark) are dropped
	closed := func(xs []jrow, id string) bool {
		var max int64 = -1 << 62
		for _, x := range xs {
			if x.id == id {
				return (x.ts/5000+1)*5000 <= max-3000
			}
			max = maxI(max, x.ts)
		}
		return false
	}
	for _, l := range ls {
		if closed(ls, l.id) {
			continue
		}
		n := 0
		for _, r := range rs {
			if !l.null && !r.null && l.k == r.k && l.ts/5000 == r.ts/5000 && !closed(rs, r.id) {
				want["win"] = append(want["win"], pair(l.id, r.id))
				n++
			}
		}
		if n == 0 {
			want["win"] = append(want["win"], pair(l.id, ""))
		}
	}

	dir := t.TempDir()
	beamrt.ResetWatermarks()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := beamrt.Run(ctx, pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	str := func(v any) string {
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	}
	for _, n := range []string{"inner", "lefto", "fullo", "semi", "anti", "win"} {
		var got []string
		for _, r := range readJSONL(t, filepath.Join(dir, "out_"+n+".jsonl")) {
			if n == "semi" || n == "anti" {
				got = append(got, str(r["id"]))
				continue
			}
			got = append(got, pair(str(r["id"]), str(r["rid"])))
			// the pair's times are the rows' own
			if r["id"] != nil && r["lts"] == nil {
				t.Errorf("%s: %v has no left time", n, r)
			}
		}
		sort.Strings(got)
		w := want[n]
		sort.Strings(w)
		if strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("%s:\n got %d %v\nwant %d %v", n, len(got), got, len(w), w)
		}
	}
	if len(want["inner"]) < 10 || len(want["anti"]) < 3 || len(want["win"]) < 10 {
		t.Errorf("weak test data: %d inner pairs, %d anti rows", len(want["inner"]), len(want["anti"]))
	}
}

func maxI(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
