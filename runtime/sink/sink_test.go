package sink

import (
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1d": 24 * time.Hour, "1.5d": 36 * time.Hour, "1d12h": 36 * time.Hour, "90s": 90 * time.Second,
		"250ms": 250 * time.Millisecond, "1h30m": 90 * time.Minute, "7d": 7 * 24 * time.Hour,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "1", "1x", "1d ", " 1d", "1d-1h", "99999999999999d"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestNewRefusals(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Error("nil node accepted")
	}
	if _, err := New(&ir.Node{Name: "f", Op: &ir.Filter{}, Out: barType}, Options{}); err == nil || !strings.Contains(err.Error(), "not a sink") {
		t.Errorf("filter node: %v", err)
	}
	_, err := New(sinkNode("cassandra", "", barType, nil, nil), Options{})
	if err == nil || !strings.Contains(err.Error(), `"cassandra" has no runtime writer`) {
		t.Errorf("cassandra: %v", err)
	}
	for _, tc := range []struct {
		kind, format string
		key          []string
		opts         map[string]any
		want         string
	}{
		{"file", "", nil, nil, "path option is required"},
		{"file", "xml", nil, map[string]any{"path": "x"}, `format "xml"`},
		{"file", "", []string{"symbol"}, map[string]any{"path": "x.jsonl"}, "cannot upsert"},
		{"file", "csv", nil, map[string]any{"path": "x.csv", "header": false}, "without a header"},
		{"stdout", "yaml", nil, nil, `format "yaml"`},
	} {
		_, err := New(sinkNode(tc.kind, tc.format, barType, tc.key, tc.opts), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: err = %v, want %q", tc.kind, tc.opts, err, tc.want)
		}
	}
}
