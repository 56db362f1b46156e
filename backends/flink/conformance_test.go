package flink

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/internal/crd"
)

// sharedDir is ../shared (next to the repository).
func sharedDir(t *testing.T) string {
	t.Helper()
	d, ok := crd.FindSchemas()
	if !ok {
		t.Skip("SKIPPING: ../shared not found; conformance and CRD checks are NOT run")
	}
	return filepath.Dir(d)
}

// caseQuery reads the documented query of a conformance case.
func caseQuery(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sharedDir(t), "conformance", "cases", name, "case.json"))
	if err != nil {
		t.Skipf("SKIPPING: conformance case %s not found: %v", name, err)
	}
	var c struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return c.Query
}

// genSQL generates the script of pl and fails on any error.
func genSQL(t *testing.T, pl *ir.Pipeline) string {
	t.Helper()
	sc := newScript(pl, &backends.Options{})
	sql := sc.build()
	if sc.diags.HasErrors() {
		t.Fatalf("unexpected diagnostics: %v\n%s", sc.diags, sql)
	}
	return sql
}

// viewOf returns the tokens of the statement defining relation name.
func viewOf(t *testing.T, sql, name string) []tok {
	t.Helper()
	for _, st := range statements(lex(sql)) {
		if len(st) > 4 && st[0].is("create") && st[1].is("temporary") && st[3].text == name {
			return st
		}
	}
	t.Fatalf("no view %q in:\n%s", name, sql)
	return nil
}

func docStatement(t *testing.T, query string, i int) []tok {
	st := statements(lex(query))
	if i >= len(st) {
		t.Fatalf("documented query has %d statements", len(st))
	}
	return st[i]
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s differs:\n got %v\nwant %v", what, got, want)
	}
}

var bidSchema = rec(f("bidtime", tTS), f("price", tDec(10, 2)), f("item", tStr), f("supplier_id", tStr))

func windowAgg(w *ir.Window, keys ...string) *ir.Pipeline {
	b := newPipeline("bids")
	src := b.add("Bid", kafkaSource("bids", bidSchema, "bidtime", time.Second), bidSchema, "bidtime")
	var kf []rtype.Field
	for _, k := range keys {
		fl, _ := bidSchema.Field(k)
		kf = append(kf, fl)
	}
	out := windowed(append(kf, f("price", tDec(38, 2)))...)
	agg := b.add("agg", &ir.Aggregate{Keys: keyCols(bidSchema, keys...), Window: w,
		Columns: []ir.Column{col("price", call(ir.FnSum, tDec(38, 2), ref("price", tDec(10, 2))))}}, out, ir.WindowEnd, src)
	b.add("out", kafkaSink("out"), out, "", agg)
	return b.pl
}

func TestConformanceWindowAggregations(t *testing.T) {
	cases := []struct {
		name string
		w    *ir.Window
		keys []string
	}{
		{"flink-tumble-agg", &ir.Window{Kind: ir.Tumble, Size: 10 * time.Minute}, nil},
		{"flink-hop-agg", &ir.Window{Kind: ir.Hop, Size: 10 * time.Minute, Slide: 5 * time.Minute}, nil},
		{"flink-cumulate-agg", &ir.Window{Kind: ir.Cumulate, Size: 10 * time.Minute, Step: 2 * time.Minute}, nil},
		{"flink-session-partitioned-agg", &ir.Window{Kind: ir.Session, Gap: 5 * time.Minute}, []string{"item"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := docStatement(t, caseQuery(t, c.name), 0)
			got := viewOf(t, genSQL(t, windowAgg(c.w, c.keys...)), "agg")
			dt, gt := findTVFs(doc), findTVFs(got)
			if len(dt) != 1 || len(gt) != 1 {
				t.Fatalf("TVFs: doc %v, got %v", dt, gt)
			}
			same(t, "window TVF", gt[0], dt[0])
			dg, _ := clauseAfter(doc, 0, []string{"having", "order"}, "group", "by")
			gg, _ := clauseAfter(got, 0, []string{"having", "order"}, "group", "by")
			same(t, "GROUP BY", nameSet(gg), nameSet(dg))
		})
	}
}

func TestConformanceWindowTopNAfterAgg(t *testing.T) {
	doc := docStatement(t, caseQuery(t, "flink-window-topn-after-agg"), 0)
	b := newPipeline("topn")
	src := b.add("Bid", kafkaSource("bids", bidSchema, "bidtime", time.Second), bidSchema, "bidtime")
	aggOut := windowed(f("supplier_id", tStr), f("price", tDec(38, 2)), f("cnt", tI64))
	agg := b.add("agg", &ir.Aggregate{Keys: keyCols(bidSchema, "supplier_id"), Window: &ir.Window{Kind: ir.Tumble, Size: 10 * time.Minute},
		Columns: []ir.Column{col("price", call(ir.FnSum, tDec(38, 2), ref("price", tDec(10, 2)))), col("cnt", call(ir.FnCount, tI64))}}, aggOut, ir.WindowEnd, src)
	topOut := rec(append(append([]rtype.Field{}, aggOut.Fields...), f("rownum", tI64))...)
	top := b.add("top", &ir.TopN{Keys: keyCols(aggOut, ir.WindowStart, ir.WindowEnd), OrderBy: []ir.Order{{Field: "price", Desc: true}}, N: 3, RankField: "rownum"}, topOut, "", agg)
	b.add("out", kafkaSink("out"), topOut, "", top)
	sql := genSQL(t, b.pl)
	gotAgg, gotTop := viewOf(t, sql, "agg"), viewOf(t, sql, "top")
	same(t, "window TVF", findTVFs(gotAgg), findTVFs(doc))
	dg, _ := clauseAfter(doc, 0, []string{"having", "order"}, "group", "by")
	gg, _ := clauseAfter(gotAgg, 0, []string{"having", "order"}, "group", "by")
	same(t, "GROUP BY", nameSet(gg), nameSet(dg))
	same(t, "ROW_NUMBER window", findOvers(gotTop), findOvers(doc))
	same(t, "rank filter", rowFilter(gotTop, rowNumberAlias(gotTop)), rowFilter(doc, rowNumberAlias(doc)))
	if rowNumberAlias(gotTop) != "rownum" {
		t.Errorf("rank alias %q", rowNumberAlias(gotTop))
	}
}

func TestConformanceOverRange(t *testing.T) {
	doc := docStatement(t, caseQuery(t, "flink-over-range-1h"), 0)
	orders := rec(f("order_id", tStr), f("product", tStr), f("amount", tI64), f("order_time", tTS))
	b := newPipeline("over")
	src := b.add("Orders", kafkaSource("orders", orders, "order_time", 0), orders, "order_time")
	out := rec(append(append([]rtype.Field{}, orders.Fields...), f("one_hour_prod_amount_sum", tI64))...)
	r := b.add("rolled", &ir.Rolling{Keys: keyCols(orders, "product"), OrderBy: "order_time", Range: time.Hour,
		Columns: []ir.Column{col("one_hour_prod_amount_sum", call(ir.FnSum, tI64, ref("amount", tI64)))}}, out, "order_time", src)
	b.add("out", kafkaSink("out"), out, "", r)
	got := viewOf(t, genSQL(t, b.pl), "rolled")
	same(t, "OVER window", findOvers(got), findOvers(doc))
}

func TestConformanceIntervalJoin(t *testing.T) {
	doc := docStatement(t, caseQuery(t, "flink-interval-join-orders-shipments"), 0)
	orders := rec(f("id", tStr), f("order_time", tTS))
	ships := rec(f("order_id", tStr), f("ship_time", tTS))
	b := newPipeline("join")
	o := b.add("Orders", kafkaSource("orders", orders, "order_time", 0), orders, "order_time")
	s := b.add("Shipments", kafkaSource("ships", ships, "ship_time", 0), ships, "ship_time")
	out := rec(f("id", tStr), f("order_time", tTS), f("order_id", tStr), f("ship_time", tTS))
	j := b.add("joined", &ir.Join{Type: ir.Inner, On: []ir.KeyPair{{Left: "id", Right: "order_id"}}, Lower: 0, Upper: 4 * time.Hour,
		Columns: []ir.Column{col("id", refIn(0, "id", tStr)), col("order_time", refIn(0, "order_time", tTS)), col("order_id", refIn(1, "order_id", tStr)), col("ship_time", refIn(1, "ship_time", tTS))}},
		out, "order_time", o, s)
	b.add("out", kafkaSink("out"), out, "", j)
	got := viewOf(t, genSQL(t, b.pl), "joined")
	same(t, "equi-join keys", equalities(got), equalities(doc))
	gb, db := findBetween(got), findBetween(doc)
	if gb == nil || db == nil {
		t.Fatalf("time bounds: got %v, doc %v", gb, db)
	}
	same(t, "time bound", *gb, *db)
}

func TestConformanceDedupProctime(t *testing.T) {
	doc := docStatement(t, caseQuery(t, "flink-dedup-first-proctime"), 1)
	orders := rec(f("order_id", tStr), f("order_time", tStr), f("user", tStr), f("product", tStr), f("num", tI64))
	b := newPipeline("dedup")
	src := b.add("Orders", kafkaSource("orders", orders, "", 0), orders, "")
	d := b.add("dedup", &ir.Dedupe{Keys: keyCols(orders, "order_id"), ProcTime: true}, orders, "", src)
	b.add("out", &ir.Sink{Connector: kafkaSink("out").Connector, Key: []string{"order_id"}}, orders, "", d)
	got := viewOf(t, genSQL(t, b.pl), "dedup")
	do, go_ := findOvers(doc), findOvers(got)
	if len(do) != 1 || len(go_) != 1 {
		t.Fatalf("overs: doc %v got %v", do, go_)
	}
	same(t, "PARTITION BY", go_[0].Partition, do[0].Partition)
	// The ordering column is a processing-time attribute in both; names differ.
	if !strings.HasSuffix(do[0].Order[0], " asc") || !strings.HasSuffix(go_[0].Order[0], " asc") {
		t.Errorf("order: doc %v got %v", do[0].Order, go_[0].Order)
	}
	if !strings.Contains(norm(got), "proctime") {
		t.Errorf("no PROCTIME() in %s", norm(got))
	}
	same(t, "row filter", rowFilter(got, rowNumberAlias(got)), rowFilter(doc, rowNumberAlias(doc)))
}

var ticker = rec(f("symbol", tStr), f("price", tI64), f("tax", tI64), f("rowtime", tTS))

func mrPipeline(p *ir.Pattern, out *rtype.Type) *ir.Pipeline {
	b := newPipeline("mr")
	src := b.add("Ticker", kafkaSource("ticker", ticker, "rowtime", 0), ticker, "rowtime")
	p.PartitionBy = keyCols(ticker, "symbol")
	p.OrderBy = "rowtime"
	m := b.add("matched", p, out, "", src)
	b.add("out", kafkaSink("out"), out, "", m)
	return b.pl
}

func compareMR(t *testing.T, caseName string, p *ir.Pattern, out *rtype.Type) {
	t.Helper()
	doc := findMR(docStatement(t, caseQuery(t, caseName), 0))
	got := findMR(viewOf(t, genSQL(t, mrPipeline(p, out)), "matched"))
	if doc == nil || got == nil {
		t.Fatalf("MATCH_RECOGNIZE: doc %v got %v", doc, got)
	}
	same(t, "MATCH_RECOGNIZE", *got, *doc)
}

func TestConformanceMatchRecognizeGreedy(t *testing.T) {
	gt := func(v string, n int64) *ir.Expr { return call(ir.FnGt, tB, refVar(v, "price", tI64), litE(n, tI64)) }
	lt := func(v string, n int64) *ir.Expr { return call(ir.FnLt, tB, refVar(v, "price", tI64), litE(n, tI64)) }
	compareMR(t, "flink-match-recognize-greedy", &ir.Pattern{
		Terms:    []ir.PatternTerm{{Var: "A", Quant: ir.Quantifier{Min: 1, Max: 1, Greedy: true}}, {Var: "B", Quant: ir.Quantifier{Min: 0, Max: -1, Greedy: true}}, {Var: "C", Quant: ir.Quantifier{Min: 1, Max: 1, Greedy: true}}},
		Define:   []ir.Column{col("A", gt("A", 10)), col("B", lt("B", 15)), col("C", gt("C", 12))},
		Measures: []ir.Column{col("lastPrice", refVar("C", "price", tI64))},
		Skip:     ir.SkipPastLastRow,
	}, rec(f("symbol", tStr), f("lastPrice", tI64)))
}

func TestConformanceMatchRecognizeSkipPastLastRow(t *testing.T) {
	compareMR(t, "flink-match-recognize-skip-past-last-row", &ir.Pattern{
		Terms:  []ir.PatternTerm{{Var: "A", Quant: ir.Quantifier{Min: 1, Max: -1, Greedy: true}}, {Var: "C", Quant: ir.Quantifier{Min: 1, Max: 1, Greedy: true}}},
		Define: []ir.Column{col("A", call(ir.FnLt, tB, call(ir.FnSum, tI64, refVar("A", "price", tI64)), litE(int64(30), tI64)))},
		Measures: []ir.Column{
			col("sumPrice", call(ir.FnSum, tI64, refVar("A", "price", tI64))),
			col("startTime", call(ir.FnFirst, tTS, ref("rowtime", tTS))),
			col("endTime", call(ir.FnLast, tTS, ref("rowtime", tTS))),
		},
		Skip: ir.SkipPastLastRow,
	}, rec(f("symbol", tStr), f("sumPrice", tI64), f("startTime", tTS), f("endTime", tTS)))
}

func TestConformanceMatchRecognizeTicker(t *testing.T) {
	prevDown := call(ir.FnLast, tI64, refVar("PRICE_DOWN", "price", tI64), litE(int64(1), tI64))
	down := call(ir.FnOr, tB,
		call(ir.FnAnd, tB, call(ir.FnIsNull, tB, prevDown), call(ir.FnLt, tB, refVar("PRICE_DOWN", "price", tI64), refVar("START_ROW", "price", tI64))),
		call(ir.FnLt, tB, refVar("PRICE_DOWN", "price", tI64), prevDown))
	up := call(ir.FnGt, tB, refVar("PRICE_UP", "price", tI64), prevDown)
	compareMR(t, "flink-match-recognize-ticker-decreasing", &ir.Pattern{
		Terms: []ir.PatternTerm{{Var: "START_ROW", Quant: ir.Quantifier{Min: 1, Max: 1, Greedy: true}},
			{Var: "PRICE_DOWN", Quant: ir.Quantifier{Min: 1, Max: -1, Greedy: true}}, {Var: "PRICE_UP", Quant: ir.Quantifier{Min: 1, Max: 1, Greedy: true}}},
		Define: []ir.Column{col("PRICE_DOWN", down), col("PRICE_UP", up)},
		Measures: []ir.Column{
			col("start_tstamp", refVar("START_ROW", "rowtime", tTS)),
			col("bottom_tstamp", call(ir.FnLast, tTS, refVar("PRICE_DOWN", "rowtime", tTS))),
			col("end_tstamp", call(ir.FnLast, tTS, refVar("PRICE_UP", "rowtime", tTS))),
		},
		Skip: ir.SkipToLast, SkipTo: "PRICE_UP",
	}, rec(f("symbol", tStr), f("start_tstamp", tTS), f("bottom_tstamp", tTS), f("end_tstamp", tTS)))
}

func TestConformanceWindowJoinSemi(t *testing.T) {
	doc := docStatement(t, caseQuery(t, "flink-window-join-semi"), 1) // the EXISTS form
	side := rec(f("row_time", tTS), f("num", tI32), f("id", tStr))
	b := newPipeline("wjoin")
	l := b.add("LeftTable", kafkaSource("l", side, "row_time", time.Second), side, "row_time")
	r := b.add("RightTable", kafkaSource("r", side, "row_time", time.Second), side, "row_time")
	j := b.add("semi", &ir.Join{Type: ir.Semi, On: []ir.KeyPair{{Left: "num", Right: "num"}}, Window: &ir.Window{Kind: ir.Tumble, Size: 5 * time.Minute}}, side, "row_time", l, r)
	b.add("out", kafkaSink("out"), side, "", j)
	got := viewOf(t, genSQL(t, b.pl), "semi")
	same(t, "window TVFs", findTVFs(got), findTVFs(doc))
	same(t, "join conditions", equalities(got), equalities(doc))
	hasExists := func(ts []tok) bool {
		for _, x := range ts {
			if x.is("exists") {
				return true
			}
		}
		return false
	}
	if !hasExists(got) || !hasExists(doc) {
		t.Error("semi join is not an EXISTS subquery")
	}
}
