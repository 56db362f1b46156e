package expr

import (
	"strings"
	"testing"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

var trade = rtype.RecordOf(
	rtype.Field{Name: "symbol", Type: rtype.StringType},
	rtype.Field{Name: "venue", Type: rtype.StringType},
	rtype.Field{Name: "price", Type: rtype.DecimalOf(18, 6)},
	rtype.Field{Name: "size", Type: rtype.Int64Type},
	rtype.Field{Name: "ts", Type: rtype.TimestampMillis},
	rtype.Field{Name: "cond", Type: rtype.StringType, Nullable: true},
	rtype.Field{Name: "bid price", Type: rtype.Float64Type},
)

// at places text in a fake file at line 3, column 10 (the opening quote).
func at(text string) spec.Expr {
	return spec.Expr{Text: text, QuoteLen: 1, Range: diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 3, Column: 10, Byte: 40}}}
}

func single(agg bool) *Scope {
	return &Scope{Inputs: []Input{{Type: trade, Desc: `"trades"`}}, Bare: 0, Aggregates: agg}
}

func TestCheckTypes(t *testing.T) {
	c := NewChecker()
	for _, tc := range []struct {
		text, typ string
		agg       bool
	}{
		{"venue != 'DARK' && size > 0", "bool", false},
		{"price * size", "decimal(37,6)", false},
		{"sum(price * size) / sum(size)", "decimal(38,6)", true},
		{"sum(size)", "int64", true},
		{"avg(size)", "float64", true},
		{"count()", "int64", true},
		{"price > 0.02", "bool", false},
		{"row['bid price'] * 2.0", "float64", false},
		{"cond == null", "bool", false},
		{"has(row.cond)", "bool", false},
		{"ts + duration('5m')", "timestamp(3)", false},
		{"epoch_millis(ts)", "int64", false},
		{"decimal(size, 10, 2)", "decimal(10,2)", false},
		{"venue in ['XNAS', 'XNYS']", "bool", false},
		{"coalesce(cond, 'none')", "string", false},
		{"size > 1.5", "bool", false},
		{"price * 2", "decimal(19,6)", false},
		{"ln(price)", "float64", false},
		{"max(price) - min(price)", "decimal(19,6)", true},
		{"top(price, 3)", "list<decimal(18,6)>", true},
	} {
		x, _, ds := c.Check(at(tc.text), single(tc.agg))
		if len(ds) > 0 {
			t.Errorf("%q: %v", tc.text, ds)
			continue
		}
		if got := x.Type.String(); got != tc.typ {
			t.Errorf("%q: type %s, want %s", tc.text, got, tc.typ)
		}
	}
}

func TestCheckErrors(t *testing.T) {
	c := NewChecker()
	for _, tc := range []struct {
		text string
		agg  bool
		code diag.Code
		col  int
		msg  string
	}{
		{"pricee > 0", false, diag.UnknownField, 11, `Did you mean "price"?`},
		{"size = 2", false, diag.BadExpression, 16, ""},
		{"sum(size) > 0", false, diag.MisplacedAggregate, 11, "allowed only"},
		{"sum(max(size))", true, diag.MisplacedAggregate, 15, "nest"},
		{"venue + 1", false, diag.InvalidExpression, 17, "operator +"},
		{"row.sizee", false, diag.UnknownField, 15, `Did you mean "size"?`},
		{"row['nope'] > 1", false, diag.UnknownField, 15, "no field"},
		{"duration('5x')", false, diag.BadDuration, 20, "unit"},
		{"date_trunc('week', ts)", false, diag.InvalidExpression, 22, "unit"},
		{"  ", false, diag.BadExpression, 10, ""},
	} {
		_, _, ds := c.Check(at(tc.text), single(tc.agg))
		if len(ds) == 0 {
			t.Errorf("%q: no error", tc.text)
			continue
		}
		d := ds[0]
		if d.Code != tc.code || d.Subject.Start.Column != tc.col || !strings.Contains(d.Detail, tc.msg) {
			t.Errorf("%q: got %s %v, want %s col %d %q", tc.text, d.Code, d, tc.code, tc.col, tc.msg)
		}
	}
}

func TestPositions(t *testing.T) {
	c := NewChecker()
	x, _, ds := c.Check(at("sum(price * size) / sum(size)"), single(true))
	if ds != nil {
		t.Fatal(ds)
	}
	if x.Fn != ir.FnDiv || x.Args[0].Text != "sum(price * size)" || x.Args[1].Text != "sum(size)" {
		t.Fatalf("texts: %q %q", x.Args[0].Text, x.Args[1].Text)
	}
	mul := x.Args[0].Args[0]
	if mul.Text != "price * size" || mul.Pos.Start.Column != 15 || mul.Args[1].Pos.Start.Column != 23 {
		t.Fatalf("mul %q at %v, size at %v", mul.Text, mul.Pos, mul.Args[1].Pos)
	}
}

func TestJoinScope(t *testing.T) {
	c := NewChecker()
	sc := &Scope{Inputs: []Input{{Alias: "t", Type: trade}, {Alias: "q", Type: trade, Nullable: true}}, Bare: -1}
	x, null, ds := c.Check(at("t.price - q.price"), sc)
	if ds != nil {
		t.Fatal(ds)
	}
	if !null || x.Args[1].Input != 1 || x.Args[1].Field() != "price" {
		t.Fatalf("%+v null=%v", x.Args[1], null)
	}
	_, _, ds = c.Check(at("t.pricee"), sc)
	if len(ds) != 1 || ds[0].Code != diag.UnknownField || !strings.Contains(ds[0].Detail, `Did you mean "price"`) {
		t.Fatalf("%v", ds)
	}
	_, _, ds = c.Check(at("price"), sc)
	if len(ds) != 1 || !strings.Contains(ds[0].Detail, "t.price") {
		t.Fatalf("%v", ds)
	}
}

func TestPatternScope(t *testing.T) {
	c := NewChecker()
	sc := &Scope{Inputs: []Input{{Type: trade}}, Bare: 0, Vars: []string{"A", "B"}, Aggregates: true}
	x, _, ds := c.Check(at("B.price > last(A.price, 1) * 1.02"), sc)
	if ds != nil {
		t.Fatal(ds)
	}
	if x.Args[0].Var != "B" || x.Args[1].Args[0].Fn != ir.FnLast {
		t.Fatalf("%+v", x)
	}
}

func TestEqMixed(t *testing.T) {
	c := NewChecker()
	_, _, ds := c.Check(at("price == 1 && size == 2.0"), single(false))
	t.Log(ds)
}

func TestPartialsCoverAggregates(t *testing.T) {
	for _, fn := range ir.AggregateFns() {
		if len(Partials(fn)) == 0 {
			t.Errorf("%s has no partials", fn)
		}
	}
	if Mergeable(ir.FnCountDistinct) || !Mergeable(ir.FnAvg) || Mergeable(ir.FnAbs) {
		t.Error("Mergeable")
	}
}

func TestCELStdlibAlternatives(t *testing.T) {
	c := NewChecker()
	_, _, ds := c.Check(at("ts.getHours() > 9"), single(false))
	if len(ds) != 1 || ds[0].Code != diag.InvalidExpression || !strings.Contains(ds[0].Detail, "Use hour(ts) instead") || ds[0].Subject.Start.Column != 11 {
		t.Fatalf("%v", ds)
	}
}
