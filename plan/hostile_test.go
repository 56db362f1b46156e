package plan_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/plan/target/dir"
)

// Hostile names and strings (../shared/hostile) in addresses, values and
// file contents never reach the terminal raw: every line of the human view
// is one line, with no control characters, and the JSON view decodes.
func TestHostileNamesInViews(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	dirp := filepath.Join(filepath.Dir(file), "..", "..", "shared", "hostile")
	var names, strs []string
	for f, into := range map[string]*[]string{"names.json": &names, "strings.json": &strs} {
		data, err := os.ReadFile(filepath.Join(dirp, f))
		if err != nil {
			t.Skipf("SKIPPED: hostile corpus not found at %s: %v", dirp, err)
		}
		if err := json.Unmarshal(data, into); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t)
	e.targets["mem"] = &memTarget{m: map[string]map[string]any{}}
	var desired []*target.Resource
	seen := map[string]bool{}
	for i, n := range append(names, strs...) {
		if seen[n] {
			continue
		}
		seen[n] = true
		body := map[string]any{"value": n, n: "key"}
		desired = append(desired, &target.Resource{Addr: plan.TopicAddr(n), Target: "mem", Type: "topic", Name: n, Pipeline: n, Stage: target.Config, Body: body})
		if i < 40 {
			desired = append(desired, dir.Resource(filepathSafe(i), []byte("a\n"+n+"\nb\n"), n, target.Config))
		}
	}
	p := e.plan(desired, &plan.JobGraph{Pipeline: names[len(names)-1], Nodes: []*plan.JobNode{{Name: strs[0], Op: "aggregate", Stateful: true}}})
	e.apply(p)
	for i := range desired {
		if b, ok := desired[i].Body["value"]; ok {
			desired[i].Body["value"] = b.(string) + "\x1b[31m\r\n"
		} else {
			desired[i].Body = dir.Body([]byte("a\n\x1b]0;pwned\x07" + desired[i].Name + "\nb\n"))
		}
	}
	p = e.plan(desired)
	var h, j bytes.Buffer
	plan.WriteHuman(&h, p, plan.HumanOptions{})
	plan.WriteJSON(&j, p)
	for _, line := range strings.Split(h.String(), "\n") {
		for _, r := range line {
			if r < 0x20 && r != '\t' || r == 0x7f {
				t.Fatalf("control character %U in human view line %q", r, line)
			}
		}
	}
	var v map[string]any
	if err := json.Unmarshal(j.Bytes(), &v); err != nil {
		t.Fatalf("JSON view does not decode: %v", err)
	}
	if !strings.Contains(h.String(), `\u001b]0;pwned\u0007`) {
		t.Errorf("escaped file content not shown")
	}
}

func filepathSafe(i int) string {
	return "hostile/f" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".txt"
}
