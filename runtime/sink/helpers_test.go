package sink

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// sinkNode builds a sink node as the compiler would (options sorted by key).
func sinkNode(kind, format string, out *rtype.Type, key []string, opts map[string]any) *ir.Node {
	c := ir.Connector{Kind: kind, Format: format}
	for k, v := range opts {
		c.Options = append(c.Options, ir.Option{Key: k, Value: v})
	}
	sort.Slice(c.Options, func(i, j int) bool { return c.Options[i].Key < c.Options[j].Key })
	return &ir.Node{ID: 2, Name: "store", Op: &ir.Sink{Connector: c, Key: key}, Inputs: []ir.NodeID{1}, Out: out}
}

func dec(t testing.TB, s string) *apd.Decimal {
	t.Helper()
	d, _, err := apd.NewFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ts(t testing.TB, s string) time.Time {
	t.Helper()
	x, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return x.UTC()
}

// barType is an aggregate's output: window, key, decimal and int measures.
var barType = rtype.RecordOf(
	rtype.Field{Name: "window_start", Type: rtype.TimestampMillis},
	rtype.Field{Name: "window_end", Type: rtype.TimestampMillis},
	rtype.Field{Name: "symbol", Type: rtype.StringType},
	rtype.Field{Name: "vwap", Type: rtype.DecimalOf(18, 6), Nullable: true},
	rtype.Field{Name: "volume", Type: rtype.Int64Type},
)

// allType has a column of every kind, nullable ones included.
var allType = rtype.RecordOf(
	rtype.Field{Name: "id", Type: rtype.Int64Type},
	rtype.Field{Name: "s", Type: rtype.StringType, Nullable: true},
	rtype.Field{Name: "b", Type: rtype.BoolType},
	rtype.Field{Name: "i32", Type: rtype.Int32Type},
	rtype.Field{Name: "f32", Type: rtype.Float32Type},
	rtype.Field{Name: "f64", Type: rtype.Float64Type},
	rtype.Field{Name: "d", Type: rtype.DecimalOf(38, 10)},
	rtype.Field{Name: "dsmall", Type: rtype.DecimalOf(9, 2), Nullable: true},
	rtype.Field{Name: "t6", Type: rtype.TimestampOf(6)},
	rtype.Field{Name: "day", Type: rtype.DateType},
	rtype.Field{Name: "raw", Type: rtype.BytesType},
	rtype.Field{Name: "dur", Type: rtype.DurationType},
	rtype.Field{Name: "prices", Type: rtype.ListOf(rtype.DecimalOf(10, 2))},
	rtype.Field{Name: "tags", Type: rtype.MapOf(rtype.StringType)},
	rtype.Field{Name: "quote", Type: rtype.RecordOf(
		rtype.Field{Name: "bid", Type: rtype.DecimalOf(12, 4)},
		rtype.Field{Name: "at", Type: rtype.TimestampOf(9), Nullable: true},
	), Nullable: true},
)

func allRow(t testing.TB, id int64) row.Row {
	return row.Row{
		id,
		"it's \"quoted\"\nline2 ünï 价格",
		true,
		int32(-7),
		float32(1.5),
		0.1,
		dec(t, "-12345678901234567890123456.0123456789"),
		nil,
		ts(t, "2026-11-26T09:30:00.123456Z"),
		ts(t, "1969-07-20T00:00:00Z"),
		[]byte{0, 1, 2, 0xff},
		90 * time.Second,
		[]any{dec(t, "1.5"), nil, dec(t, "-0.01")},
		map[string]any{"venue": "XNYS", "b": "x"},
		row.Row{dec(t, "99.1"), ts(t, "2026-11-26T09:30:00.123456789Z")},
	}
}

// sharedFile reads ../shared/<rel> next to the repository, skipping loudly
// when it is absent.
func sharedFile(t testing.TB, rel string) []byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("SHARED FILE %s UNAVAILABLE: no go.mod above the test directory", rel)
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, "..", "shared", rel))
	if err != nil {
		t.Skipf("SHARED FILE UNAVAILABLE: %v (expected ../shared next to the repository)", err)
	}
	return b
}

func hostileNames(t testing.TB) []string {
	var names []string
	if err := json.Unmarshal(sharedFile(t, "hostile/names.json"), &names); err != nil {
		t.Fatal(err)
	}
	return names
}

func hostileStrings(t testing.TB) []string {
	var strs []string
	if err := json.Unmarshal(sharedFile(t, "hostile/strings.json"), &strs); err != nil {
		t.Fatal(err)
	}
	return strs
}

func rtypeStringRecord() *rtype.Type {
	return rtype.RecordOf(rtype.Field{Name: "i", Type: rtype.Int64Type}, rtype.Field{Name: "s", Type: rtype.StringType})
}
