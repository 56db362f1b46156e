package beamrt

import (
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/sink/filesink"
)

// unescapePartition inverts the writer's filesink.EscapePartition on every
// byte and on hostile text, so the copy cannot drift from the writer; a
// '%' without two hex digits is kept, as Hive keeps it.
func TestUnescapePartition(t *testing.T) {
	var all strings.Builder
	for b := 0; b < 256; b++ {
		all.WriteByte(byte(b))
	}
	for _, s := range []string{all.String(), "", "a=b%c:d?e#f\x01\x7f'\"*\\{[]^ ü../", "%41", "价格\xff\xfe", "__HIVE_DEFAULT_PARTITION__", "\u2028\u2029"} {
		esc := filesink.EscapePartition(s)
		if strings.ContainsAny(esc, "/=") {
			t.Errorf("escape of %q keeps a separator: %q", s, esc)
		}
		if got := unescapePartition(esc); got != s {
			t.Errorf("unescape(escape(%q)) = %q", s, got)
		}
	}
	for in, want := range map[string]string{"100%": "100%", "%zz%4": "%zz%4", "%4a%4A": "JJ", "%": "%"} {
		if got := unescapePartition(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// Each kind converts the writer's filesink.PartitionValue text back to the
// value; bad texts are errors.
func TestPartitionValueRoundTrip(t *testing.T) {
	dec := func(s string) *apd.Decimal { d, _, _ := apd.NewFromString(s); return d }
	for _, tc := range []struct {
		t *rtype.Type
		v any
	}{
		{rtype.StringType, "a b/c"},
		{rtype.Int32Type, int32(-2147483648)},
		{rtype.Int64Type, int64(9223372036854775807)},
		{rtype.BoolType, true},
		{rtype.BoolType, false},
		{rtype.DateType, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)},
		{rtype.DecimalOf(10, 2), dec("-0.50")},
		{rtype.DecimalOf(38, 0), dec("12345678901234567890123456789012345678")},
		{rtype.TimestampOf(9), time.Date(2026, 11, 26, 9, 30, 1, 123456789, time.UTC)},
		{rtype.TimestampOf(3), time.Date(2026, 11, 26, 9, 30, 1, 5e8, time.UTC)},
		{rtype.TimestampOf(0), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		text, err := filesink.PartitionValue(tc.t, tc.v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := partitionValue(rtype.Field{Name: "f", Type: tc.t}, partValue{text: text, ok: true})
		if err != nil {
			t.Errorf("%s %q: %v", tc.t, text, err)
			continue
		}
		same := false
		switch w := tc.v.(type) {
		case *apd.Decimal:
			g := got.(*apd.Decimal)
			same = g.Cmp(w) == 0 && g.Exponent == w.Exponent
		case time.Time:
			same = got.(time.Time).Equal(w) && got.(time.Time).Location() == time.UTC
		default:
			same = got == tc.v
		}
		if !same {
			t.Errorf("%s %q: got %#v, want %#v", tc.t, text, got, tc.v)
		}
	}
	for _, tc := range []struct {
		t    *rtype.Type
		text string
	}{
		{rtype.Int32Type, "2147483648"}, {rtype.Int64Type, "1.0"}, {rtype.Int64Type, ""},
		{rtype.BoolType, "1"}, {rtype.BoolType, "TRUE"},
		{rtype.DateType, "2026-02-30"}, {rtype.DateType, "2026-1-2"},
		{rtype.DecimalOf(4, 2), "1.234"}, {rtype.DecimalOf(4, 2), "123.4"}, {rtype.DecimalOf(4, 2), "NaN"}, {rtype.DecimalOf(4, 2), "Infinity"},
		{rtype.TimestampOf(3), "2026-11-26 09:30:01.1234"}, {rtype.TimestampOf(3), "2026-11-26T09:30:01"},
		{rtype.TimestampOf(3), "2026-11-26 09:30:01+01:00"},
		{rtype.Float64Type, "1.5"},
	} {
		if v, err := partitionValue(rtype.Field{Name: "f", Type: tc.t}, partValue{text: tc.text, ok: true}); err == nil {
			t.Errorf("%s %q: got %#v, want an error", tc.t, tc.text, v)
		}
	}
	if v, err := partitionValue(rtype.Field{Name: "f", Type: rtype.Int64Type, Nullable: true}, partValue{}); v != nil || err != nil {
		t.Errorf("null into a nullable field: %v %v", v, err)
	}
	if _, err := partitionValue(rtype.Field{Name: "f", Type: rtype.Int64Type}, partValue{}); err == nil {
		t.Error("null into a required field: no error")
	}
}

// Keys below the source path: an S3 prefix counts from its last '/', a
// single file has none, and a column named twice must agree.
func TestPartitionSegments(t *testing.T) {
	for _, tc := range []struct {
		kind, path, name, want string
	}{
		{"s3", "/tbl/", "tbl/a=1/b=%2F/f.parquet", "a=1/b=%2F/f.parquet"},
		{"s3", "tbl/a=1", "tbl/a=1/f.parquet", "a=1/f.parquet"},
		{"s3", "", "a=1/f.parquet", "a=1/f.parquet"},
		{"file", "/d", "/d/a=1/f.jsonl", "a=1/f.jsonl"},
		{"file", "/d/f.jsonl", "/d/f.jsonl", ""},
	} {
		if got := partitionRel(tc.kind, tc.path, tc.name); got != tc.want {
			t.Errorf("partitionRel(%q, %q, %q) = %q, want %q", tc.kind, tc.path, tc.name, got, tc.want)
		}
	}
	segs, err := partitionSegments("x/a=1/b=%2F%3D/c=__HIVE_DEFAULT_PARTITION__/%41=2/d=e=f/f.parquet")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]partValue{"a": {"1", true}, "b": {"/=", true}, "c": {}, "A": {"2", true}, "d": {"e=f", true}}
	if len(segs) != len(want) {
		t.Errorf("segments %v, want %v", segs, want)
	}
	for k, v := range want {
		if segs[k] != v {
			t.Errorf("segment %q = %v, want %v", k, segs[k], v)
		}
	}
	if segs, _ := partitionSegments("a=1.parquet"); len(segs) != 0 {
		t.Errorf("the file name is not a directory: %v", segs)
	}
	if _, err := partitionSegments("a=1/a=2/f"); err == nil {
		t.Error("a column with two values: no error")
	}
	if _, err := partitionSegments("a=1/a=1/f"); err != nil {
		t.Error(err)
	}
}
