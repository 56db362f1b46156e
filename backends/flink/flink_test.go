package flink

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
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

var testOpts = &backends.Options{Version: "test", Env: &ir.Environment{Name: "prod", Namespace: "md-prod", Labels: []ir.KV{{Key: "team", Value: "md"}}}}

// features builds a pipeline that uses every operator and connector the
// backend supports.
func features() *ir.Pipeline {
	trade := rec(f("symbol", tStr), f("venue", tStr), f("price", tDec(18, 6)), f("size", tI64), f("ts", tTS), rtype.Field{Name: "cond", Type: tStr, Nullable: true})
	quote := rec(f("symbol", tStr), f("bid", tDec(18, 6)), f("ask", tDec(18, 6)), f("ts", tTS))
	b := newPipeline("features")
	b.pl.Deploy = ir.Deploy{Parallelism: 4, MaxParallelism: 32, CPU: 2, Memory: "4Gi", Replicas: 2,
		Checkpoint: ir.Checkpoint{Interval: 30 * time.Second, Dir: "s3://ck/features", SavepointDir: "s3://sp/features", StateBackend: "rocksdb", UpgradeMode: "savepoint"},
		Config:     []ir.KV{{Key: "table.exec.state.ttl", Value: "1 d"}}}
	b.pl.Labels = []ir.KV{{Key: "tier", Value: "1"}}
	b.pl.Owner = "market-data"
	src := &ir.Source{Connector: ir.Connector{Kind: "kafka", Format: "avro", Options: []ir.Option{
		{Key: "brokers", Value: []any{"k1:9092", "k2:9092"}}, {Key: "schemaRegistry", Value: "http://registry:8081"},
		{Key: "startingOffsets", Value: "earliest"}, {Key: "topic", Value: "md.trades"},
		{Key: "username", Value: "svc"}, {Key: "password", Value: &ir.Secret{Name: "kafka", Key: "password"}}}},
		Schema: trade, EventTime: "ts", MaxOutOfOrderness: 5 * time.Second, OnError: ir.FailOnError}
	trades := b.add("trades", src, trade, "ts")
	quotes := b.add("quotes", kafkaSource("md.quotes", quote, "ts", 250*time.Millisecond), quote, "ts")
	lit := b.add("lit", &ir.Filter{Where: call(ir.FnAnd, tB,
		call(ir.FnNe, tB, ref("venue", tStr), litE("it's -- /* x */ \n ünï", tStr)),
		call(ir.FnGt, tB, ref("size", tI64), litE(int64(0), tI64)))}, trade, "ts", trades)
	notional := rec(append(append([]rtype.Field{}, trade.Fields...), f("notional", tDec(38, 6)))...)
	var mcols []ir.Column
	for _, fl := range trade.Fields {
		mcols = append(mcols, col(fl.Name, ref(fl.Name, fl.Type)))
	}
	mcols = append(mcols, col("notional", call(ir.FnMul, tDec(38, 6), ref("price", tDec(18, 6)), ref("size", tI64))))
	mapped := b.add("notional", &ir.Map{Columns: mcols}, notional, "ts", lit)
	rollOut := rec(append(append([]rtype.Field{}, notional.Fields...), f("avg_px_20", tDec(38, 6)), f("last_px", tDec(18, 6)))...)
	roll := b.add("rolling", &ir.Rolling{Keys: keyCols(trade, "symbol"), OrderBy: "ts", Rows: 20,
		Columns: []ir.Column{col("avg_px_20", call(ir.FnAvg, tDec(38, 6), ref("price", tDec(18, 6)))), col("last_px", call(ir.FnLast, tDec(18, 6), ref("price", tDec(18, 6))))}}, rollOut, "ts", mapped)
	spreadOut := rec(f("symbol", tStr), f("ts", tTS), f("price", tDec(18, 6)), f("spread", tDec(19, 6)))
	spread := b.add("with_quote", &ir.Join{Type: ir.Left, On: []ir.KeyPair{{Left: "symbol", Right: "symbol"}}, Lower: -2 * time.Second, Upper: 0,
		Columns: []ir.Column{col("symbol", refIn(0, "symbol", tStr)), col("ts", refIn(0, "ts", tTS)), col("price", refIn(0, "price", tDec(18, 6))),
			col("spread", call(ir.FnSub, tDec(19, 6), refIn(1, "ask", tDec(18, 6)), refIn(1, "bid", tDec(18, 6))))}}, spreadOut, "ts", roll, quotes)
	wjOut := windowed(f("symbol", tStr), f("price", tDec(18, 6)), f("bid", tDec(18, 6)))
	wj := b.add("same_minute", &ir.Join{Type: ir.Inner, On: []ir.KeyPair{{Left: "symbol", Right: "symbol"}}, Window: &ir.Window{Kind: ir.Hop, Size: time.Minute, Slide: 30 * time.Second},
		Columns: []ir.Column{col(ir.WindowStart, refIn(0, ir.WindowStart, tTS)), col(ir.WindowEnd, refIn(0, ir.WindowEnd, tTS)), col("symbol", refIn(0, "symbol", tStr)), col("price", refIn(0, "price", tDec(18, 6))), col("bid", refIn(1, "bid", tDec(18, 6)))}}, wjOut, "", lit, quotes)
	ref_ := rec(f("symbol", tStr), f("sector", tStr))
	lkOut := rec(f("symbol", tStr), f("ts", tTS), f("price", tDec(18, 6)), rtype.Field{Name: "sector", Type: tStr, Nullable: true})
	lk := b.add("enriched", &ir.Lookup{Type: ir.Left, Table: ir.Connector{Kind: "postgres", Options: []ir.Option{{Key: "password", Value: &ir.Secret{Name: "refdata-db", Key: "password"}}, {Key: "table", Value: "ref.symbols"}, {Key: "url", Value: "postgres://pg:5432/ref"}, {Key: "user", Value: "reader"}}},
		Schema: ref_, On: []ir.KeyPair{{Left: "symbol", Right: "symbol"}}, CacheTTL: 10 * time.Minute, CacheRows: 10000,
		Columns: []ir.Column{col("symbol", refIn(0, "symbol", tStr)), col("ts", refIn(0, "ts", tTS)), col("price", refIn(0, "price", tDec(18, 6))), col("sector", refIn(1, "sector", tStr))}}, lkOut, "ts", spread)
	patOut := rec(f("symbol", tStr), f("start_px", tDec(18, 6)), f("peak", tDec(18, 6)), f("n", tI64))
	pat := b.add("spikes", &ir.Pattern{PartitionBy: keyCols(trade, "symbol"), OrderBy: "ts",
		Terms: []ir.PatternTerm{{Var: "A", Quant: ir.Quantifier{Min: 1, Max: 1, Greedy: true}}, {Var: "B", Quant: ir.Quantifier{Min: 2, Max: 4, Greedy: false}}, {Var: "C", Quant: ir.Quantifier{Min: 1, Max: -1, Greedy: false}}},
		Define: []ir.Column{col("B", call(ir.FnGt, tB, refVar("B", "price", tDec(18, 6)), call(ir.FnLast, tDec(18, 6), refVar("B", "price", tDec(18, 6)), litE(int64(1), tI64)))),
			col("C", call(ir.FnGt, tB, ref("price", tDec(18, 6)), call(ir.FnMul, tDec(38, 6), refVar("A", "price", tDec(18, 6)), litE(ir.Decimal("1.02"), tDec(3, 2)))))},
		Measures: []ir.Column{col("start_px", refVar("A", "price", tDec(18, 6))), col("peak", call(ir.FnMax, tDec(18, 6), refVar("C", "price", tDec(18, 6)))), col("n", call(ir.FnCount, tI64, refVar("C", "price", tDec(18, 6))))},
		Within:   time.Minute, Skip: ir.SkipToFirst, SkipTo: "C"}, patOut, "", lit)
	latest := b.add("latest_quote", &ir.Dedupe{Keys: keyCols(quote, "symbol"), KeepLast: true, OrderBy: "ts"}, quote, "ts", quotes)
	topOut := windowed(append(append([]rtype.Field{}, trade.Fields...), f("rank", tI64))...)
	top := b.add("biggest", &ir.TopN{Keys: keyCols(trade, "symbol"), OrderBy: []ir.Order{{Field: "size", Desc: true}, {Field: "ts"}}, N: 3, Window: &ir.Window{Kind: ir.Tumble, Size: 5 * time.Minute, Offset: time.Minute}, RankField: "rank"}, topOut, "", lit)
	barsOut := windowed(f("symbol", tStr), f("volume", tI64), f("vwap", tDec(38, 6)), f("hi", tDec(18, 6)))
	bars := b.add("bars", &ir.Aggregate{Keys: keyCols(trade, "symbol"), Window: &ir.Window{Kind: ir.Cumulate, Size: time.Hour, Step: 10 * time.Minute},
		Columns: []ir.Column{col("volume", call(ir.FnSum, tI64, ref("size", tI64))),
			col("vwap", call(ir.FnDiv, tDec(38, 6), call(ir.FnSum, tDec(38, 6), call(ir.FnMul, tDec(38, 6), ref("price", tDec(18, 6)), ref("size", tI64))), call(ir.FnSum, tI64, ref("size", tI64)))),
			col("hi", call(ir.FnMax, tDec(18, 6), ref("price", tDec(18, 6))))},
		Having: call(ir.FnGt, tB, ref("volume", tI64), litE(int64(100), tI64))}, barsOut, ir.WindowEnd, lit)
	hourly := windowed(f("symbol", tStr), f("volume", tI64))
	cascade := b.add("hourly", &ir.Aggregate{Keys: keyCols(barsOut, "symbol"), Window: &ir.Window{Kind: ir.Tumble, Size: 2 * time.Hour},
		Columns: []ir.Column{col("volume", call(ir.FnSum, tI64, ref("volume", tI64)))}}, hourly, ir.WindowEnd, bars)
	both := b.add("all_trades", &ir.Union{}, trade, "ts", lit, trades)
	b.add("to_kafka", &ir.Sink{Connector: ir.Connector{Kind: "kafka", Format: "avro", Options: []ir.Option{{Key: "brokers", Value: []any{"k1:9092"}}, {Key: "schemaRegistry", Value: "http://registry:8081"}, {Key: "topic", Value: "md.latest"}}}, Key: []string{"symbol"}}, quote, "", latest)
	b.add("to_pg", &ir.Sink{Connector: ir.Connector{Kind: "timescale", Options: []ir.Option{{Key: "batchSize", Value: int64(500)}, {Key: "password", Value: &ir.Secret{Name: "tsdb", Key: "password"}}, {Key: "table", Value: "analytics.bars"}, {Key: "url", Value: "postgres://tsdb:5432/md"}, {Key: "user", Value: "writer"}}}, Key: []string{"symbol", ir.WindowStart}}, barsOut, "", bars)
	b.add("to_mongo", &ir.Sink{Connector: ir.Connector{Kind: "mongodb", Options: []ir.Option{{Key: "collection", Value: "spikes"}, {Key: "database", Value: "md"}, {Key: "uri", Value: &ir.Secret{Name: "mongo", Key: "uri"}}}}}, patOut, "", pat)
	b.add("to_hbase", &ir.Sink{Connector: ir.Connector{Kind: "hbase", Options: []ir.Option{{Key: "columnFamily", Value: "q"}, {Key: "table", Value: "md:enriched"}, {Key: "zookeeper", Value: "zk:2181"}}}, Key: []string{"symbol"}}, lkOut, "", lk)
	b.add("to_s3", &ir.Sink{Connector: ir.Connector{Kind: "s3", Format: "parquet", Options: []ir.Option{{Key: "accessKey", Value: &ir.Secret{Name: "minio", Key: "access-key"}}, {Key: "bucket", Value: "lake"}, {Key: "compression", Value: "zstd"}, {Key: "endpoint", Value: "http://minio:9000"}, {Key: "partitionBy", Value: []any{"symbol"}}, {Key: "path", Value: "top/"}, {Key: "pathStyle", Value: true}, {Key: "secretKey", Value: &ir.Secret{Name: "minio", Key: "secret-key"}}}}}, topOut, "", top)
	b.add("to_stdout", &ir.Sink{Connector: ir.Connector{Kind: "stdout"}}, wjOut, "", wj)
	b.add("hourly_out", kafkaSink("md.hourly"), hourly, "", cascade)
	b.add("all_out", kafkaSink("md.all"), trade, "", both)
	return b.pl
}

// stripSecrets removes secret options (session jobs cannot use them).
func stripSecrets(pl *ir.Pipeline) {
	strip := func(c *ir.Connector) {
		var keep []ir.Option
		for _, o := range c.Options {
			if _, ok := o.Value.(*ir.Secret); !ok && o.Key != "username" {
				keep = append(keep, o)
			}
		}
		c.Options = keep
	}
	for _, n := range pl.Nodes {
		switch op := n.Op.(type) {
		case *ir.Source:
			strip(&op.Connector)
		case *ir.Sink:
			strip(&op.Connector)
		case *ir.Lookup:
			strip(&op.Table)
		}
	}
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

func TestFeaturesGolden(t *testing.T) {
	golden.Run(t, "testdata/features", func(gt *golden.T) {
		pl := features()
		opts := testOpts
		if strings.Contains(string(gt.Archive.Comment), "session") {
			stripSecrets(pl)
			opts = &backends.Options{Version: "test", Settings: map[string]string{SetSession: "shared-session", SetRunnerJar: "https://repo.example/sql-runner.jar", SetOLURL: "http://marquez:5000"}}
		}
		set, ds := generateAll(gt.T, program(pl), opts)
		if ds.HasErrors() {
			gt.Errorf("errors: %v", ds)
		}
		for name, data := range render(set, ds) {
			gt.Out(name, data)
		}
		checkArtifacts(gt.T, set)
	})
}

// checkArtifacts: manifests decode; the SQL survives the runner's splitting
// into the statements we wrote.
func checkArtifacts(t *testing.T, set *artifact.Set) {
	t.Helper()
	if set == nil {
		return
	}
	for _, f := range set.Files {
		switch f.Kind {
		case artifact.Manifest, artifact.YAML:
			if _, err := k8s.Decode(f.Data); err != nil {
				t.Errorf("%s: %v", f.Path, err)
			}
		case artifact.SQL:
			checkRunnerSafe(t, f.Path, string(f.Data))
		}
	}
}

// runnerComment is the SQL runner's comment regex.
var runnerComment = regexp.MustCompile(`(--.*)|(((/\*)+?[\w\W]+?(\*/)+))`)

// checkRunnerSafe replays the runner's parsing: comment stripping may only
// remove our own header, and every statement must end where we ended it.
func checkRunnerSafe(t *testing.T, name, sql string) {
	t.Helper()
	stripped := runnerComment.ReplaceAllString(sql, "")
	header := "-- Generated by rtsapc; do not edit. Flink SQL, run by the SQL runner."
	if stripped != strings.Replace(sql, header, "", 1) {
		t.Errorf("%s: the runner's comment stripping changes the script beyond the header", name)
	}
	var stmts []string
	var cur []string
	set := false
	for _, line := range strings.Split(stripped, "\n") {
		tr := strings.TrimSpace(line)
		if tr == "" {
			continue
		}
		if strings.HasPrefix(tr, "EXECUTE STATEMENT SET") {
			set = true
		}
		cur = append(cur, tr)
		if strings.HasSuffix(tr, ";") && (!set || tr == "END;") {
			stmts = append(stmts, strings.Join(cur, "\n"))
			cur, set = nil, false
		}
	}
	if len(cur) != 0 {
		t.Errorf("%s: unterminated statement %q", name, cur)
	}
	for _, s := range stmts {
		if !strings.HasPrefix(s, "SET ") && !strings.HasPrefix(s, "CREATE ") && !strings.HasPrefix(s, "EXECUTE STATEMENT SET") {
			t.Errorf("%s: the runner would split a statement: %q", name, s)
		}
	}
}

// The flagship and other examples through the real front-end and compiler.
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
		checkArtifacts(gt.T, set)
	})
}

// Every custom resource validates against the operator's CRD.
func TestManifestsValidateAgainstCRDs(t *testing.T) {
	set := crdSet(t)
	for _, opts := range []*backends.Options{testOpts, {Settings: map[string]string{SetSession: "s", SetRunnerJar: "https://x/r.jar"}}} {
		pl := features()
		if opts != testOpts {
			stripSecrets(pl)
		}
		out, ds := generateAll(t, program(pl), opts)
		if ds.HasErrors() {
			t.Fatal(ds)
		}
		if n := len(customResources(t, set, out)); n != 1 {
			t.Errorf("%d custom resources", n)
		}
	}
}

// crdSet loads the Flink operator's CRDs, skipping loudly without them.
func crdSet(t *testing.T) *crd.Set {
	t.Helper()
	dir, ok := crd.FindSchemas()
	if !ok {
		t.Skip("SKIPPING: ../shared/schemas not found; CRD validation is NOT tested")
	}
	set, err := crd.Cached(filepath.Join(dir, "flink"))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// customResources validates every Flink operator resource of out against
// set and returns them.
func customResources(t *testing.T, set *crd.Set, out *artifact.Set) []*artifact.File {
	t.Helper()
	var crs []*artifact.File
	for _, f := range out.Files {
		if f.Kind == artifact.Manifest && f.Object.APIVersion == "flink.apache.org/v1beta1" {
			crs = append(crs, f)
			if errs := set.ValidateYAML(f.Data); len(errs) > 0 {
				t.Errorf("%s: %v", f.Path, errs)
			}
		}
	}
	return crs
}

// An invalid resource is reported as InvalidArtifact by Generate.
func TestInvalidResourceIsReported(t *testing.T) {
	if _, ok := crd.FindSchemas(); !ok {
		t.Skip("SKIPPING: ../shared/schemas not found; CRD validation is NOT tested")
	}
	pl := features()
	opts := &backends.Options{Settings: map[string]string{SetVersion: "2.3"}} // v2_3 is not in the 1.15 CRD
	_, ds := generateAll(t, program(pl), opts)
	found := false
	for _, d := range ds {
		if d.Code == diag.InvalidArtifact && strings.Contains(d.Detail, "v2_3") {
			found = true
		}
	}
	if !found {
		t.Errorf("want InvalidArtifact for flinkVersion v2_3, got %v", ds)
	}
}

func TestOperatorRules(t *testing.T) {
	pl := features()
	pl.Deploy.Config = append(pl.Deploy.Config, ir.KV{Key: "kubernetes.cluster-id", Value: "x"})
	_, ds := generateAll(t, program(pl), testOpts)
	if !hasCode(ds, diag.FlinkInvalidDeployment) {
		t.Errorf("forbidden key not reported: %v", ds)
	}
	pl = features()
	pl.Deploy.Checkpoint.UpgradeMode = "sometimes"
	_, ds = generateAll(t, program(pl), testOpts)
	if !hasCode(ds, diag.FlinkInvalidDeployment) {
		t.Errorf("bad upgrade mode not reported: %v", ds)
	}
	_, ds = generateAll(t, program(features()), &backends.Options{Settings: map[string]string{SetSession: "s"}})
	if !hasCode(ds, diag.FlinkInvalidDeployment) {
		t.Errorf("session job with a local: jar not reported: %v", ds)
	}
	// Long and odd pipeline names derive a valid resource name; two that
	// derive the same name collide.
	a, b := features(), features()
	a.Name, b.Name = "Features", DeriveFor("Features")
	set, ds := generateAll(t, program(a, b), testOpts)
	if !hasCode(ds, diag.FlinkNameCollision) {
		t.Errorf("collision not reported: %v (%d files)", ds, len(set.Files))
	}
}

// DeriveFor exposes the resource-name derivation for tests.
func DeriveFor(name string) string { return k8s.DeriveName(name, nameRule) }

func hasCode(ds diag.Diagnostics, c diag.Code) bool {
	for _, d := range ds {
		if d.Code == c {
			return true
		}
	}
	return false
}

func TestCapabilityErrorsArePositioned(t *testing.T) {
	b := newPipeline("caps")
	s := kafkaSource("t", rec(f("k", tStr), f("x", tF64), f("ts", tTS)), "ts", 0)
	s.OnError = ir.SkipOnError
	src := b.add("src", s, s.Schema, "ts")
	b.pl.Nodes[0].Pos = diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 3, Column: 5}}
	agg := &ir.Aggregate{Keys: keyCols(s.Schema, "k"), Window: &ir.Window{Kind: ir.Tumble, Size: time.Minute}, AllowedLateness: time.Second,
		Columns: []ir.Column{col("first_x", &ir.Expr{Kind: ir.Call, Fn: ir.FnFirst, Type: tF64, Args: []*ir.Expr{ref("x", tF64)}, Text: "first(x)", Pos: diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 9, Column: 22}}})}}
	id := b.add("agg", agg, windowed(f("k", tStr), f("first_x", tF64)), ir.WindowEnd, src)
	b.pl.Nodes[1].Pos = diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 8, Column: 3}}
	b.add("out", kafkaSink("o"), b.node(id).Out, "", id)
	ds := Backend.Check(b.pl, nil)
	var got []string
	for _, d := range ds.Sort() {
		got = append(got, d.Subject.String()+" "+d.Code.String())
	}
	want := []string{"p.cue:3:5 RTS4000", "p.cue:8:3 RTS4000", "p.cue:9:22 RTS4002"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}
}

// hostile reads a corpus file of ../shared/hostile.
func hostile(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sharedDir(t), "hostile", file))
	if err != nil {
		t.Skipf("SKIPPING: hostile corpus not found: %v", err)
	}
	var out []string
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Hostile names as pipeline, node and field names, hostile strings as
// literals and options: either a positioned FlinkRunnerUnsafeName error, or
// SQL whose identifiers and literals read back (by our lexer, which follows
// Flink's quoting rules) as exactly the original values, that the runner
// leaves intact, and manifests that validate.
func TestHostileNamesAndStrings(t *testing.T) {
	names := hostile(t, "names.json")
	strs := hostile(t, "strings.json")
	var pls []*ir.Pipeline
	for i, name := range names {
		sch := rec(f(name, tStr), f("ts", tTS))
		b := newPipeline(name)
		b.pl.Description = name
		src := b.add(name, kafkaSource("t", sch, "ts", 0), sch, "ts")
		s := strs[i%len(strs)]
		flt := b.add(name+"_f", &ir.Filter{Where: call(ir.FnNe, tB, ref(name, tStr), litE(s, tStr))}, sch, "ts", src)
		sink := kafkaSink("out")
		sink.Connector.Options = append(sink.Connector.Options, ir.Option{Key: "properties", Value: []ir.Option{{Key: "client.id", Value: s}}})
		b.add(name+"_out", sink, sch, "", flt)
		pls = append(pls, b.pl)
		sc := newScript(b.pl, testOpts)
		sql := sc.build()
		if why := runnerUnsafe(name); why != "" {
			if !hasCode(sc.diags, diag.FlinkRunnerUnsafeName) {
				t.Errorf("%q: runner-unsafe name not reported", name)
			}
			continue
		}
		if sc.diags.HasErrors() {
			t.Errorf("%q: %v", name, sc.diags)
			continue
		}
		checkRunnerSafe(t, name, sql)
		ids, strsGot := map[string]bool{}, map[string]bool{}
		for _, tk := range lex(sql) {
			switch tk.kind {
			case 'i':
				ids[tk.text] = true
			case 's':
				strsGot[tk.text] = true
			}
		}
		for _, want := range []string{name, name + "_f", name + "_out"} {
			if !ids[want] {
				t.Errorf("%q: identifier %q not found in the SQL", name, want)
			}
		}
		if !strsGot[s] {
			t.Errorf("%q: literal %q not found in the SQL:\n%s", name, s, sql)
		}
	}
	// All pipelines that pass Check generate manifests that validate.
	var ok []*ir.Pipeline
	for _, pl := range pls {
		if !Backend.Check(pl, testOpts).HasErrors() {
			ok = append(ok, pl)
		}
	}
	set, ds := Backend.Generate(&backends.Gen{Program: program(ok...), Pipelines: ok, Options: testOpts})
	if ds.HasErrors() {
		t.Fatalf("%v", ds)
	}
	var paths []string
	for _, f := range set.Files {
		paths = append(paths, f.Path)
		if f.Kind == artifact.Manifest {
			obj, err := k8s.Decode(f.Data)
			if err != nil {
				t.Fatalf("%s: %v", f.Path, err)
			}
			md := obj["metadata"].(map[string]any)
			if pl := md["annotations"].(map[string]any)[k8s.AnnoPipeline]; pl != f.Pipeline {
				t.Errorf("%s: pipeline annotation %q, want %q", f.Path, pl, f.Pipeline)
			}
		}
	}
	sort.Strings(paths)
	if err := set.Validate(); err != nil {
		t.Error(err)
	}
}

func TestLiteralQuoting(t *testing.T) {
	for _, s := range []string{"", "plain", "it's", "a--b", "/* c */", "line\nbreak", "tab\t", "ünï", "emoji 📈", "back\\slash", "\x00", "${HOME}"} {
		q := lit(s)
		toks := lex(q)
		if len(toks) != 1 || toks[0].kind != 's' || toks[0].text != s {
			t.Errorf("lit(%q) = %s reads back as %v", s, q, toks)
		}
		if strings.Contains(q, "--") || strings.Contains(q, "/*") || strings.ContainsAny(q, "\n\r\x00") {
			t.Errorf("lit(%q) = %s holds text the runner mangles", s, q)
		}
	}
	for d, want := range map[time.Duration]string{
		5 * time.Second: "INTERVAL '5' SECOND", 90 * time.Minute: "INTERVAL '90' MINUTE", 250 * time.Millisecond: "INTERVAL '0.25' SECOND",
		100 * time.Hour: "INTERVAL '100' HOUR(3)", 48 * time.Hour: "INTERVAL '2' DAY", 1500 * time.Millisecond: "INTERVAL '1.5' SECOND",
	} {
		if got := interval(d); got != want {
			t.Errorf("interval(%v) = %s, want %s", d, got, want)
		}
	}
	if ident("a`b") != "`a``b`" {
		t.Error(ident("a`b"))
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
				if p, ok := n.Op.(*ir.Pattern); ok {
					p.Terms = nil
					p.Define = append(p.Define, ir.Column{Name: "Z"})
				}
			}
		},
		func(pl *ir.Pipeline) { pl.Nodes[0].Op.(*ir.Source).Schema = rec() },
	}
	for i, m := range mutations {
		pl := features()
		m(pl)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("mutation %d: panic: %v", i, r)
				}
			}()
			Backend.Check(pl, testOpts)
			Backend.Generate(&backends.Gen{Program: program(pl), Pipelines: []*ir.Pipeline{pl}, Options: testOpts})
		}()
	}
}

func TestSessionWithSeveralKeys(t *testing.T) {
	sql := genSQL(t, windowAgg(&ir.Window{Kind: ir.Session, Gap: time.Minute}, "item", "supplier_id"))
	got := findTVFs(viewOf(t, sql, "agg"))
	want := []tvfInfo{{Kind: "session", Partition: []string{"item", "supplier_id"}, TimeCol: "bidtime", Args: []time.Duration{time.Minute}}}
	same(t, "session TVF", got, want)
	if !strings.Contains(sql, "PARTITION BY (`item`, `supplier_id`)") {
		t.Errorf("several keys are not parenthesized:\n%s", sql)
	}
}

func TestInvalidLabelIsAUserError(t *testing.T) {
	pl := features()
	pl.Pos = diag.Range{Filename: "p.cue", Start: diag.Pos{Line: 2, Column: 1}}
	pl.Labels = append(pl.Labels, ir.KV{Key: "team", Value: "market data"})
	ds := Backend.Check(pl, testOpts)
	if !hasCode(ds, diag.UnrepresentableName) || ds[len(ds)-1].Subject == nil {
		t.Errorf("want a positioned UnrepresentableName, got %v", ds)
	}
}

// The init container's renderer substitutes secrets so that the SQL
// literals read back as the secret values, and refuses values the runner
// would corrupt.
func TestRenderScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("SKIPPING: bash not found; the secret renderer is NOT tested")
	}
	dir := t.TempDir()
	script := strings.ReplaceAll(strings.ReplaceAll(renderScript([]string{"RTSAP_SECRET_A", "RTSAP_SECRET_B"}), templateMount, dir+"/t"), scriptMount, dir+"/s")
	os.MkdirAll(dir+"/t", 0o755)
	os.MkdirAll(dir+"/s", 0o755)
	tmpl := "SELECT '${RTSAP_SECRET_A}', 'x password=\"${RTSAP_SECRET_B|jaas}\";', '${RTSAP_SECRET_B}';\n"
	if err := os.WriteFile(dir+"/t/"+scriptFile, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ a, b string }{{"plain", "p4ss"}, {`it's & $HOME \ "q"`, `a"b\c'd&e${x}`}} {
		cmd := exec.Command(bash, "-c", script)
		cmd.Env = append(os.Environ(), "RTSAP_SECRET_A="+c.a, "RTSAP_SECRET_B="+c.b)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		got, _ := os.ReadFile(dir + "/s/" + scriptFile)
		var lits []string
		for _, tk := range lex(string(got)) {
			if tk.kind == 's' {
				lits = append(lits, tk.text)
			}
		}
		jq := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(c.b)
		want := []string{c.a, `x password="` + jq + `";`, c.b}
		if strings.Join(lits, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("rendered %q\nliterals %q\nwant     %q", got, lits, want)
		}
	}
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = append(os.Environ(), "RTSAP_SECRET_A=a--b", "RTSAP_SECRET_B=x")
	if err := cmd.Run(); err == nil {
		t.Error("a secret with -- was rendered")
	}
}
