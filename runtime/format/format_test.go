package format

import (
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

var tradeT = rtype.RecordOf(
	rtype.Field{Name: "symbol", Type: rtype.StringType},
	rtype.Field{Name: "price", Type: rtype.DecimalOf(18, 6)},
	rtype.Field{Name: "size", Type: rtype.Int64Type},
	rtype.Field{Name: "ts", Type: rtype.TimestampMillis},
	rtype.Field{Name: "cond", Type: rtype.StringType, Nullable: true},
	rtype.Field{Name: "tags", Type: rtype.ListOf(rtype.StringType), Nullable: true},
)

func TestJSONDecode(t *testing.T) {
	d := NewJSONDecoder(tradeT)
	r, err := d.Decode([]byte(`{"symbol":"AAPL","price":"228.5","size":100,"ts":"2026-11-26T14:30:00.125Z","extra":{"x":[1]},"tags":["a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if r[0] != "AAPL" || r[1].(*apd.Decimal).Text('f') != "228.500000" || r[2] != int64(100) ||
		!r[3].(time.Time).Equal(time.UnixMilli(1795703400125)) || r[4] != nil || len(r[5].([]any)) != 1 {
		t.Errorf("decoded %#v", r)
	}
	for _, tc := range []struct{ in, err string }{
		{`{"symbol":"A","price":1,"size":1}`, `field "ts" is missing`},
		{`{"symbol":1,"price":1,"size":1,"ts":0}`, `field "symbol": want string`},
		{`{"symbol":"A","price":"x","size":1,"ts":0}`, `field "price": want decimal(18,6)`},
		{`{"symbol":"A","price":1,"size":1.5,"ts":0}`, `field "size"`},
		{`{"symbol":"A","price":1,"size":1,"ts":0} trailing`, `trailing data`},
		{`not json`, `JSON`},
		{`[1]`, `expected a JSON object`},
		{``, `malformed JSON`},
	} {
		if _, err := d.Decode([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want %q", tc.in, err, tc.err)
		}
	}
}

func FuzzJSONDecode(f *testing.F) {
	f.Add([]byte(`{"symbol":"A","price":1,"size":1,"ts":0}`))
	d := NewJSONDecoder(tradeT)
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = d.Decode(b) })
}

func TestAvroRoundTrip(t *testing.T) {
	c, err := NewAvroDecoder(tradeT)
	if err != nil {
		t.Fatal(err)
	}
	in := row.Row{"AAPL", apd.New(228500000, -6), int64(100), time.UnixMilli(1795703400125).UTC(), nil, []any{"a", "b"}}
	b, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if row.Key(in) != row.Key(out) {
		t.Errorf("round trip: %#v → %#v", in, out)
	}
	if _, err := c.Decode(b[:len(b)/2]); err == nil {
		t.Errorf("truncated Avro decoded without error")
	}
}

func TestRowCodec(t *testing.T) {
	in := row.Row{nil, "s", true, int32(-3), int64(1 << 40), float32(1.5), 2.25, apd.New(-12345, -2),
		time.Unix(1, 5).UTC(), []byte{0, 1}, []any{int64(1), "x"}, map[string]any{"k": 1.5}, row.Row{"nested"}, 5 * time.Second}
	out, rest, err := row.Decode(row.Encode(nil, in))
	if err != nil || len(rest) != 0 || row.Key(in) != row.Key(out) {
		t.Fatalf("round trip: %v %v %#v", err, rest, out)
	}
	for i := range in {
		if b := row.Encode(nil, in); true {
			if _, _, err := row.Decode(b[:i]); err == nil && i > 0 {
				t.Errorf("truncated at %d decoded", i)
			}
		}
	}
}
