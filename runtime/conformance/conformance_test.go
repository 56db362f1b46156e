// Package conformance runs the documented cases of ../shared/conformance
// (rows copied into testdata, each case expressed as an rtsapc spec) on
// the Beam runtime — Prism with kfake — and compares the output rows with
// the documented ones (unordered unless the case says ordered).
package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/backends/beamgo"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/cuespec"
	"rtsap.dev/rtsapc/runtime/beamrt"
	"rtsap.dev/rtsapc/runtime/format"
)

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	dirs, err := filepath.Glob("testdata/*/spec.cue")
	if err != nil || len(dirs) == 0 {
		t.Fatal("no cases")
	}
	for _, spec := range dirs {
		dir := filepath.Dir(spec)
		t.Run(filepath.Base(dir), func(t *testing.T) { runCase(t, dir) })
	}
}

func runCase(t *testing.T, dir string) {
	abs, _ := filepath.Abs(dir)
	f, ds := cuespec.Load(&cuespec.Config{Dir: abs}, []string{"."})
	if ds.HasErrors() {
		t.Fatalf("load: %v", ds)
	}
	prog, cds := compiler.Compile(f, &compiler.Config{Check: true})
	if cds.HasErrors() {
		t.Fatalf("compile: %v", cds)
	}
	pl := prog.Pipelines[0]
	if ds := beamgo.Check(pl); ds.HasErrors() {
		t.Fatalf("beam check: %v", ds)
	}
	if _, err := os.Stat(filepath.Join(dir, "input.json")); os.IsNotExist(err) {
		// query_only upstream (no documented rows; TestEveryCaseHandled
		// checks the mark): compiled and checked, nothing to run.
		t.Logf("%s: no documented rows; compiled and checked only", filepath.Base(dir))
		return
	}
	var input []json.RawMessage
	readJSON(t, filepath.Join(dir, "input.json"), &input)
	// A case over several tables labels each row with "_table": the source
	// of that name reads it, without the label.
	topics := map[string]string{}
	var all []string
	for _, s := range pl.Sources() {
		tp := beamrt.Topic(&s.Op.(*ir.Source).Connector)
		topics[s.Name] = tp
		all = append(all, tp)
	}
	topic := all[0]
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, all...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range input {
		var lab map[string]any
		d := json.NewDecoder(bytes.NewReader(r))
		d.UseNumber()
		_ = d.Decode(&lab)
		to := topic
		if tb, ok := lab["_table"].(string); ok && len(topics) > 1 {
			if to, ok = topics[tb]; !ok {
				t.Fatalf("input row %d: no source named %q", i, tb)
			}
			delete(lab, "_table")
			if r, err = json.Marshal(lab); err != nil {
				t.Fatal(err)
			}
		}
		// Kafka timestamps order the rows for sources without event time.
		rec := &kgo.Record{Topic: to, Value: r, Timestamp: base.Add(time.Duration(i) * time.Millisecond)}
		if err := cl.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	beamrt.ResetWatermarks()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := beamrt.Run(ctx, pl, beamrt.Options{Brokers: c.ListenAddrs()[0], Bounded: true, OutDir: out, StartOffset: "earliest"}); err != nil {
		t.Fatal(err)
	}
	sink := pl.Sinks()[0]
	got := readJSONL(t, filepath.Join(out, beamrt.SinkFileName(sink)))
	var want []map[string]any
	readJSON(t, filepath.Join(dir, "expected.json"), &want)
	var caseMeta struct {
		Ordered bool `json:"ordered"`
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "conformance", "cases", filepath.Base(dir), "case.json")); err == nil {
		_ = json.Unmarshal(b, &caseMeta)
	}
	gotK, wantK := canon(t, got, want), canon(t, want, want)
	if !caseMeta.Ordered {
		sort.Strings(gotK)
		sort.Strings(wantK)
	}
	if strings.Join(gotK, "\n") != strings.Join(wantK, "\n") {
		t.Errorf("rows differ\ngot:\n  %s\nwant:\n  %s", strings.Join(gotK, "\n  "), strings.Join(wantK, "\n  "))
	}
}

// canon renders each row's documented columns canonically: timestamps as
// instants, numbers by value (decimal text normalized), labels (_x)
// dropped.
func canon(t *testing.T, rows, like []map[string]any) []string {
	var cols []string
	if len(like) > 0 {
		for k := range like[0] {
			if !strings.HasPrefix(k, "_") {
				cols = append(cols, k)
			}
		}
	}
	sort.Strings(cols)
	var out []string
	for _, r := range rows {
		var parts []string
		for _, c := range cols {
			parts = append(parts, c+"="+canonValue(r[c]))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func canonValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case json.Number:
		return canonNumber(x.String())
	case float64:
		return canonNumber(fmt.Sprint(x))
	case string:
		if ts, err := format.ParseTime(x); err == nil && strings.ContainsAny(x, "-:") && len(x) >= 10 {
			return ts.UTC().Format(time.RFC3339Nano)
		}
		if d, _, err := apd.NewFromString(x); err == nil {
			return canonNumber(d.Text('f'))
		}
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v)
}

func canonNumber(s string) string {
	d, _, err := apd.NewFromString(s)
	if err != nil {
		return s
	}
	r, _ := d.Reduce(d)
	return "#" + r.Text('f')
}

func readJSON(t *testing.T, path string, v any) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readJSONL(t *testing.T, path string) []map[string]any {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}
