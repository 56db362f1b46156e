package rtype

import (
	"errors"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	for _, s := range []string{
		"string", "bool", "int32", "int64", "float32", "float64", "decimal(18,6)", "decimal(38,0)",
		"timestamp(3)", "timestamp(9)", "timestamp(0)", "date", "bytes", "list<int64>",
		"map<string,decimal(10,2)>", "list<map<string,list<string>>>",
	} {
		ty, err := Parse(s)
		if err != nil {
			t.Errorf("Parse(%q): %v", s, err)
			continue
		}
		if got := ty.String(); got != s {
			t.Errorf("Parse(%q).String() = %q", s, got)
		}
	}
}

func TestParseSpacesAndDefaults(t *testing.T) {
	ty, err := Parse(" decimal( 18 , 6 ) ")
	if err != nil || ty.String() != "decimal(18,6)" {
		t.Fatalf("got %v, %v", ty, err)
	}
	ty, err = Parse("timestamp")
	if err != nil || !Identical(ty, TimestampMillis) {
		t.Fatalf("timestamp alone: got %v, %v", ty, err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		in     string
		offset int
		msg    string
	}{
		{"strng", 0, `unknown type "strng"`},
		{"double", 0, `did you mean "float64"?`},
		{"decimal(18)", 10, `expected ","`},
		{"decimal(40,2)", 8, "precision must be between 1 and 38"},
		{"decimal(5,6)", 10, "scale 6 exceeds precision 5"},
		{"timestamp(12)", 10, "between 0 and 9"},
		{"map<int64,string>", 4, "map keys must be string"},
		{"list<int64", 10, `expected ">"`},
		{"", 0, "missing type"},
		{"int64 x", 6, "unexpected"},
		{"list<>", 5, "unexpected"},
	} {
		_, err := Parse(c.in)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q): want ParseError, got %v", c.in, err)
			continue
		}
		if pe.Offset != c.offset {
			t.Errorf("Parse(%q): offset %d, want %d (%s)", c.in, pe.Offset, c.offset, pe.Msg)
		}
		if !contains(pe.Msg, c.msg) {
			t.Errorf("Parse(%q): msg %q lacks %q", c.in, pe.Msg, c.msg)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestAssignable(t *testing.T) {
	d := func(p, s int) *Type { return DecimalOf(p, s) }
	for _, c := range []struct {
		v, t *Type
		ok   bool
	}{
		{Int32Type, Int64Type, true},
		{Int64Type, Int32Type, false},
		{Float32Type, Float64Type, true},
		{Int64Type, d(18, 0), false},
		{Int64Type, d(19, 0), true},
		{d(18, 6), d(20, 6), true},
		{d(18, 6), d(18, 4), false},
		{d(18, 6), d(18, 8), false}, // integer digits shrink from 12 to 10
		{TimestampOf(3), TimestampOf(6), true},
		{TimestampOf(6), TimestampOf(3), false},
		{ListOf(Int32Type), ListOf(Int64Type), true},
		{StringType, BytesType, false},
		{RecordOf(Field{Name: "a", Type: Int32Type, Nullable: true}), RecordOf(Field{Name: "a", Type: Int64Type}), false},
		{RecordOf(Field{Name: "a", Type: Int32Type}), RecordOf(Field{Name: "a", Type: Int64Type, Nullable: true}), true},
	} {
		if got := AssignableTo(c.v, c.t); got != c.ok {
			t.Errorf("AssignableTo(%s, %s) = %v, want %v", c.v, c.t, got, c.ok)
		}
	}
}

func TestRecordStringQuotesHostileNames(t *testing.T) {
	r := RecordOf(Field{Name: "ok_name", Type: Int64Type}, Field{Name: "sp ace\n\"q\"", Type: StringType, Nullable: true})
	want := `record<ok_name: int64, "sp ace\n\"q\""?: string>`
	if got := r.String(); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"decimal(18,6)", "list<map<string,int64>>", "timestamp(", "map<", "decimal(1,", "))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ty, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(ty.String())
		if err != nil || !Identical(ty, again) {
			t.Fatalf("round trip of %q via %q failed: %v", s, ty.String(), err)
		}
	})
}
