package spark

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/internal/crd"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/lang/cuespec"
	"rtsap.dev/rtsapc/lang/diag"
)

var testOpts = &backends.Options{Version: "test", Env: &ir.Environment{Name: "prod", Namespace: "md-prod", Labels: []ir.KV{{Key: "team", Value: "md"}}},
	Settings: map[string]string{SetOLURL: "http://marquez:5000"}}

var trade = rec(f("symbol", tStr), f("venue", tStr), f("price", tDec(18, 6)), f("size", tI64), f("ts", tTS), rtype.Field{Name: "cond", Type: tStr, Nullable: true})

// streaming uses every streaming operator and connector Spark supports.
func streaming() *ir.Pipeline {
	quote := rec(f("symbol", tStr), f("bid", tDec(18, 6)), f("ask", tDec(18, 6)), f("ts", tTS))
	b := newPipeline("stream-features")
	b.pl.Owner = "market-data"
	b.pl.Deploy = ir.Deploy{Parallelism: 8, MaxParallelism: 16, CPU: 2, Memory: "4Gi", Replicas: 2, Checkpoint: ir.Checkpoint{Dir: "s3a://ck/stream-features"},
		Config: []ir.KV{{Key: "spark.sql.streaming.minBatchesToRetain", Value: "50"}}}
	src := kafkaSource("md.trades", trade, "ts", 5*time.Second)
	src.OnError = ir.DeadLetterErr
	src.Connector.Options = append(src.Connector.Options, ir.Option{Key: "username", Value: "svc"}, ir.Option{Key: "password", Value: &ir.Secret{Name: "kafka", Key: "password"}})
	trades := b.add("trades", src, trade, "ts")
	src.DeadLetter = b.add("bad_trades", &ir.DeadLetter{Source: trades}, ir.DeadLetterType, "", trades)
	qs := kafkaSource("md.quotes", quote, "ts", time.Second)
	qs.OnError = ir.SkipOnError
	quotes := b.add("quotes", qs, quote, "ts")
	lit := b.add("lit", &ir.Filter{Where: call(ir.FnAnd, tB, call(ir.FnNe, tB, ref("venue", tStr), litE("it's \"dark\"\n--", tStr)), call(ir.FnGt, tB, ref("size", tI64), litE(int64(0), tI64)))}, trade, "ts", trades)
	barsOut := windowed(f("symbol", tStr), f("open", tDec(18, 6)), f("volume", tI64), f("vwap", tDec(38, 6)), f("avg_px", tDec(38, 6)))
	bars := b.add("bars", &ir.Aggregate{Keys: keyCols(trade, "symbol"), Window: &ir.Window{Kind: ir.Hop, Size: 5 * time.Minute, Slide: time.Minute}, AllowedLateness: 10 * time.Second,
		Columns: []ir.Column{col("open", call(ir.FnFirst, tDec(18, 6), ref("price", tDec(18, 6)))), col("volume", call(ir.FnSum, tI64, ref("size", tI64))),
			col("vwap", call(ir.FnDiv, tDec(38, 6), call(ir.FnSum, tDec(38, 6), call(ir.FnMul, tDec(38, 6), ref("price", tDec(18, 6)), ref("size", tI64))), call(ir.FnSum, tI64, ref("size", tI64)))),
			col("avg_px", call(ir.FnAvg, tDec(38, 6), ref("price", tDec(18, 6))))},
		Having: call(ir.FnGt, tB, ref("volume", tI64), litE(int64(0), tI64))}, barsOut, ir.WindowEnd, lit)
	sessOut := windowed(f("symbol", tStr), f("n", tI64))
	sess := b.add("bursts", &ir.Aggregate{Keys: keyCols(trade, "symbol"), Window: &ir.Window{Kind: ir.Session, Gap: 30 * time.Second},
		Columns: []ir.Column{col("n", call(ir.FnCount, tI64))}}, sessOut, ir.WindowEnd, lit)
	spreadOut := rec(f("symbol", tStr), f("ts", tTS), f("price", tDec(18, 6)), f("spread", tDec(19, 6)))
	spread := b.add("with_quote", &ir.Join{Type: ir.Left, On: []ir.KeyPair{{Left: "symbol", Right: "symbol"}}, Lower: -2 * time.Second, Upper: 0,
		Columns: []ir.Column{col("symbol", refIn(0, "symbol", tStr)), col("ts", refIn(0, "ts", tTS)), col("price", refIn(0, "price", tDec(18, 6))),
			col("spread", call(ir.FnSub, tDec(19, 6), refIn(1, "ask", tDec(18, 6)), refIn(1, "bid", tDec(18, 6))))}}, spreadOut, "ts", lit, quotes)
	wjOut := windowed(f("symbol", tStr), f("price", tDec(18, 6)), f("bid", tDec(18, 6)))
	wj := b.add("same_minute", &ir.Join{Type: ir.Inner, On: []ir.KeyPair{{Left: "symbol", Right: "symbol"}}, Window: &ir.Window{Kind: ir.Tumble, Size: time.Minute},
		Columns: []ir.Column{col(ir.WindowStart, refIn(0, ir.WindowStart, tTS)), col(ir.WindowEnd, refIn(0, ir.WindowEnd, tTS)), col("symbol", refIn(0, "symbol", tStr)), col("price", refIn(0, "price", tDec(18, 6))), col("bid", refIn(1, "bid", tDec(18, 6)))}}, wjOut, "", lit, quotes)
	refT := rec(f("symbol", tStr), f("sector", tStr))
	lkOut := rec(f("symbol", tStr), f("ts", tTS), f("sector", tStr))
	lk := b.add("enriched", &ir.Lookup{Type: ir.Left, Table: ir.Connector{Kind: "postgres", Options: []ir.Option{{Key: "password", Value: &ir.Secret{Name: "refdata", Key: "password"}}, {Key: "table", Value: "ref.symbols"}, {Key: "url", Value: "postgres://pg:5432/ref"}, {Key: "user", Value: "reader"}}},
		Schema: refT, On: []ir.KeyPair{{Left: "symbol", Right: "symbol"}},
		Columns: []ir.Column{col("symbol", refIn(0, "symbol", tStr)), col("ts", refIn(0, "ts", tTS)), col("sector", refIn(1, "sector", tStr))}}, lkOut, "ts", spread)
	first := b.add("first_seen", &ir.Dedupe{Keys: keyCols(trade, "symbol"), ProcTime: true}, trade, "ts", lit)
	totals := b.add("totals", &ir.Aggregate{Keys: keyCols(trade, "venue"), Columns: []ir.Column{col("n", call(ir.FnCount, tI64))}}, rec(f("venue", tStr), f("n", tI64)), "", lit)
	both := b.add("all", &ir.Union{}, trade, "ts", lit, first)
	b.add("to_pg", &ir.Sink{Connector: ir.Connector{Kind: "timescale", Options: []ir.Option{{Key: "password", Value: &ir.Secret{Name: "tsdb", Key: "password"}}, {Key: "table", Value: "analytics.bars"}, {Key: "url", Value: "postgres://tsdb:5432/md"}, {Key: "user", Value: "writer"}}}, Key: []string{"symbol", ir.WindowStart}}, barsOut, "", bars)
	b.add("dlq", kafkaSink("md.trades.dlq"), ir.DeadLetterType, "", src.DeadLetter)
	b.add("to_kafka", kafkaSink("md.totals", "venue"), rec(f("venue", tStr), f("n", tI64)), "", totals)
	b.add("to_s3", &ir.Sink{Connector: ir.Connector{Kind: "s3", Format: "parquet", Options: []ir.Option{{Key: "accessKey", Value: &ir.Secret{Name: "minio", Key: "access-key"}}, {Key: "bucket", Value: "lake"}, {Key: "compression", Value: "zstd"}, {Key: "endpoint", Value: "http://minio:9000"}, {Key: "partitionBy", Value: []any{"symbol"}}, {Key: "path", Value: "spreads/"}, {Key: "pathStyle", Value: true}, {Key: "secretKey", Value: &ir.Secret{Name: "minio", Key: "secret-key"}}}}}, lkOut, "", lk)
	b.add("to_mongo", &ir.Sink{Connector: ir.Connector{Kind: "mongodb", Options: []ir.Option{{Key: "collection", Value: "bursts"}, {Key: "database", Value: "md"}, {Key: "uri", Value: &ir.Secret{Name: "mongo", Key: "uri"}}}}, Key: []string{"symbol", ir.WindowStart}}, sessOut, "", sess)
	b.add("to_console", &ir.Sink{Connector: ir.Connector{Kind: "stdout"}}, wjOut, "", wj)
	b.add("all_out", kafkaSink("md.all"), trade, "", both)
	fx := rec(f("pair", tStr), f("rate", tDec(12, 6)), f("ts", tTS), rtype.Field{Name: "venue", Type: tStr, Nullable: true})
	fxSrc := kafkaSource("md.fx", fx, "ts", 0)
	fxSrc.Connector.Format = "avro"
	fxID := b.add("fx", fxSrc, fx, "ts")
	b.add("fx_out", &ir.Sink{Connector: ir.Connector{Kind: "kafka", Format: "avro", Options: []ir.Option{{Key: "brokers", Value: []any{"kafka:9092"}}, {Key: "topic", Value: "md.fx.copy"}}}}, fx, "", fxID)
	return b.pl
}

// backtest is a batch pipeline with the batch-only operators.
func backtest() *ir.Pipeline {
	b := newPipeline("backtest")
	b.pl.Mode = ir.Batch
	src := &ir.Source{Connector: ir.Connector{Kind: "s3", Format: "parquet", Options: []ir.Option{{Key: "bucket", Value: "archive"}, {Key: "path", Value: "trades/"}}}, Schema: trade, EventTime: "ts", Bounded: true}
	trades := b.add("trades", src, trade, "ts")
	barsOut := windowed(f("symbol", tStr), f("close", tDec(18, 6)), f("volume", tI64), f("px", rtype.ListOf(tDec(18, 6))))
	bars := b.add("bars", &ir.Aggregate{Keys: keyCols(trade, "symbol"), Window: &ir.Window{Kind: ir.Tumble, Size: 24 * time.Hour},
		Columns: []ir.Column{col("close", call(ir.FnLast, tDec(18, 6), ref("price", tDec(18, 6)))), col("volume", call(ir.FnSum, tI64, ref("size", tI64))),
			col("px", call(ir.FnTop, rtype.ListOf(tDec(18, 6)), ref("price", tDec(18, 6)), litE(int64(3), tI64)))}}, barsOut, ir.WindowEnd, trades)
	rolled := rec(append(append([]rtype.Field{}, barsOut.Fields...), f("sma5", tF64), f("prev", tDec(18, 6)))...)
	r := b.add("sma", &ir.Rolling{Keys: keyCols(barsOut, "symbol"), OrderBy: ir.WindowEnd, Range: 5 * 24 * time.Hour,
		Columns: []ir.Column{col("sma5", call(ir.FnAvg, tF64, call(ir.FnToDouble, tF64, ref("close", tDec(18, 6))))), col("prev", call(ir.FnFirst, tDec(18, 6), ref("close", tDec(18, 6))))}}, rolled, ir.WindowEnd, bars)
	topOut := windowed(append(append([]rtype.Field{}, trade.Fields...), f("rank", tI64))...)
	top := b.add("largest", &ir.TopN{Keys: keyCols(trade, "symbol"), OrderBy: []ir.Order{{Field: "size", Desc: true}}, N: 5, Window: &ir.Window{Kind: ir.Tumble, Size: time.Hour}, RankField: "rank"}, topOut, "", trades)
	last := b.add("last_trade", &ir.Dedupe{Keys: keyCols(trade, "symbol"), KeepLast: true, OrderBy: "ts"}, trade, "ts", trades)
	b.add("signals", &ir.Sink{Connector: ir.Connector{Kind: "postgres", Options: []ir.Option{{Key: "table", Value: "bt.signals"}, {Key: "url", Value: "postgres://pg:5432/bt"}}}}, rolled, "", r)
	b.add("top_out", &ir.Sink{Connector: ir.Connector{Kind: "file", Format: "jsonl", Options: []ir.Option{{Key: "path", Value: "/data/top"}}}}, topOut, "", top)
	b.add("last_out", &ir.Sink{Connector: ir.Connector{Kind: "stdout"}}, trade, "", last)
	return b.pl
}

func generateAll(t *testing.T, p *ir.Program, opts *backends.Options) (*artifact.Set, diag.Diagnostics) {
	t.Helper()
	var pls []*ir.Pipeline
	var ds diag.Diagnostics
	for _, pl := range p.Pipelines {
		cds := Backend.Check(pl, opts)
		ds = ds.Extend(cds)
		if !cds.HasErrors() {
			pls = append(pls, pl)
		}
	}
	set, gds := Backend.Generate(&backends.Gen{Program: p, Pipelines: pls, Options: opts})
	return set, ds.Extend(gds)
}

func render(set *artifact.Set, ds diag.Diagnostics) map[string][]byte {
	out := map[string][]byte{}
	var lines []string
	for _, d := range ds.Sort() {
		// Whether ../shared/schemas is present depends on the machine;
		// the CRD tests say so loudly, the goldens must not change.
		if d.Code == diag.ValidationSkipped {
			continue
		}
		lines = append(lines, d.Error())
	}
	out["diagnostics"] = []byte(strings.Join(lines, "\n") + "\n")
	if set != nil {
		for _, f := range set.Files {
			out[f.Path] = f.Data
		}
	}
	return out
}

// pyCompile runs python3 -m py_compile over every Python file.
func pyCompile(t *testing.T, set *artifact.Set) {
	t.Helper()
	if set == nil {
		return
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("SKIPPING: python3 not found; PySpark files are NOT compiled")
	}
	dir := t.TempDir()
	var paths []string
	byPath := map[string]string{}
	for i, f := range set.Files {
		if f.Kind != artifact.Python {
			continue
		}
		p := filepath.Join(dir, "f"+strconv.Itoa(i)+".py")
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		byPath[p] = f.Path
	}
	if len(paths) == 0 {
		return
	}
	// One interpreter for all files: py_compile stops at the first error,
	// so on failure compile one by one to name every bad file.
	if _, err := exec.Command(py, append([]string{"-m", "py_compile"}, paths...)...).CombinedOutput(); err == nil {
		return
	}
	for _, p := range paths {
		if out, err := exec.Command(py, "-m", "py_compile", p).CombinedOutput(); err != nil {
			t.Errorf("%s does not compile: %v\n%s", byPath[p], err, out)
		}
	}
}

func TestFeaturesGolden(t *testing.T) {
	golden.Run(t, "testdata/features", func(gt *golden.T) {
		opts := testOpts
		var pl *ir.Pipeline
		switch {
		case strings.Contains(string(gt.Archive.Comment), "scheduled"):
			pl = backtest()
			opts = &backends.Options{Version: "test", Settings: map[string]string{SetSchedule: "0 2 * * 1-5", SetTimezone: "America/New_York", SetOLTransport: "kafka"}}
		case strings.Contains(string(gt.Archive.Comment), "batch"):
			pl = backtest()
		default:
			pl = streaming()
		}
		set, ds := generateAll(gt.T, progOf(pl), opts)
		if ds.HasErrors() {
			gt.Errorf("errors: %v", ds)
		}
		for name, data := range render(set, ds) {
			gt.Out(name, data)
		}
		pyCompile(gt.T, set)
	})
}

func TestExamplesGolden(t *testing.T) {
	golden.Run(t, "testdata/examples", func(gt *golden.T) {
		name := strings.TrimSpace(strings.Split(string(gt.Archive.Comment), "\n")[0])
		dir, _ := filepath.Abs("../../examples")
		f, ds := cuespec.Load(&cuespec.Config{Dir: dir}, []string{"./" + name})
		if ds.HasErrors() {
			gt.Fatalf("load: %v", ds)
		}
		p, cds := compiler.Compile(f, &compiler.Config{})
		if cds.HasErrors() {
			gt.Fatalf("compile: %v", cds)
		}
		p.SpecDigest = "spec-digest" // any spec edit changes it; keep goldens stable
		set, gds := generateAll(gt.T, p, &backends.Options{Version: "test"})
		for n, data := range render(set, gds) {
			gt.Out(n, data)
		}
		pyCompile(gt.T, set)
		// Every pipeline's program compiles, including those Check rejects.
		all := &artifact.Set{}
		for _, pl := range p.Pipelines {
			pr := newProgram(pl, &backends.Options{})
			all.Add(&artifact.File{Path: pl.Name + ".py", Kind: artifact.Python, Data: []byte(pr.build())})
		}
		pyCompile(gt.T, all)
	})
}

// crdSet loads the Spark operator's CRDs, skipping loudly without them.
func crdSet(t *testing.T) *crd.Set {
	t.Helper()
	dir, ok := crd.FindSchemas()
	if !ok {
		t.Skip("SKIPPING: ../shared/schemas not found; CRD validation is NOT tested")
	}
	set, err := crd.Cached(filepath.Join(dir, "spark"))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// customResources validates every SparkOperator resource of out against
// set and returns them.
func customResources(t *testing.T, set *crd.Set, out *artifact.Set) []*artifact.File {
	t.Helper()
	var crs []*artifact.File
	for _, f := range out.Files {
		if f.Kind == artifact.Manifest && f.Object.APIVersion == "sparkoperator.k8s.io/v1beta2" {
			crs = append(crs, f)
			if errs := set.ValidateYAML(f.Data); len(errs) > 0 {
				t.Errorf("%s: %v", f.Path, errs)
			}
		}
	}
	return crs
}

func TestManifestsValidateAgainstCRDs(t *testing.T) {
	set := crdSet(t)
	cases := []struct {
		pl   *ir.Pipeline
		opts *backends.Options
		kind string
	}{
		{streaming(), testOpts, "SparkApplication"},
		{backtest(), testOpts, "SparkApplication"},
		{backtest(), &backends.Options{Settings: map[string]string{SetSchedule: "@every 1h"}}, "ScheduledSparkApplication"},
	}
	for _, c := range cases {
		out, ds := generateAll(t, progOf(c.pl), c.opts)
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		crs := customResources(t, set, out)
		for _, f := range crs {
			if f.Object.Kind != c.kind {
				t.Errorf("%s: kind %s, want %s", f.Path, f.Object.Kind, c.kind)
			}
		}
		if len(crs) != 1 {
			t.Errorf("%d custom resources", len(crs))
		}
	}
}

func TestCapabilityErrors(t *testing.T) {
	b := newPipeline("caps")
	s := kafkaSource("t", trade, "ts", 0)
	src := b.add("src", s, trade, "ts")
	pos := func(line int) diag.Range {
		return diag.Range{Filename: "p.cue", Start: diag.Pos{Line: line, Column: 3}}
	}
	pat := b.add("pat", &ir.Pattern{PartitionBy: keyCols(trade, "symbol"), OrderBy: "ts", Terms: []ir.PatternTerm{{Var: "A", Quant: ir.Quantifier{Min: 1, Max: 1, Greedy: true}}}}, rec(f("symbol", tStr)), "", src)
	b.pl.Node(pat).Pos = pos(5)
	roll := b.add("roll", &ir.Rolling{Keys: keyCols(trade, "symbol"), OrderBy: "ts", Rows: 3, Columns: []ir.Column{col("m", call(ir.FnMax, tI64, ref("size", tI64)))}}, rec(append(append([]rtype.Field{}, trade.Fields...), f("m", tI64))...), "ts", src)
	b.pl.Node(roll).Pos = pos(7)
	cum := b.add("cum", &ir.Aggregate{Window: &ir.Window{Kind: ir.Cumulate, Size: time.Hour, Step: time.Minute}, Columns: []ir.Column{col("n", call(ir.FnCount, tI64))}}, windowed(f("n", tI64)), ir.WindowEnd, src)
	b.pl.Node(cum).Pos = pos(9)
	for _, id := range []ir.NodeID{pat, roll, cum} {
		b.add("out"+b.pl.Node(id).Name, kafkaSink("o"), b.pl.Node(id).Out, "", id)
	}
	ds := Backend.Check(b.pl, nil).Sort()
	var got []string
	for _, d := range ds {
		got = append(got, d.Subject.String()+" "+d.Code.String())
	}
	want := "p.cue:5:3 RTS4000,p.cue:7:3 RTS4000,p.cue:9:3 RTS4000"
	if strings.Join(got, ",") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func hostile(t *testing.T, file string) []string {
	t.Helper()
	d, ok := crd.FindSchemas()
	if !ok {
		t.Skip("SKIPPING: ../shared not found; hostile corpus NOT tested")
	}
	data, err := os.ReadFile(filepath.Join(d, "..", "hostile", file))
	if err != nil {
		t.Skipf("SKIPPING: %v", err)
	}
	var out []string
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Hostile names and strings: every program compiles, every name appears
// as a Python literal that evaluates to the original, the SQL of the filter
// is a Python literal that evaluates to the statement with the name quoted
// and the string escaped (TestHostileSQL lexes such statements as Spark
// does), and the manifests validate.
func TestHostileNamesAndStrings(t *testing.T) {
	names := hostile(t, "names.json")
	strs := hostile(t, "strings.json")
	var pls []*ir.Pipeline
	set := &artifact.Set{}
	var checks []string
	for i, name := range names {
		sch := rec(f(name, tStr), f("ts", tTS))
		b := newPipeline(name)
		src := b.add(name, kafkaSource("t", sch, "ts", 0), sch, "ts")
		s := strs[i%len(strs)]
		flt := b.add(name+"_f", &ir.Filter{Where: call(ir.FnNe, tB, ref(name, tStr), litE(s, tStr))}, sch, "ts", src)
		b.add(name+"_out", kafkaSink("out"), sch, "", flt)
		pls = append(pls, b.pl)
		pr := newProgram(b.pl, testOpts)
		py := pr.build()
		if pr.diags.HasErrors() {
			t.Errorf("%q: %v", name, pr.diags)
			continue
		}
		set.Add(&artifact.File{Path: "h" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ".py", Kind: artifact.Python, Data: []byte(py)})
		stmt := "SELECT *\nFROM n1\nWHERE (" + sqlIdent(name) + " != " + sqlStr(s) + ")"
		lit := pyLines(stmt)
		if !strings.Contains(py, pyStr(name)) || !strings.Contains(py, "N2_SQL = "+lit+"\n") {
			t.Errorf("%q: name or statement literal missing", name)
		}
		checks = append(checks, pyStr(name), lit)
	}
	pyCompile(t, set)
	// The literals evaluate to the originals in Python.
	if py, err := exec.LookPath("python3"); err == nil {
		var want []string
		for i, name := range names {
			want = append(want, name, "SELECT *\nFROM n1\nWHERE ("+sqlIdent(name)+" != "+sqlStr(strs[i%len(strs)])+")")
		}
		prog := "import json,sys\nprint(json.dumps([" + strings.Join(checks, ",") + "]))\n"
		out, err := exec.Command(py, "-c", prog).Output()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if i >= len(got) || got[i] != want[i] {
				t.Errorf("literal %d: got %q, want %q", i, got[i], want[i])
			}
		}
	}
	out, ds := generateAll(t, progOf(pls...), testOpts)
	if ds.HasErrors() {
		t.Fatalf("%v", ds)
	}
	for _, f := range out.Files {
		if f.Kind == artifact.Manifest {
			obj, err := k8s.Decode(f.Data)
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			ann := obj["metadata"].(map[string]any)["annotations"].(map[string]any)
			if ann[k8s.AnnoPipeline] != f.Pipeline {
				t.Errorf("%s: annotation %q, want %q", f.Path, ann[k8s.AnnoPipeline], f.Pipeline)
			}
		}
	}
	if err := out.Validate(); err != nil {
		t.Error(err)
	}
}

func TestNameCollision(t *testing.T) {
	a, b := streaming(), streaming()
	a.Name, b.Name = "Stream", k8s.DeriveName("Stream", nameRule)
	_, ds := generateAll(t, progOf(a, b), testOpts)
	found := false
	for _, d := range ds {
		found = found || d.Code == diag.SparkNameCollision
	}
	if !found {
		t.Errorf("collision not reported: %v", ds)
	}
}

func TestPyStr(t *testing.T) {
	for s, want := range map[string]string{`a"b`: `"a\"b"`, "a\nb": `"a\nb"`, "\u202e": `"\u202e"`, "📈": `"\U0001f4c8"`, "\x00": `"\x00"`, `\`: `"\\"`} {
		if got := pyStr(s); got != want {
			t.Errorf("pyStr(%q) = %s, want %s", s, got, want)
		}
	}
}

// Malformed or odd IR yields diagnostics, never a panic.
func TestNoPanicOnOddIR(t *testing.T) {
	mutations := []func(pl *ir.Pipeline){
		func(pl *ir.Pipeline) { pl.Nodes[3].Out = nil },
		func(pl *ir.Pipeline) { pl.Nodes[4].Inputs = nil },
		func(pl *ir.Pipeline) { pl.Nodes[5].Inputs = []ir.NodeID{99} },
		func(pl *ir.Pipeline) {
			for _, n := range pl.Nodes {
				if f, ok := n.Op.(*ir.Filter); ok {
					f.Where = &ir.Expr{Kind: ir.Call, Fn: "nonsense"}
				}
			}
		},
		func(pl *ir.Pipeline) {
			for _, n := range pl.Nodes {
				if a, ok := n.Op.(*ir.Aggregate); ok {
					a.Window = &ir.Window{Kind: "bogus"}
					a.Columns = append(a.Columns, ir.Column{Name: "x", Expr: &ir.Expr{Kind: ir.Call, Fn: ir.FnSum}})
				}
			}
		},
		func(pl *ir.Pipeline) {
			for _, n := range pl.Nodes {
				if j, ok := n.Op.(*ir.Join); ok {
					j.Window = &ir.Window{Kind: ir.Cumulate}
					j.Columns = append(j.Columns, ir.Column{Name: "Z"})
				}
			}
		},
		func(pl *ir.Pipeline) { pl.Nodes[0].Op.(*ir.Source).Schema = rec() },
	}
	for i, m := range mutations {
		pl := streaming()
		m(pl)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("mutation %d: panic: %v", i, r)
				}
			}()
			Backend.Check(pl, testOpts)
			Backend.Generate(&backends.Gen{Program: progOf(pl), Pipelines: []*ir.Pipeline{pl}, Options: testOpts})
		}()
	}
}
