package beamrt_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/backends/beamgo"
	"rtsap.dev/rtsapc/compiler"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/internal/market"
	"rtsap.dev/rtsapc/lang/cuespec"
	"rtsap.dev/rtsapc/runtime/beamrt"
	"rtsap.dev/rtsapc/runtime/format"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/filesink"
	"rtsap.dev/rtsapc/runtime/sink/s3"
)

// examplePipeline compiles an example and returns its pipeline named name,
// which must pass the Beam backend's check.
func examplePipeline(t *testing.T, example, name string) *ir.Pipeline {
	t.Helper()
	f, ds := cuespec.Load(&cuespec.Config{Dir: exampleDir(t, example)}, []string{"."})
	if ds.HasErrors() {
		t.Fatalf("load: %v", ds)
	}
	prog, cds := compiler.Compile(f, &compiler.Config{})
	if cds.HasErrors() {
		t.Fatalf("compile: %v", cds)
	}
	pl := prog.Pipeline(name)
	if pl == nil {
		t.Fatalf("example %s has no pipeline %q", example, name)
	}
	if ds := beamgo.Check(pl); ds.HasErrors() {
		t.Fatalf("beam check of %s: %v", name, ds)
	}
	return pl
}

// fakeS3 is an in-process S3 server (gofakes3, in memory) and our client.
func fakeS3(t *testing.T, buckets ...string) (*httptest.Server, *s3.Client) {
	t.Helper()
	be := s3mem.New()
	for _, b := range buckets {
		if err := be.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "rtsapc-test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "rtsapc-test-secret")
	return srv, &s3.Client{Endpoint: srv.URL, PathStyle: true, Creds: s3.Credentials{AccessKey: "rtsapc-test", SecretKey: "rtsapc-test-secret"}}
}

type dayBar struct {
	open, high, low, close *apd.Decimal
	firstT, lastT          time.Time
	pv                     *apd.Decimal
	vol, trades            int64
}

// TestExampleNightlyBacktestS3: the nightly-backtest batch pipeline reads
// the trade archive as Parquet objects from S3 (gofakes3 over HTTP, through
// our SigV4 client), computes daily OHLC bars, 20/50-day moving averages
// and crossover signals, and the daily top movers. Every output row is
// checked against values computed here from the same trades.
func TestExampleNightlyBacktestS3(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	pl := examplePipeline(t, "nightly-backtest", "nightly-backtest")
	src := pl.Lookup("trades").Op.(*ir.Source)
	srv, cl := fakeS3(t, "md-archive")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// ~70 days of trades, one every 15 minutes across the instruments,
	// as seven Parquet objects written by our file sink to S3.
	fd := market.NewFeed(src.Schema, src.EventTime, market.Config{Seed: 11, Rate: 1.0 / 900})
	var trades []row.Row
	for part := 0; part < 7; part++ {
		w, err := filesink.New(filesink.Config{Store: filesink.S3{Client: cl, Bucket: "md-archive"},
			Name: fmt.Sprintf("equities/trades/part-%02d.parquet", part), Format: filesink.ParquetFormat, Record: src.Schema})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Open(ctx); err != nil {
			t.Fatal(err)
		}
		var rows []row.Row
		for i := 0; i < 960; i++ {
			r, _ := fd.Next()
			rows = append(rows, r)
		}
		if err := w.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		trades = append(trades, rows...)
	}
	// Markers and objects outside the prefix are not data.
	for _, key := range []string{"equities/trades/_SUCCESS", "equities/quotes/part-00.parquet"} {
		if err := cl.Put(ctx, "md-archive", key, strings.NewReader("not parquet"), 11, sha256Hex("not parquet")); err != nil {
			t.Fatal(err)
		}
	}

	out := t.TempDir()
	beamrt.ResetWatermarks()
	if err := beamrt.Run(ctx, pl, beamrt.Options{Bounded: true, OutDir: out, Set: []string{"trades.endpoint=" + srv.URL}}); err != nil {
		t.Fatal(err)
	}

	idx := map[string]int{}
	for i, f := range src.Schema.Fields {
		idx[f.Name] = i
	}
	bars := map[string]*dayBar{}
	for _, r := range trades {
		p := r[idx["price"]].(*apd.Decimal)
		s := r[idx["size"]].(int64)
		ts := r[idx["ts"]].(time.Time)
		k := fmt.Sprintf("%d|%s", ts.UnixMilli()/86400000*86400000, r[idx["symbol"]])
		b := bars[k]
		if b == nil {
			b = &dayBar{open: p, high: p, low: p, close: p, firstT: ts, lastT: ts, pv: new(apd.Decimal)}
			bars[k] = b
		}
		pv := new(apd.Decimal)
		c := apd.BaseContext.WithPrecision(40)
		c.Mul(pv, p, apd.New(s, 0))
		c.Add(b.pv, b.pv, pv)
		b.vol += s
		b.trades++
		if p.Cmp(b.high) > 0 {
			b.high = p
		}
		if p.Cmp(b.low) < 0 {
			b.low = p
		}
		if ts.Before(b.firstT) || (ts.Equal(b.firstT) && p.Cmp(b.open) < 0) {
			b.firstT, b.open = ts, p
		}
		if ts.After(b.lastT) || (ts.Equal(b.lastT) && p.Cmp(b.close) > 0) {
			b.lastT, b.close = ts, p
		}
	}
	// Moving averages per symbol over the days in order.
	type sig struct{ sma20, sma50 float64 }
	sigs := map[string]sig{}
	bySym := map[string][]int64{}
	for k := range bars {
		ds, sym, _ := strings.Cut(k, "|")
		d, _ := strconv.ParseInt(ds, 10, 64)
		bySym[sym] = append(bySym[sym], d)
	}
	for sym, days := range bySym {
		sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
		closes := make([]float64, len(days))
		for i, d := range days {
			closes[i], _ = strconv.ParseFloat(bars[fmt.Sprintf("%d|%s", d, sym)].close.Text('f'), 64)
		}
		mean := func(i, n int) float64 {
			sum, cnt := 0.0, 0
			for j := max(0, i-n+1); j <= i; j++ {
				sum += closes[j]
				cnt++
			}
			return sum / float64(cnt)
		}
		for i, d := range days {
			sigs[fmt.Sprintf("%d|%s", d, sym)] = sig{mean(i, 20), mean(i, 50)}
		}
	}
	vwap := func(b *dayBar) string {
		num, _ := new(big.Rat).SetString(b.pv.Text('f'))
		return num.Quo(num, big.NewRat(b.vol, 1)).FloatString(6)
	}
	key := func(r map[string]any) string {
		ws, err := time.Parse(time.RFC3339, r["window_start"].(string))
		if err != nil {
			t.Fatalf("window_start %v: %v", r["window_start"], err)
		}
		return fmt.Sprintf("%d|%s", ws.UnixMilli(), r["symbol"])
	}
	num := func(r map[string]any, f string) string {
		n, ok := r[f].(json.Number)
		if !ok {
			return fmt.Sprint(r[f])
		}
		return n.String()
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

	rows := readJSONL(t, filepath.Join(out, "bars.jsonl"))
	if len(rows) != len(bars) || len(bars) < 100 {
		t.Errorf("bars: %d rows, want %d", len(rows), len(bars))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		k := key(r)
		b := bars[k]
		if b == nil || seen[k] {
			t.Errorf("bars: unexpected or duplicate row %v", r)
			continue
		}
		seen[k] = true
		for f, want := range map[string]string{"open": b.open.Text('f'), "high": b.high.Text('f'), "low": b.low.Text('f'),
			"close": b.close.Text('f'), "volume": fmt.Sprint(b.vol), "trades": fmt.Sprint(b.trades), "vwap": vwap(b)} {
			if got := num(r, f); got != want {
				t.Errorf("bars %s: %s = %s, want %s", k, f, got, want)
			}
		}
		s := sigs[k]
		sma20, _ := strconv.ParseFloat(num(r, "sma20"), 64)
		sma50, _ := strconv.ParseFloat(num(r, "sma50"), 64)
		if !near(sma20, s.sma20) || !near(sma50, s.sma50) {
			t.Errorf("bars %s: sma20 %v sma50 %v, want %v %v", k, sma20, sma50, s.sma20, s.sma50)
		}
		want := "-1"
		if s.sma20 > s.sma50 {
			want = "1"
		}
		if got := num(r, "signal"); got != want && !near(s.sma20, s.sma50) {
			t.Errorf("bars %s: signal %s, want %s", k, got, want)
		}
	}

	// Top movers: per day, the 20 largest volumes, ranked from 1.
	movers := readJSONL(t, filepath.Join(out, "movers.jsonl"))
	perDay := map[int64][]map[string]any{}
	for _, r := range movers {
		ws, _ := time.Parse(time.RFC3339, r["window_start"].(string))
		perDay[ws.UnixMilli()] = append(perDay[ws.UnixMilli()], r)
	}
	daySyms := map[int64][]int64{} // volumes of the day
	for k, b := range bars {
		ds, _, _ := strings.Cut(k, "|")
		d, _ := strconv.ParseInt(ds, 10, 64)
		daySyms[d] = append(daySyms[d], b.vol)
	}
	if len(perDay) != len(daySyms) {
		t.Errorf("movers: %d days, want %d", len(perDay), len(daySyms))
	}
	for d, vols := range daySyms {
		rs := perDay[d]
		sort.Slice(vols, func(i, j int) bool { return vols[i] > vols[j] })
		if len(vols) > 20 {
			vols = vols[:20]
		}
		if len(rs) != len(vols) {
			t.Errorf("movers day %d: %d rows, want %d", d, len(rs), len(vols))
			continue
		}
		rank := func(r map[string]any) int { n, _ := strconv.Atoi(num(r, "rank")); return n }
		sort.Slice(rs, func(i, j int) bool { return rank(rs[i]) < rank(rs[j]) })
		for i, r := range rs {
			b := bars[key(r)]
			if b == nil {
				t.Errorf("movers: unexpected %v", r)
				continue
			}
			if rank(r) != i+1 {
				t.Errorf("movers day %d: rank %d at position %d", d, rank(r), i+1)
			}
			if got := num(r, "volume"); got != fmt.Sprint(b.vol) || b.vol != vols[i] {
				t.Errorf("movers day %d rank %d: volume %s (bar %d), want %d", d, i+1, got, b.vol, vols[i])
			}
		}
	}
	t.Logf("%d trades in 7 Parquet objects → %d daily bars, %d mover days", len(trades), len(rows), len(perDay))
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// newsFeedServer serves pages of REST articles with a cursor, as the
// news-ingest source expects ($.data.articles, next_cursor), checking the
// API key; its first request for page 1 fails with 503.
type newsFeedServer struct {
	mu       sync.Mutex
	pages    [][]json.RawMessage
	requests []string
	failed   bool
}

func (s *newsFeedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := r.URL.Query().Get("cursor")
	s.requests = append(s.requests, cur)
	if r.Header.Get("X-Api-Key") != "k3y" || r.URL.Query().Get("category") != "markets" {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	page := 0
	if cur != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(cur, "c"))
		if err != nil {
			http.Error(w, "bad cursor", http.StatusBadRequest)
			return
		}
		page = n
	}
	if page == 1 && !s.failed {
		s.failed = true
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	var arts []json.RawMessage
	if page < len(s.pages) {
		arts = s.pages[page]
	}
	next := fmt.Sprintf("c%d", page+1)
	if page >= len(s.pages) {
		next = cur
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"articles": arts}, "next_cursor": next})
}

// TestExampleNewsIngestHTTP: news-ingest polls the REST feed (an httptest
// server: three pages by cursor, an API key from a secret, one 503 and one
// malformed article) and publishes normalised articles to Kafka (kfake)
// through the Kafka sink. The topic holds every valid article once.
func TestExampleNewsIngestHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	pl := examplePipeline(t, "news-sentiment", "news-ingest")
	src := pl.Lookup("rest").Op.(*ir.Source)
	t.Setenv("RTSAPC_SECRET_NEWSFEED_API_API_KEY", "k3y")
	fd := market.NewFeed(src.Schema, src.EventTime, market.Config{Seed: 3, Rate: 0.5})
	fs := &newsFeedServer{}
	var want []row.Row
	for p := 0; p < 3; p++ {
		var page []json.RawMessage
		for i := 0; i < 40; i++ {
			r, _ := fd.Next()
			want = append(want, r)
			page = append(page, format.AppendJSON(nil, src.Schema, r))
		}
		if p == 1 {
			page = append(page, json.RawMessage(`{"uuid":"bad-1","title":"no time"}`))
		}
		fs.pages = append(fs.pages, page)
	}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	c, _ := startKafka(t, "news.articles.rest.v1")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	beamrt.ResetWatermarks()
	err := beamrt.Run(ctx, pl, beamrt.Options{Bounded: true, Brokers: c.ListenAddrs()[0],
		Set: []string{"rest.url=" + srv.URL + "/v2/articles?lang=en&category=markets"}})
	if err != nil {
		t.Fatal(err)
	}
	fs.mu.Lock()
	t.Logf("requests by cursor: %q", fs.requests)
	if len(fs.requests) < 5 || fs.requests[0] != "" {
		t.Errorf("requests %q: want the first page, a retried page 1, then c2, c3", fs.requests)
	}
	fs.mu.Unlock()

	got := consumeAll(t, c.ListenAddrs(), "news.articles.rest.v1", len(want))
	if len(got) != len(want) {
		t.Fatalf("topic has %d articles, want %d", len(got), len(want))
	}
	idx := map[string]int{}
	for i, f := range src.Schema.Fields {
		idx[f.Name] = i
	}
	byID := map[string]map[string]any{}
	for _, m := range got {
		id, _ := m["id"].(string)
		if byID[id] != nil {
			t.Errorf("article %s twice", id)
		}
		byID[id] = m
	}
	for _, r := range want {
		id := r[idx["uuid"]].(string)
		m := byID[id]
		if m == nil {
			t.Errorf("article %s missing", id)
			continue
		}
		prov := r[idx["provider"]].(row.Row)
		pub := r[idx["published_at"]].(time.Time).Format("2006-01-02T15:04:05.000Z")
		body := r[idx["summary"]]
		if m["headline"] != r[idx["title"]] || m["source"] != prov[0] || m["published"] != pub || m["body"] != body {
			t.Errorf("article %s: %v, want title %v source %v published %v body %v", id, m, r[idx["title"]], prov[0], pub, body)
		}
	}
}

// consumeAll reads a topic from the start until n records or a quiet
// second.
func consumeAll(t *testing.T, brokers []string, topic string, n int) []map[string]any {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n+1 && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if len(out) >= n && fs.NumRecords() == 0 {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			var m map[string]any
			if err := json.Unmarshal(r.Value, &m); err != nil {
				t.Errorf("record %s: %v", r.Value, err)
			}
			out = append(out, m)
		})
	}
	return out
}

// TestExampleNewsSentiment: news-sentiment reads REST articles (JSON) and
// the vendor feed (Avro, every 25th payload corrupt) from kfake, unions
// and deduplicates them by id (first published wins: the vendor feed runs
// at twice the rate, so its copy of an id is earlier), scores headlines
// and writes both sinks and the dead letters under the run directory.
func TestExampleNewsSentiment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	pl := examplePipeline(t, "news-sentiment", "news-sentiment")
	rest := pl.Lookup("rest_news").Op.(*ir.Source)
	vendor := pl.Lookup("vendor_news").Op.(*ir.Source)
	c, cl := startKafka(t, beamrt.Topic(&rest.Connector), beamrt.Topic(&vendor.Connector))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	feed := func(op *ir.Source, seed int64, rate float64, bad, n int) []row.Row {
		fd := market.NewFeed(op.Schema, op.EventTime, market.Config{Seed: seed, Rate: rate, BadEvery: bad})
		enc, err := fd.NewEncoder(op.Connector.Format)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := market.Produce(ctx, cl, beamrt.Topic(&op.Connector), fd, enc, n, true)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	restRows := feed(rest, 21, 1, 0, 300)
	vendorRows := feed(vendor, 22, 2, 25, 200)

	out := t.TempDir()
	beamrt.ResetWatermarks()
	if err := beamrt.Run(ctx, pl, beamrt.Options{Bounded: true, Brokers: c.ListenAddrs()[0], OutDir: out}); err != nil {
		t.Fatal(err)
	}
	idx := map[string]int{}
	for i, f := range rest.Schema.Fields {
		idx[f.Name] = i
	}
	first := map[string]row.Row{}
	for _, r := range append(append([]row.Row{}, restRows...), vendorRows...) {
		id := r[idx["id"]].(string)
		if f, ok := first[id]; !ok || r[idx["published"]].(time.Time).Before(f[idx["published"]].(time.Time)) {
			first[id] = r
		}
	}
	score := func(h string) float64 {
		h = strings.ToLower(h)
		s := 0.0
		for w, v := range map[string]float64{"beats": 1, "upgrade": 1, "record high": 1, "misses": -1, "downgrade": -1, "investigation": -1.5} {
			if strings.Contains(h, w) {
				s += v
			}
		}
		return s
	}
	nonzero := 0
	for _, sinkName := range []string{"articles", "vectors"} {
		rows := readJSONL(t, filepath.Join(out, sinkName+".jsonl"))
		if len(rows) != len(first) {
			t.Errorf("%s: %d rows, want %d (one per id)", sinkName, len(rows), len(first))
		}
		seen := map[string]bool{}
		for _, m := range rows {
			id, _ := m["id"].(string)
			r := first[id]
			if r == nil || seen[id] {
				t.Errorf("%s: unexpected or duplicate %v", sinkName, id)
				continue
			}
			seen[id] = true
			pub := r[idx["published"]].(time.Time).Format("2006-01-02T15:04:05.000Z")
			if m["published"] != pub || m["source"] != r[idx["source"]] || m["headline"] != r[idx["headline"]] {
				t.Errorf("%s %s: %v, want published %s source %v", sinkName, id, m, pub, r[idx["source"]])
			}
			got, _ := strconv.ParseFloat(fmt.Sprint(m["sentiment"]), 64)
			if want := score(r[idx["headline"]].(string)); got != want {
				t.Errorf("%s %s: sentiment %v for %q, want %v", sinkName, id, got, r[idx["headline"]], want)
			} else if want != 0 {
				nonzero++
			}
		}
	}
	if nonzero == 0 {
		t.Error("no headline scored non-zero: the lexicon was not exercised")
	}
	dead := readJSONL(t, filepath.Join(out, "dead_letters.jsonl"))
	if len(dead) != 200/25 {
		t.Errorf("dead letters: %d, want %d", len(dead), 200/25)
	}
	for _, d := range dead {
		if d["source"] != "vendor_news" || d["error"] == "" {
			t.Errorf("dead letter %v", d)
		}
	}
}
