package conformance

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// notExpressedFile lists the upstream cases that have no testdata case,
// one per line: the case name, whitespace, then the exact reason. Lines
// starting with # are comments.
const notExpressedFile = "testdata/NOT_EXPRESSED.txt"

// sharedCases returns ../shared/conformance/cases next to the repository
// root (found by walking up to go.mod), skipping loudly when absent.
func sharedCases(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(d, "..", "shared", "conformance", "cases")
			if st, err := os.Stat(c); err == nil && st.IsDir() {
				return filepath.Clean(c)
			}
			break
		}
		p := filepath.Dir(d)
		if p == d {
			break
		}
		d = p
	}
	t.Skip("SKIPPING: ../shared/conformance/cases not found next to the repository; the conformance coverage guard is NOT run")
	return ""
}

// readNotExpressed parses notExpressedFile into case → reason.
func readNotExpressed(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(notExpressedFile)
	if err != nil {
		t.Fatalf("%s: %v", notExpressedFile, err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			name, reason = line[:i], strings.TrimSpace(line[i:])
		}
		if reason == "" {
			t.Errorf("%s:%d: case %q has no reason", notExpressedFile, ln, name)
		}
		if _, dup := out[name]; dup {
			t.Errorf("%s:%d: case %q listed twice", notExpressedFile, ln, name)
		}
		out[name] = reason
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryCaseHandled fails when an upstream conformance case has neither
// a testdata case (spec.cue) nor an entry in NOT_EXPRESSED.txt, when an
// entry or testdata case names no upstream case, when a case is both, and
// when the rows in testdata are not the upstream rows.
func TestEveryCaseHandled(t *testing.T) {
	cases := sharedCases(t)
	ents, err := os.ReadDir(cases)
	if err != nil {
		t.Fatal(err)
	}
	upstream := map[string]bool{}
	for _, e := range ents {
		if e.IsDir() {
			upstream[e.Name()] = true
		}
	}
	if len(upstream) == 0 {
		t.Fatalf("no cases in %s", cases)
	}
	notExp := readNotExpressed(t)
	local := map[string]bool{}
	specs, _ := filepath.Glob("testdata/*/spec.cue")
	for _, s := range specs {
		local[filepath.Base(filepath.Dir(s))] = true
	}
	dirs, _ := os.ReadDir("testdata")
	for _, d := range dirs {
		if d.IsDir() && !local[d.Name()] {
			t.Errorf("testdata/%s has no spec.cue", d.Name())
		}
	}
	var names []string
	for n := range upstream {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		_, listed := notExp[n]
		switch {
		case local[n] && listed:
			t.Errorf("case %s has testdata/%s and is listed in %s; remove the entry", n, n, notExpressedFile)
		case local[n]:
			checkRows(t, filepath.Join(cases, n), filepath.Join("testdata", n))
		case listed:
			t.Logf("not expressed: %s: %s", n, notExp[n])
		default:
			t.Errorf("upstream conformance case %s is not handled: express it as testdata/%s/spec.cue (with input.json and expected.json copied from the case) or list it in %s with the exact reason", n, n, notExpressedFile)
		}
	}
	for n := range local {
		if !upstream[n] {
			t.Errorf("testdata/%s names no case of %s", n, cases)
		}
	}
	for n := range notExp {
		if !upstream[n] {
			t.Errorf("%s lists %s, which is no case of %s", notExpressedFile, n, cases)
		}
	}
}

// checkRows requires the testdata rows to be the documented rows (equal as
// JSON), and a case without documented rows to be marked query_only.
func checkRows(t *testing.T, up, local string) {
	t.Helper()
	var meta struct {
		QueryOnly bool `json:"query_only"`
	}
	if b, err := os.ReadFile(filepath.Join(up, "case.json")); err != nil {
		t.Errorf("%s: %v", up, err)
	} else if err := json.Unmarshal(b, &meta); err != nil {
		t.Errorf("%s/case.json: %v", up, err)
	}
	for _, f := range []string{"input.json", "expected.json"} {
		ub, uerr := os.ReadFile(filepath.Join(up, f))
		lb, lerr := os.ReadFile(filepath.Join(local, f))
		switch {
		case uerr != nil && lerr != nil:
			if !meta.QueryOnly {
				t.Errorf("%s has no %s and is not query_only", up, f)
			}
		case uerr != nil:
			t.Errorf("%s/%s: the case documents no such rows", local, f)
		case lerr != nil:
			t.Errorf("%s/%s missing: copy it from %s", local, f, up)
		default:
			var u, l any
			if json.Unmarshal(ub, &u) != nil || json.Unmarshal(lb, &l) != nil || !reflect.DeepEqual(u, l) {
				t.Errorf("%s/%s differs from the documented rows in %s", local, f, up)
			}
		}
	}
}
