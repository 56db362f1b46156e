package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/qdrantsink"
)

// fakeQdrant implements the REST endpoints the sink uses as Qdrant
// documents them (api.qdrant.tech, collections and points): routing on the
// escaped path, one percent-decoded segment per collection name; errors as
// {"status":{"error":…},"time":…} with Qdrant's status codes; upserts
// checked against the collection's vector size (400 on a mismatch) and
// answered "completed" with wait=true, "acknowledged" without.
type fakeQdrant struct {
	mu       sync.Mutex
	apiKey   string
	colls    map[string]*fakeColl
	requests []fakeReq
	// fail503 answers the next n upserts with 503.
	fail503 int
	opID    int
	// raceCreate: a GET of a missing collection answers 404, then another
	// writer creates it (size raceSize) before this one's PUT.
	raceCreate bool
	raceSize   int
}

type fakeColl struct {
	size     int
	distance string
	points   map[string]fakePoint // id JSON → point
}

type fakePoint struct {
	Vector  []float64      `json:"vector"`
	Payload map[string]any `json:"payload"`
}

type fakeReq struct {
	method, path, query string
	body                string
}

func newFakeQdrant(t *testing.T, apiKey string) (*fakeQdrant, *httptest.Server) {
	f := &fakeQdrant{apiKey: apiKey, colls: map[string]*fakeColl{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func qdrantErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"status": map[string]string{"error": msg}, "time": 0.0001})
	w.Write(b)
}

func qdrantOK(w http.ResponseWriter, result any) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(map[string]any{"result": result, "status": "ok", "time": 0.0001})
	w.Write(b)
}

func (f *fakeQdrant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, fakeReq{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(body)})
	if f.apiKey != "" && r.Header.Get("api-key") != f.apiKey {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "Invalid api-key")
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(segs) < 2 || segs[0] != "collections" {
		qdrantErr(w, http.StatusNotFound, "no route")
		return
	}
	name, err := url.PathUnescape(segs[1])
	if err != nil {
		qdrantErr(w, http.StatusBadRequest, err.Error())
		return
	}
	c := f.colls[name]
	switch {
	case len(segs) == 2 && r.Method == http.MethodGet:
		if c == nil {
			qdrantErr(w, http.StatusNotFound, fmt.Sprintf("Not found: Collection `%s` doesn't exist!", name))
			if f.raceCreate {
				f.colls[name] = &fakeColl{size: f.raceSize, distance: "Cosine", points: map[string]fakePoint{}}
			}
			return
		}
		qdrantOK(w, map[string]any{"status": "green", "optimizer_status": "ok", "points_count": len(c.points),
			"config": map[string]any{"params": map[string]any{
				"vectors":      map[string]any{"size": c.size, "distance": c.distance},
				"shard_number": 1, "replication_factor": 1}},
			"payload_schema": map[string]any{}})
	case len(segs) == 2 && r.Method == http.MethodPut:
		if c != nil {
			qdrantErr(w, http.StatusConflict, fmt.Sprintf("Wrong input: Collection `%s` already exists!", name))
			return
		}
		var req struct {
			Vectors struct {
				Size     int    `json:"size"`
				Distance string `json:"distance"`
			} `json:"vectors"`
		}
		if err := json.Unmarshal(body, &req); err != nil || req.Vectors.Size < 1 {
			qdrantErr(w, http.StatusBadRequest, "Format error in JSON body")
			return
		}
		f.colls[name] = &fakeColl{size: req.Vectors.Size, distance: req.Vectors.Distance, points: map[string]fakePoint{}}
		qdrantOK(w, true)
	case len(segs) == 3 && segs[2] == "points" && r.Method == http.MethodPut:
		if f.fail503 > 0 {
			f.fail503--
			qdrantErr(w, http.StatusServiceUnavailable, "Service unavailable")
			return
		}
		if c == nil {
			qdrantErr(w, http.StatusNotFound, fmt.Sprintf("Not found: Collection `%s` doesn't exist!", name))
			return
		}
		var req struct {
			Points []struct {
				ID      json.RawMessage `json:"id"`
				Vector  []float64       `json:"vector"`
				Payload map[string]any  `json:"payload"`
			} `json:"points"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			qdrantErr(w, http.StatusBadRequest, "Format error in JSON body: "+err.Error())
			return
		}
		for _, p := range req.Points {
			if len(p.Vector) != c.size {
				qdrantErr(w, http.StatusBadRequest, fmt.Sprintf("Wrong input: Vector dimension error: expected dim: %d, got %d", c.size, len(p.Vector)))
				return
			}
			var id any
			if json.Unmarshal(p.ID, &id) != nil {
				qdrantErr(w, http.StatusBadRequest, "bad id")
				return
			}
			switch x := id.(type) {
			case float64:
				if x < 0 || x != float64(uint64(x)) {
					qdrantErr(w, http.StatusBadRequest, "bad id")
					return
				}
			case string:
				if _, err := uuid.Parse(x); err != nil {
					qdrantErr(w, http.StatusBadRequest, "Unable to parse UUID: "+x)
					return
				}
			default:
				qdrantErr(w, http.StatusBadRequest, "bad id")
				return
			}
		}
		for _, p := range req.Points {
			c.points[string(p.ID)] = fakePoint{Vector: p.Vector, Payload: p.Payload}
		}
		f.opID++
		status := "acknowledged"
		if r.URL.Query().Get("wait") == "true" {
			status = "completed"
		}
		qdrantOK(w, map[string]any{"operation_id": f.opID, "status": status})
	default:
		qdrantErr(w, http.StatusNotFound, "no route")
	}
}

var articleType = rtype.RecordOf(
	rtype.Field{Name: "id", Type: rtype.StringType},
	rtype.Field{Name: "headline", Type: rtype.StringType},
	rtype.Field{Name: "embedding", Type: rtype.ListOf(rtype.Float32Type)},
	rtype.Field{Name: "score", Type: rtype.DecimalOf(9, 2), Nullable: true},
	rtype.Field{Name: "price", Type: rtype.DecimalOf(38, 10), Nullable: true},
	rtype.Field{Name: "published", Type: rtype.TimestampMillis},
)

func qdrantNode(out *rtype.Type, key []string, extra map[string]any) *ir.Node {
	opts := map[string]any{"collection": "news", "vector": "embedding", "dimensions": int64(3),
		"distance": "Cosine", "apiKey": &ir.Secret{Name: "qdrant", Key: "api-key"}}
	for k, v := range extra {
		opts[k] = v
	}
	return sinkNode("qdrant", "", out, key, opts)
}

func qdrantOpts(batch int) Options {
	return Options{BatchRows: batch, RetryBackoff: time.Millisecond, LookupEnv: func(k string) (string, bool) {
		if k == "RTSAPC_SECRET_QDRANT_API_KEY" {
			return "s3cr3t", true
		}
		return "", false
	}}
}

func article(t *testing.T, id, headline string, vec ...float32) row.Row {
	v := make([]any, len(vec))
	for i, x := range vec {
		v[i] = x
	}
	return row.Row{id, headline, v, dec(t, "1.25"), dec(t, "12345678901234567890.0123456789"), ts(t, "2026-11-26T09:30:00.125Z")}
}

func pointID(key string) string {
	return `"` + uuid.NewSHA1(qdrantsink.IDNamespace, []byte(`["`+key+`"]`)).String() + `"`
}

// The collection is created (size, distance), points are upserted in
// batches with wait=true, ids are UUIDv5 of the key, payload keeps the key
// and types decimals and timestamps; the exact request bodies are checked.
func TestQdrantUpsertBatches(t *testing.T) {
	f, srv := newFakeQdrant(t, "s3cr3t")
	ctx := context.Background()
	w := openWriter(t, qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL}), qdrantOpts(2))
	rows := []row.Row{
		article(t, "a1", "Beats", 0.5, -1, 2.25),
		article(t, "a2", "Misses", 0, 0, 1),
		article(t, "a3", "Record high", 1, 1, 1),
		article(t, "a1", "Beats (corrected)", 0.25, 0, 0), // replaces a1: a replay or an update
		article(t, "a4", "Upgrade", 3, 2, 1),
	}
	if err := w.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	payload := func(id, h string) string {
		return `{"id":"` + id + `","headline":"` + h + `","score":1.25,"price":"12345678901234567890.0123456789","published":"2026-11-26T09:30:00.125Z"}`
	}
	want := []fakeReq{
		{"GET", "/collections/news", "", ""},
		{"PUT", "/collections/news", "", `{"vectors":{"size":3,"distance":"Cosine"}}`},
		{"GET", "/collections/news", "", ""}, // what was created is checked
		{"PUT", "/collections/news/points", "wait=true", `{"points":[` +
			`{"id":` + pointID("a1") + `,"vector":[0.5,-1,2.25],"payload":` + payload("a1", "Beats") + `},` +
			`{"id":` + pointID("a2") + `,"vector":[0,0,1],"payload":` + payload("a2", "Misses") + `}]}`},
		{"PUT", "/collections/news/points", "wait=true", `{"points":[` +
			`{"id":` + pointID("a3") + `,"vector":[1,1,1],"payload":` + payload("a3", "Record high") + `},` +
			`{"id":` + pointID("a1") + `,"vector":[0.25,0,0],"payload":` + payload("a1", "Beats (corrected)") + `}]}`},
		{"PUT", "/collections/news/points", "wait=true", `{"points":[` +
			`{"id":` + pointID("a4") + `,"vector":[3,2,1],"payload":` + payload("a4", "Upgrade") + `}]}`},
	}
	if len(f.requests) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(f.requests), len(want), f.requests)
	}
	for i := range want {
		if f.requests[i] != want[i] {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, f.requests[i], want[i])
		}
	}
	c := f.colls["news"]
	if len(c.points) != 4 || c.points[pointID("a1")].Payload["headline"] != "Beats (corrected)" {
		t.Errorf("points: %+v", c.points)
	}

	// A replay of the same rows rewrites the same points: no duplicates.
	w2 := openWriter(t, qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL}), qdrantOpts(2))
	writeAll(t, w2, rows)
	if len(c.points) != 4 {
		t.Errorf("after a replay: %d points, want 4", len(c.points))
	}
}

// Within one batch the last row of an id wins, and the batch holds it
// once.
func TestQdrantDedupeInBatch(t *testing.T) {
	f, srv := newFakeQdrant(t, "s3cr3t")
	w := openWriter(t, qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL}), qdrantOpts(10))
	writeAll(t, w, []row.Row{article(t, "x", "one", 1, 2, 3), article(t, "x", "two", 3, 2, 1)})
	last := f.requests[len(f.requests)-1]
	if strings.Count(last.body, `"id":`) != 2 || !strings.Contains(last.body, `"headline":"two"`) || strings.Contains(last.body, `"one"`) {
		t.Errorf("batch: %s", last.body)
	}
}

// Integer keys are the point ids themselves; negative ones are refused.
func TestQdrantIntegerIDs(t *testing.T) {
	f, srv := newFakeQdrant(t, "")
	typ := rtype.RecordOf(rtype.Field{Name: "n", Type: rtype.Int64Type}, rtype.Field{Name: "v", Type: rtype.ListOf(rtype.Float64Type)})
	n := sinkNode("qdrant", "", typ, []string{"n"}, map[string]any{"url": srv.URL + "/", "collection": "c", "vector": "v", "dimensions": int64(2)})
	w := openWriter(t, n, Options{})
	writeAll(t, w, []row.Row{{int64(42), []any{0.1, 0.2}}})
	last := f.requests[len(f.requests)-1]
	if last.body != `{"points":[{"id":42,"vector":[0.1,0.2],"payload":{"n":42}}]}` {
		t.Errorf("body: %s", last.body)
	}
	if err := w.Write(context.Background(), []row.Row{{int64(-1), []any{0.1, 0.2}}}); err == nil || !strings.Contains(err.Error(), "unsigned") {
		t.Errorf("negative id: %v", err)
	}
	w.Close(context.Background())
}

// A vector of the wrong length, a null vector, a null element or a NaN is
// an error of Write (failing the bundle as other sink write errors do),
// before anything is sent; the server's own check is reported too.
func TestQdrantVectorErrors(t *testing.T) {
	f, srv := newFakeQdrant(t, "s3cr3t")
	ctx := context.Background()
	w := openWriter(t, qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL}), qdrantOpts(10))
	defer w.Close(ctx)
	sent := len(f.requests)
	nan := article(t, "n", "h", 1, 2, 3)
	nan[2] = []any{float32(1), float32(0) / zero32(), float32(2)}
	nullElem := article(t, "e", "h", 1, 2, 3)
	nullElem[2] = []any{float32(1), nil, float32(2)}
	nullVec := article(t, "v", "h")
	nullVec[2] = nil
	for _, tc := range []struct {
		r    row.Row
		want string
	}{
		{article(t, "short", "h", 1, 2), `vector field "embedding" has 2 dimensions, the collection 3`},
		{article(t, "long", "h", 1, 2, 3, 4), `has 4 dimensions`},
		{nullVec, `vector field "embedding" is null`},
		{nullElem, `element 1 is null`},
		{nan, `element 1 is NaN`},
	} {
		err := w.Write(ctx, []row.Row{tc.r})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.r[0], err, tc.want)
		}
	}
	if err := w.Flush(ctx); err != nil || len(f.requests) != sent {
		t.Errorf("bad rows reached the server: %v, %d requests", err, len(f.requests)-sent)
	}

	// An existing collection of another size is refused at Open.
	f.colls["other"] = &fakeColl{size: 4, distance: "Cosine", points: map[string]fakePoint{}}
	w2, err := New(qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL, "collection": "other"}), qdrantOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Open(ctx); err == nil || !strings.Contains(err.Error(), "size 4, the sink's dimensions are 3") {
		t.Errorf("size mismatch at Open: %v", err)
	}
	// Without dimensions, the collection's size is adopted and checked
	// per row; the server's 400 is reported if a vector still gets through.
	w3, err := New(qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL, "collection": "other", "dimensions": int64(0)}), qdrantOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := w3.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w3.Write(ctx, []row.Row{article(t, "a", "h", 1, 2, 3)}); err == nil || !strings.Contains(err.Error(), "has 3 dimensions, the collection 4") {
		t.Errorf("adopted size: %v", err)
	}
	// A missing collection without dimensions cannot be created.
	w4, _ := New(qdrantNode(articleType, nil, map[string]any{"url": srv.URL, "collection": "missing", "dimensions": int64(0)}), qdrantOpts(10))
	if err := w4.Open(ctx); err == nil || !strings.Contains(err.Error(), "set dimensions") {
		t.Errorf("missing collection: %v", err)
	}
}

func zero32() float32 { return 0 }

// A 503 is retried (with backoff) and the batch lands once; a 4xx is not
// retried and its Qdrant message is reported; a wrong api-key is a 401.
func TestQdrantRetries(t *testing.T) {
	f, srv := newFakeQdrant(t, "s3cr3t")
	ctx := context.Background()
	w := openWriter(t, qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL}), qdrantOpts(10))
	f.fail503 = 2
	before := len(f.requests)
	writeAll(t, w, []row.Row{article(t, "r", "retried", 1, 2, 3)})
	if got := len(f.requests) - before; got != 3 {
		t.Errorf("%d upsert requests, want 3 (two 503s, then 200)", got)
	}
	if len(f.colls["news"].points) != 1 {
		t.Errorf("points: %v", f.colls["news"].points)
	}

	// Five 503s in a row exhaust the attempts: Flush fails, the batch is
	// dropped for the runner's replay.
	w2 := openWriter(t, qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL}), qdrantOpts(10))
	f.fail503 = 5
	if err := w2.Write(ctx, []row.Row{article(t, "s", "h", 1, 2, 3)}); err != nil {
		t.Fatal(err)
	}
	if err := w2.Flush(ctx); err == nil || !strings.Contains(err.Error(), "HTTP 503: Service unavailable") {
		t.Errorf("exhausted retries: %v", err)
	}
	if w2.(*qdrantsink.Writer).Pending() != 0 {
		t.Error("failed batch kept")
	}

	bad := qdrantOpts(10)
	bad.LookupEnv = func(k string) (string, bool) { return "wrong", true }
	w3, err := New(qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL}), bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := w3.Open(ctx); err == nil || !strings.Contains(err.Error(), `HTTP 401: "Invalid api-key"`) {
		t.Errorf("wrong api key: %v", err)
	}
}

// A server that is gone is a connection error, retried then reported.
func TestQdrantConnectionError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	w, err := New(qdrantNode(articleType, []string{"id"}, map[string]any{"url": u}), qdrantOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "after 5 attempts") {
		t.Errorf("dead server: %v", err)
	}
}

// Hostile names as the collection (one escaped path segment, never a path
// step or a query) and hostile strings in payload fields reach the server
// exactly.
func TestQdrantHostile(t *testing.T) {
	f, srv := newFakeQdrant(t, "s3cr3t")
	names := append(hostileNames(t), ".", "..", "a/b", "a?b=c#d", "100%")
	strs := hostileStrings(t)
	for _, name := range names {
		w := openWriter(t, qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL, "collection": name}), qdrantOpts(100))
		var rows []row.Row
		for i, s := range strs {
			rows = append(rows, article(t, fmt.Sprint(i, s), s, 1, 2, 3))
		}
		writeAll(t, w, rows)
		c := f.colls[name]
		if c == nil {
			t.Errorf("collection %q not created (have %d)", name, len(f.colls))
			continue
		}
		got := map[string]bool{}
		for _, p := range c.points {
			got[p.Payload["headline"].(string)+"\x01"+p.Payload["id"].(string)] = true
		}
		for i, s := range strs {
			if !got[s+"\x01"+fmt.Sprint(i, s)] {
				t.Errorf("collection %q: payload string %q not stored exactly", name, s)
			}
		}
	}
	if len(f.colls) != len(names) {
		t.Errorf("%d collections for %d names", len(f.colls), len(names))
	}
	for _, r := range f.requests {
		if strings.Contains(r.path, "/../") || strings.HasSuffix(r.path, "/..") || strings.Contains(r.path, "/./") {
			t.Errorf("path step in request path %q", r.path)
		}
	}
}

// Options are checked by New, before any connection.
func TestQdrantRefusals(t *testing.T) {
	for _, tc := range []struct {
		extra map[string]any
		key   []string
		want  string
	}{
		{map[string]any{"url": "http://qdrant.search.svc:6334"}, nil, "port 6334, Qdrant's gRPC port"},
		{map[string]any{}, nil, "url option is required"},
		{map[string]any{"url": "grpc://q:6334"}, nil, "not http(s)://host:port"},
		{map[string]any{"url": "http://user:pw@q:6333"}, nil, "carries credentials"},
		{map[string]any{"url": "http://q:6333", "vector": "headline"}, nil, "not list<float32> or list<float64>"},
		{map[string]any{"url": "http://q:6333", "vector": "nope"}, nil, "not a field"},
		{map[string]any{"url": "http://q:6333", "distance": "Hamming"}, nil, "distance"},
		{map[string]any{"url": "http://q:6333", "apiKey": "literal"}, nil, "must be a secret reference"},
		{map[string]any{"url": "http://q:6333"}, []string{"missing"}, `key column "missing"`},
		{map[string]any{"url": "http://q:6333"}, []string{"embedding"}, "is the vector"},
	} {
		_, err := New(qdrantNode(articleType, tc.key, tc.extra), qdrantOpts(1))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.extra, err, tc.want)
		}
	}
}

// Values of the wrong Go type in any column are errors, never panics.
func TestQdrantNoPanic(t *testing.T) {
	w, err := qdrantsink.New(qdrantsink.Config{URL: "http://q:6333", Collection: "c", Record: articleType, Vector: "embedding", Key: []string{"id"}, Dimensions: 3})
	if err != nil {
		t.Fatal(err)
	}
	bad := []any{nil, 3, "x", 1.5, []any{1, nil}, []any{"a", "b", "c"}, map[string]any{"a": 1}, row.Row{1}, struct{}{}, int32(-1)}
	for col := range articleType.Fields {
		for _, v := range bad {
			r := article(t, "a", "h", 1, 2, 3)
			r[col] = v
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("column %d value %#v: panic %v", col, v, p)
					}
				}()
				w.Point(r)
			}()
		}
	}
	if _, _, err := w.Point(row.Row{"short"}); err == nil {
		t.Error("short row accepted")
	}
}

// Two writers creating the collection at once: the loser's PUT answers 409
// and it checks what the winner made.
func TestQdrantCreateRace(t *testing.T) {
	f, srv := newFakeQdrant(t, "s3cr3t")
	f.raceCreate, f.raceSize = true, 3
	w := openWriter(t, qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL}), qdrantOpts(10))
	writeAll(t, w, []row.Row{article(t, "a", "h", 1, 2, 3)})
	var got []string
	for _, r := range f.requests {
		got = append(got, r.method+" "+r.path)
	}
	if want := "GET /collections/news,PUT /collections/news,GET /collections/news,PUT /collections/news/points"; strings.Join(got, ",") != want {
		t.Errorf("requests %v, want %s", got, want)
	}
	// The winner made another size: refused.
	f.raceSize = 5
	w2, err := New(qdrantNode(articleType, []string{"id"}, map[string]any{"url": srv.URL, "collection": "other"}), qdrantOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "size 5") {
		t.Errorf("raced to another size: %v", err)
	}
}
