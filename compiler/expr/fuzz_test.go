package expr

import (
	"strings"
	"testing"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// FuzzCheckExpr checks arbitrary text in the four kinds of scope. No input
// may panic; a clean result must be a fully typed tree whose positions lie
// inside the string; every problem must be an error with a registered code
// and a position inside the string.
func FuzzCheckExpr(f *testing.F) {
	for _, s := range []string{
		"venue != 'DARK' && size > 0", "sum(price * size) / sum(size)", "row['bid price'] * 2.0",
		"has(row.cond) ? cond : 'none'", "ts + duration('5m') > ts", "decimal(size, 10, 2)",
		"B.price > last(A.price, 1) * 1.02", "left.price - right.price", "size in [1, 2, 3]",
		"[1,2].all(x, x > 0)", "{'a': 1}['a']", "date_trunc('minute', ts)", "coalesce(cond, null, 'x')",
		"-price", "!(size > 0)", "size = 2", "'unterminated", "f(", "price.x.y", "row[1]", "A",
		"count() + count(cond)", "top(price, 0)", "sum(sum(size))", "duration(cond)", "1/0", "b'\\xff' == b'a'",
		"timestamp('2024-01-01T00:00:00Z') < ts", "round(price, 2) >= 1.005", "size % 3 == 1",
	} {
		f.Add(s)
	}
	trade := rtype.RecordOf(
		rtype.Field{Name: "symbol", Type: rtype.StringType},
		rtype.Field{Name: "venue", Type: rtype.StringType},
		rtype.Field{Name: "price", Type: rtype.DecimalOf(18, 6)},
		rtype.Field{Name: "size", Type: rtype.Int64Type},
		rtype.Field{Name: "ts", Type: rtype.TimestampMillis},
		rtype.Field{Name: "cond", Type: rtype.StringType, Nullable: true},
		rtype.Field{Name: "bid price", Type: rtype.Float64Type},
		rtype.Field{Name: "tags", Type: rtype.ListOf(rtype.StringType)},
		rtype.Field{Name: "attrs", Type: rtype.MapOf(rtype.Int64Type)},
		rtype.Field{Name: "nested", Type: rtype.RecordOf(rtype.Field{Name: "x", Type: rtype.Int32Type})},
	)
	scopes := []*Scope{
		{Inputs: []Input{{Type: trade}}, Bare: 0},
		{Inputs: []Input{{Type: trade}}, Bare: 0, Aggregates: true},
		{Inputs: []Input{{Alias: "left", Type: trade}, {Alias: "right", Type: trade, Nullable: true}}, Bare: -1},
		{Inputs: []Input{{Type: trade}}, Bare: 0, Vars: []string{"A", "B"}, Aggregates: true},
	}
	c := NewChecker()
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 2000 {
			return
		}
		e := at(text)
		lo := e.PosAt(0).Byte - 1
		hi := e.PosAt(len(text)).Byte + 1
		for _, sc := range scopes {
			x, _, ds := c.Check(e, sc)
			for _, d := range ds {
				if d.Severity != diag.Error || d.Code.Name() == "" || d.Subject == nil {
					t.Fatalf("%q: bad diagnostic %v", text, d)
				}
				if b := d.Subject.Start.Byte; b < lo || b > hi {
					t.Fatalf("%q: diagnostic outside the string (byte %d not in [%d,%d]): %v", text, b, lo, hi, d)
				}
			}
			if len(ds) > 0 {
				if x != nil {
					t.Fatalf("%q: result with errors", text)
				}
				continue
			}
			if x == nil {
				t.Fatalf("%q: no result and no error", text)
			}
			// Round trip: the tree renders to CEL that lowers to the same tree.
			if sc.Bare == 0 && len(sc.Vars) == 0 {
				if src, ok := Unparse(x); ok {
					y, _, ds := c.Check(at(src), sc)
					if len(ds) > 0 {
						t.Fatalf("%q: unparsed as %q, which does not check: %v", text, src, ds)
					}
					if a, b := ir.ExprString(x), ir.ExprString(y); a != b {
						t.Fatalf("%q: unparsed as %q, which lowers differently:\n%s\n%s", text, src, a, b)
					}
				}
			}
			x.Walk(func(y *ir.Expr) bool {
				if y.Type == nil {
					t.Fatalf("%q: untyped node %q", text, y.Text)
				}
				if y.Kind == ir.Call && y.Fn == "" {
					t.Fatalf("%q: call without function", text)
				}
				if b := y.Pos.Start.Byte; b < lo || b > hi || !strings.Contains(text, y.Text) {
					t.Fatalf("%q: node %q at byte %d outside the string", text, y.Text, b)
				}
				return true
			})
		}
	})
}
