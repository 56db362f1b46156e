package encode

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/hamba/avro/v2"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

func dec(t *testing.T, s string) *apd.Decimal {
	d, _, err := apd.NewFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestUnscaled(t *testing.T) {
	for _, tc := range []struct {
		in   string
		p, s int
		want string // unscaled, or error substring
	}{
		{"12.5", 18, 6, "12500000"},
		{"-0.01", 10, 2, "-1"},
		{"1.2300", 10, 2, "123"}, // trailing zeros may go
		{"1.234", 10, 2, "more than 2 fractional digits"},
		{"123456789", 10, 2, "more than 10 digits"},
		{"12345678", 10, 2, "1234567800"},
		{"0", 38, 10, "0"},
		{"-99999999999999999999999999999999999999", 38, 0, "-99999999999999999999999999999999999999"},
		{"1E+3", 6, 1, "10000"},
		{"NaN", 10, 2, "no value"},
	} {
		u, err := Unscaled(dec(t, tc.in), tc.p, tc.s)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = u.String()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("Unscaled(%s, %d, %d) = %s, want %s", tc.in, tc.p, tc.s, got, tc.want)
		}
	}
}

func TestTimeText(t *testing.T) {
	ts := time.Date(1969, 12, 31, 23, 59, 59, 5e8, time.FixedZone("X", 3600))
	for p, want := range map[int]string{0: "", 1: "1969-12-31T22:59:59.5Z", 3: "1969-12-31T22:59:59.500Z", 9: "1969-12-31T22:59:59.500000000Z"} {
		got, err := TimeText(ts, p)
		if p == 0 {
			if err == nil {
				t.Errorf("p=0: %s accepted", got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("TimeText(p=%d) = %s, %v; want %s", p, got, err, want)
		}
	}
}

// The direct Avro encoder's bytes decode with hamba/avro to the same
// values, at the edges of two's complement and before the epoch.
func TestAvroBinaryDecodesWithHamba(t *testing.T) {
	rec := rtype.RecordOf(
		rtype.Field{Name: "d", Type: rtype.DecimalOf(10, 2)},
		rtype.Field{Name: "ts", Type: rtype.TimestampOf(3), Nullable: true},
		rtype.Field{Name: "us", Type: rtype.TimestampOf(6)},
		rtype.Field{Name: "day", Type: rtype.DateType},
		rtype.Field{Name: "m", Type: rtype.MapOf(rtype.Int64Type)},
		rtype.Field{Name: "l", Type: rtype.ListOf(rtype.Float32Type)},
		rtype.Field{Name: "n", Type: rtype.RecordOf(rtype.Field{Name: "x", Type: rtype.Int32Type}), Nullable: true},
	)
	js, err := AvroSchema(rec, "")
	if err != nil {
		t.Fatal(err)
	}
	schema := avro.MustParse(js)
	bin, err := NewAvroBinary(rec)
	if err != nil {
		t.Fatal(err)
	}
	pre := time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
	for _, d := range []string{"0", "1.27", "1.28", "-1.28", "-1.29", "327.67", "-327.68", "-0.01", "99999999.99", "-99999999.99"} {
		r := row.Row{dec(t, d), nil, pre.Add(-999 * time.Millisecond).Truncate(time.Microsecond), time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
			map[string]any{"b": int64(-1), "a": int64(1 << 40)}, []any{float32(-1.5)}, row.Row{int32(-7)}}
		if d == "0" {
			r[1], r[6] = pre, nil
		}
		b, err := bin.Append(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		if err := avro.Unmarshal(schema, b, &m); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		want, _ := new(big.Rat).SetString(d)
		if m["d"].(*big.Rat).Cmp(want) != 0 {
			t.Errorf("decimal %s decoded as %s", d, m["d"].(*big.Rat).FloatString(2))
		}
		if got := m["us"].(time.Time); !got.Equal(r[2].(time.Time)) {
			t.Errorf("us = %v, want %v", got, r[2])
		}
		if got := m["day"].(time.Time); !got.Equal(r[3].(time.Time)) {
			t.Errorf("day = %v", got)
		}
		if mm := m["m"].(map[string]any); mm["a"] != int64(1<<40) || mm["b"] != int64(-1) {
			t.Errorf("m = %v", mm)
		}
		if d == "0" {
			if got, _ := m["ts"].(time.Time); !got.Equal(pre) || m["n"] != nil {
				t.Errorf("ts = %v, n = %v", m["ts"], m["n"])
			}
		} else if n, _ := m["n"].(map[string]any)["rec1"].(map[string]any); m["ts"] != nil || fmt.Sprint(n["x"]) != "-7" {
			t.Errorf("ts = %v, n = %v", m["ts"], m["n"])
		}
	}
}

// The fast decimal path agrees with the exact one.
func TestAppendDecimalMatchesDecimalText(t *testing.T) {
	for _, in := range []string{"0", "-0", "0.00", "-0.00", "1.50", "-1.50", "0.05", "-0.05", "123456.000001", "999999999999999999",
		"-999999999999999.999", "1.5", "12", "1E+2", "100.00"} {
		for _, ps := range [][2]int{{18, 2}, {18, 0}, {20, 3}, {4, 2}, {38, 6}} {
			d := dec(t, in)
			want, werr := DecimalText(d, ps[0], ps[1])
			got, gerr := AppendDecimal(nil, d, ps[0], ps[1])
			if (werr == nil) != (gerr == nil) || (werr == nil && string(got) != want) {
				t.Errorf("%s as decimal(%d,%d): fast %q %v, exact %q %v", in, ps[0], ps[1], got, gerr, want, werr)
			}
		}
	}
}

// The JSON string escaper agrees with encoding/json on hostile strings.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", "say \"hi\"", "a\nb\tc\r", "\x00\x1f\x7f", "<script>&</script>", "\u2028\u2029",
		"价格 ünï 📈", "bad\xffutf8\xc3", "back\\slash", "rtl\u202eevil"} {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
}
