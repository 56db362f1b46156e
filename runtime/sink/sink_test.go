package sink

import (
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
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

// Every kind Kinds lists has a writer in New (the beam backend's check
// trusts the list), and Check refuses what New refuses for the spec's
// sake while assuming what the run supplies (secrets, urls, brokers).
func TestKindsDispatchAndCheck(t *testing.T) {
	for _, k := range Kinds() {
		err := Check(sinkNode(k, "", barType, nil, nil))
		if err != nil && strings.Contains(err.Error(), "has no runtime writer") {
			t.Errorf("kind %s listed but not dispatched: %v", k, err)
		}
	}
	if err := Check(sinkNode("solr", "", barType, nil, nil)); err == nil {
		t.Error("solr accepted")
	}
	vec := rtype.RecordOf(rtype.Field{Name: "id", Type: rtype.StringType}, rtype.Field{Name: "v", Type: rtype.ListOf(rtype.Float32Type)})
	for _, tc := range []struct {
		n    *ir.Node
		want string // "" accepted
	}{
		{sinkNode("qdrant", "", vec, []string{"id"}, map[string]any{"collection": "c", "vector": "v"}), ""},
		{sinkNode("qdrant", "", vec, []string{"id"}, map[string]any{"collection": "c", "vector": "v", "url": &ir.Secret{Name: "q", Key: "url"}}), ""},
		{sinkNode("qdrant", "", vec, []string{"id"}, map[string]any{"collection": "c", "vector": "v", "url": "http://q:6334"}), "gRPC port"},
		{sinkNode("postgres", "", barType, nil, map[string]any{"table": "t", "password": &ir.Secret{Name: "pg", Key: "pw"}}), ""},
		{sinkNode("postgres", "", barType, nil, map[string]any{"table": "t", "password": "literal"}), "secret reference"},
		{sinkNode("kafka", "", barType, nil, map[string]any{"topic": "t"}), ""},
		{sinkNode("mongodb", "", barType, nil, map[string]any{"database": "d", "collection": "c", "uri": &ir.Secret{Name: "m", Key: "uri"}}), ""},
		{sinkNode("s3", "parquet", barType, nil, map[string]any{"bucket": "b", "path": "p/", "partitionBy": []any{"symbol"}, "compression": "zstd"}), ""},
		{sinkNode("s3", "parquet", barType, nil, map[string]any{"bucket": "b", "path": "p/", "rollover": "1m"}), "rollover"},
		{sinkNode("file", "", barType, nil, map[string]any{"path": "/nonexistent/dir/out.jsonl"}), ""},
	} {
		err := Check(tc.n)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %v: %v, want %q", tc.n.Op.(*ir.Sink).Connector.Kind, tc.n.Op.(*ir.Sink).Connector.Options, err, tc.want)
		}
	}
}
