// Package qdrantsink upserts rows as points of a Qdrant collection through
// Qdrant's REST API (PUT /collections/{name}/points?wait=true), batched.
//
// A point is the row's vector field (the vector), an id derived from the
// key, and every other field as payload. Ids are deterministic, so a
// replayed bundle rewrites the same points (at-least-once delivery does not
// duplicate):
//
//   - a key of one int32/int64 column is the point's unsigned integer id
//     (a negative value is an error: Qdrant ids are unsigned);
//   - any other key is UUIDv5 in [IDNamespace] of the JSON array of the key
//     values ("[\"AAPL\",\"2026-11-26T09:30:00.000Z\"]"), so columns cannot
//     run into each other; the key columns stay in the payload;
//   - without a key, UUIDv5 of the whole row's JSON (content addressed:
//     identical rows are one point).
//
// Payload values have the JSON form of runtime/sink/encode (timestamps RFC
// 3339 UTC with their declared digits, which Qdrant's datetime index
// parses; dates "2006-01-02"; bytes base64; durations Go syntax; NaN and
// infinities as strings) except decimals: Qdrant parses JSON numbers into
// 64-bit floats, so decimal(p,s) with p ≤ 15 — whose text survives that
// round trip — is a JSON number with s fractional digits, and a wider
// decimal is the exact text as a JSON string.
package qdrantsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"github.com/google/uuid"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

// IDNamespace is the UUIDv5 namespace of point ids made from keys:
// UUIDv5(URL namespace, "https://rtsap.dev/rtsapc/qdrant/point-id"). It
// must never change, or a restarted pipeline would write new points
// beside the old ones.
var IDNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://rtsap.dev/rtsapc/qdrant/point-id"))

// Distances are the metrics a collection can be created with.
var Distances = []string{"Cosine", "Dot", "Euclid", "Manhattan"}

// Config configures a Writer.
type Config struct {
	// URL of the REST API: http(s)://host:port[/prefix] (port 6333 by
	// default on a Qdrant server).
	URL        string
	APIKey     string // sent as the api-key header; "" for none
	Collection string
	Record     *rtype.Type
	Vector     string // the list<float32|float64> field
	Key        []string
	// Distance creates a missing collection (default Cosine) and is
	// checked against an existing one when set.
	Distance string
	// Dimensions: every vector's length (0: the collection's size). A
	// missing collection is created only when it is known.
	Dimensions int
	BatchRows  int // points per request (default 256)
	HTTP       *http.Client
	// Attempts per request on 5xx, 429 and connection errors (default 5),
	// sleeping Backoff (default 200ms), doubled each time, in between.
	Attempts int
	Backoff  time.Duration
}

// Writer writes points to one collection.
type Writer struct {
	cfg     Config
	base    *url.URL
	vecIdx  int
	keyIdx  []int
	dims    int
	opened  bool
	pending [][]byte
	byID    map[string]int // pending index of each id: the last row wins
}

// New checks the configuration and the record without connecting.
func New(cfg Config) (*Writer, error) {
	if cfg.Collection == "" {
		return nil, errors.New("qdrant: the collection is required")
	}
	base, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	rec := cfg.Record
	if rec == nil || rec.Kind != rtype.Record {
		return nil, fmt.Errorf("qdrant %s: row type %s is not a record", cfg.Collection, rec)
	}
	w := &Writer{cfg: cfg, base: base, vecIdx: -1, dims: cfg.Dimensions, byID: map[string]int{}}
	for i, f := range rec.Fields {
		if f.Name == cfg.Vector {
			w.vecIdx = i
		}
	}
	if w.vecIdx < 0 {
		return nil, fmt.Errorf("qdrant %s: vector field %q is not a field of %s", cfg.Collection, cfg.Vector, rec)
	}
	if vt := rec.Fields[w.vecIdx].Type; vt.Kind != rtype.List || (vt.Elem.Kind != rtype.Float32 && vt.Elem.Kind != rtype.Float64) {
		return nil, fmt.Errorf("qdrant %s: vector field %q is %s, not list<float32> or list<float64>", cfg.Collection, cfg.Vector, vt)
	}
	for _, k := range cfg.Key {
		i := -1
		for j, f := range rec.Fields {
			if f.Name == k {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("qdrant %s: key column %q is not a field of %s", cfg.Collection, k, rec)
		}
		if i == w.vecIdx {
			return nil, fmt.Errorf("qdrant %s: key column %q is the vector", cfg.Collection, k)
		}
		w.keyIdx = append(w.keyIdx, i)
	}
	if cfg.Distance != "" && !validDistance(cfg.Distance) {
		return nil, fmt.Errorf("qdrant %s: distance %q is not one of %s", cfg.Collection, cfg.Distance, strings.Join(Distances, ", "))
	}
	if cfg.Dimensions < 0 || cfg.Dimensions > 65536 {
		return nil, fmt.Errorf("qdrant %s: dimensions %d is not 1–65536", cfg.Collection, cfg.Dimensions)
	}
	if w.cfg.BatchRows <= 0 {
		w.cfg.BatchRows = 256
	}
	if w.cfg.Attempts <= 0 {
		w.cfg.Attempts = 5
	}
	if w.cfg.Backoff <= 0 {
		w.cfg.Backoff = 200 * time.Millisecond
	}
	if w.cfg.HTTP == nil {
		w.cfg.HTTP = http.DefaultClient
	}
	return w, nil
}

func validDistance(d string) bool {
	for _, x := range Distances {
		if d == x {
			return true
		}
	}
	return false
}

// ParseURL checks a REST base URL: http or https, a host, no credentials
// (the API key is a secret of its own), no query. Port 6334 is Qdrant's
// gRPC port, which this writer does not speak: it is refused by name
// rather than failing later with an HTTP/2 framing error.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("qdrant: url %q is not http(s)://host:port", s)
	}
	if u.User != nil {
		return nil, fmt.Errorf("qdrant: url %q carries credentials; give the API key as the apiKey secret", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("qdrant: url %q has a query or fragment", s)
	}
	if u.Port() == "6334" {
		return nil, fmt.Errorf("qdrant: url %q names port 6334, Qdrant's gRPC port; the Beam runtime writes through the REST API (port 6333 by default)", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// endpoint is base + /collections/<name> + suffix, the name escaped as one
// path segment ("/" and "%" escaped; "." and ".." too, which proxies and
// servers would otherwise resolve as directory steps).
func (w *Writer) endpoint(suffix string, query string) string {
	seg := url.PathEscape(w.cfg.Collection)
	if seg == "." || seg == ".." {
		seg = strings.Repeat("%2E", len(seg))
	}
	u := w.base.String() + "/collections/" + seg + suffix
	if query != "" {
		u += "?" + query
	}
	return u
}

// Open checks the collection: an existing one must hold one unnamed vector
// of the configured size (and distance); a missing one is created when the
// size is known.
func (w *Writer) Open(ctx context.Context) error {
	if w.opened {
		return nil
	}
	for attempt := 0; ; attempt++ {
		status, body, err := w.do(ctx, http.MethodGet, w.endpoint("", ""), nil)
		if err != nil {
			return err
		}
		switch status {
		case http.StatusOK:
			if err := w.checkCollection(body); err != nil {
				return err
			}
			w.opened = true
			return nil
		case http.StatusNotFound:
		default:
			return w.statusErr("get collection", status, body)
		}
		if attempt > 0 {
			return fmt.Errorf("qdrant %s: the collection was reported created and then not found", w.cfg.Collection)
		}
		if w.dims == 0 {
			return fmt.Errorf("qdrant %s: the collection does not exist and the vector size is unknown; set dimensions to create it", w.cfg.Collection)
		}
		dist := w.cfg.Distance
		if dist == "" {
			dist = "Cosine"
		}
		req := fmt.Appendf(nil, `{"vectors":{"size":%d,"distance":%q}}`, w.dims, dist)
		status, body, err = w.do(ctx, http.MethodPut, w.endpoint("", ""), req)
		if err != nil {
			return err
		}
		// 409: another writer created it meanwhile; check what it made.
		if status != http.StatusOK && status != http.StatusConflict {
			return w.statusErr("create collection", status, body)
		}
	}
}

// checkCollection reads GET /collections/{name}'s config.params.vectors.
func (w *Writer) checkCollection(body []byte) error {
	var resp struct {
		Result struct {
			Config struct {
				Params struct {
					Vectors json.RawMessage `json:"vectors"`
				} `json:"params"`
			} `json:"config"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("qdrant %s: collection info: %w", w.cfg.Collection, err)
	}
	var single struct {
		Size     *int   `json:"size"`
		Distance string `json:"distance"`
	}
	if err := json.Unmarshal(resp.Result.Config.Params.Vectors, &single); err != nil || single.Size == nil {
		return fmt.Errorf("qdrant %s: the collection has named (or no) vectors; this sink writes one unnamed vector", w.cfg.Collection)
	}
	if w.dims != 0 && *single.Size != w.dims {
		return fmt.Errorf("qdrant %s: the collection's vectors have size %d, the sink's dimensions are %d", w.cfg.Collection, *single.Size, w.dims)
	}
	if w.cfg.Distance != "" && single.Distance != w.cfg.Distance {
		return fmt.Errorf("qdrant %s: the collection's distance is %s, the sink's is %s", w.cfg.Collection, single.Distance, w.cfg.Distance)
	}
	w.dims = *single.Size
	return nil
}

// Write builds points and queues them (one per id: the last), sending a
// batch when BatchRows are queued. A row that cannot be a point (null or
// wrong-length vector, null key) is an error and nothing of it is queued.
func (w *Writer) Write(ctx context.Context, rows []row.Row) error {
	for _, r := range rows {
		id, point, err := w.Point(r)
		if err != nil {
			return fmt.Errorf("qdrant %s: %w", w.cfg.Collection, err)
		}
		if j, ok := w.byID[id]; ok {
			w.pending[j] = point
			continue
		}
		w.byID[id] = len(w.pending)
		w.pending = append(w.pending, point)
		if len(w.pending) >= w.cfg.BatchRows {
			if err := w.Flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Pending is the number of queued points.
func (w *Writer) Pending() int { return len(w.pending) }

// Flush upserts the queued points in one request and waits until they are
// applied (wait=true).
func (w *Writer) Flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	if !w.opened {
		return fmt.Errorf("qdrant %s: write before Open", w.cfg.Collection)
	}
	defer func() {
		// Dropped on failure too: the runner replays the bundle.
		w.pending = w.pending[:0]
		clear(w.byID)
	}()
	body := append([]byte(nil), `{"points":[`...)
	for i, p := range w.pending {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, p...)
	}
	body = append(body, "]}"...)
	status, resp, err := w.do(ctx, http.MethodPut, w.endpoint("/points", "wait=true"), body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return w.statusErr("upsert", status, resp)
	}
	var ok struct {
		Status string `json:"status"`
		Result struct {
			Status string `json:"status"`
		} `json:"result"`
	}
	if err := json.Unmarshal(resp, &ok); err != nil || ok.Status != "ok" || ok.Result.Status != "completed" {
		return fmt.Errorf("qdrant %s: upsert answered %s", w.cfg.Collection, clip(resp))
	}
	return nil
}

// Close flushes. There is no connection to release beyond the HTTP
// client's idle ones.
func (w *Writer) Close(ctx context.Context) error {
	if !w.opened {
		return nil
	}
	err := w.Flush(ctx)
	w.opened = false
	return err
}

// do sends one request, retrying on connection errors, 429 and 5xx with
// exponential backoff; it returns the last status and body.
func (w *Writer) do(ctx context.Context, method, u string, body []byte) (int, []byte, error) {
	wait := w.cfg.Backoff
	for attempt := 1; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return 0, nil, fmt.Errorf("qdrant %s: %w", w.cfg.Collection, err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if w.cfg.APIKey != "" {
			req.Header.Set("api-key", w.cfg.APIKey)
		}
		status, resp, err := func() (int, []byte, error) {
			res, err := w.cfg.HTTP.Do(req)
			if err != nil {
				return 0, nil, err
			}
			defer res.Body.Close()
			b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
			return res.StatusCode, b, err
		}()
		retry := err != nil || status == http.StatusTooManyRequests || status >= 500
		if !retry {
			return status, resp, nil
		}
		if ctx.Err() != nil || attempt >= w.cfg.Attempts {
			if err != nil {
				return 0, nil, fmt.Errorf("qdrant %s: %s %s after %d attempts: %w", w.cfg.Collection, method, w.redacted(), attempt, err)
			}
			return status, resp, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, nil, fmt.Errorf("qdrant %s: %w", w.cfg.Collection, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

func (w *Writer) redacted() string { return w.base.Redacted() }

// statusErr reports Qdrant's error answer ({"status":{"error":"…"}}) or
// the body's start.
func (w *Writer) statusErr(what string, status int, body []byte) error {
	var e struct {
		Status struct {
			Error string `json:"error"`
		} `json:"status"`
	}
	msg := clip(body)
	if json.Unmarshal(body, &e) == nil && e.Status.Error != "" {
		msg = e.Status.Error
	}
	return fmt.Errorf("qdrant %s: %s: HTTP %d: %s", w.cfg.Collection, what, status, msg)
}

func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strconv.Quote(s)
}

// Point returns the point id (its JSON) and the point's JSON object
// {"id":…,"vector":[…],"payload":{…}}.
func (w *Writer) Point(r row.Row) (id string, point []byte, err error) {
	rec := w.cfg.Record
	if len(r) != len(rec.Fields) {
		return "", nil, fmt.Errorf("row has %d values, record %s has %d fields", len(r), rec, len(rec.Fields))
	}
	idJSON, err := w.pointID(r)
	if err != nil {
		return "", nil, err
	}
	b := append([]byte(nil), `{"id":`...)
	b = append(b, idJSON...)
	b = append(b, `,"vector":`...)
	if b, err = w.appendVector(b, r[w.vecIdx]); err != nil {
		return "", nil, err
	}
	b = append(b, `,"payload":{`...)
	first := true
	for i, f := range rec.Fields {
		if i == w.vecIdx {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b, _ = encode.AppendJSON(b, rtype.StringType, f.Name)
		b = append(b, ':')
		if b, err = appendPayload(b, f.Type, r[i]); err != nil {
			return "", nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
	}
	b = append(b, "}}"...)
	return string(idJSON), b, nil
}

func (w *Writer) pointID(r row.Row) ([]byte, error) {
	rec := w.cfg.Record
	for _, i := range w.keyIdx {
		if r[i] == nil {
			return nil, fmt.Errorf("key column %q is null", rec.Fields[i].Name)
		}
	}
	if len(w.keyIdx) == 1 {
		i := w.keyIdx[0]
		var n int64
		isInt := true
		switch x := r[i].(type) {
		case int64:
			n = x
		case int32:
			n = int64(x)
		default:
			isInt = false
		}
		if k := rec.Fields[i].Type.Kind; k == rtype.Int32 || k == rtype.Int64 {
			if !isInt {
				return nil, fmt.Errorf("key column %q: value of Go type %T where %s is expected", rec.Fields[i].Name, r[i], rec.Fields[i].Type)
			}
			if n < 0 {
				return nil, fmt.Errorf("key column %q is %d; Qdrant point ids are unsigned", rec.Fields[i].Name, n)
			}
			return strconv.AppendInt(nil, n, 10), nil
		}
	}
	var name []byte
	var err error
	if len(w.keyIdx) == 0 {
		name, err = encode.AppendJSONRow(nil, rec, r)
	} else {
		name = append(name, '[')
		for j, i := range w.keyIdx {
			if j > 0 {
				name = append(name, ',')
			}
			if name, err = encode.AppendJSON(name, rec.Fields[i].Type, r[i]); err != nil {
				return nil, fmt.Errorf("key column %q: %w", rec.Fields[i].Name, err)
			}
		}
		name = append(name, ']')
	}
	if err != nil {
		return nil, err
	}
	return strconv.AppendQuote(nil, uuid.NewSHA1(IDNamespace, name).String()), nil
}

func (w *Writer) appendVector(b []byte, v any) ([]byte, error) {
	name := w.cfg.Vector
	if v == nil {
		return b, fmt.Errorf("vector field %q is null", name)
	}
	xs, ok := v.([]any)
	if !ok {
		return b, fmt.Errorf("vector field %q: value of Go type %T where a list is expected", name, v)
	}
	if w.dims != 0 && len(xs) != w.dims {
		return b, fmt.Errorf("vector field %q has %d dimensions, the collection %d", name, len(xs), w.dims)
	}
	if len(xs) == 0 {
		return b, fmt.Errorf("vector field %q is empty", name)
	}
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		var f float64
		bits := 64
		switch x := x.(type) {
		case float32:
			f, bits = float64(x), 32
		case float64:
			f = x
		case nil:
			return b, fmt.Errorf("vector field %q: element %d is null", name, i)
		default:
			return b, fmt.Errorf("vector field %q: element %d has Go type %T", name, i, x)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b, fmt.Errorf("vector field %q: element %d is %v", name, i, f)
		}
		b = strconv.AppendFloat(b, f, 'g', -1, bits)
	}
	return append(b, ']'), nil
}

// appendPayload is encode.AppendJSON with decimals as described in the
// package comment (and so also inside lists, maps and records).
func appendPayload(b []byte, t *rtype.Type, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	switch t.Kind {
	case rtype.Decimal:
		d, ok := v.(*apd.Decimal)
		if !ok || d == nil {
			return b, fmt.Errorf("value of Go type %T where %s is expected", v, t)
		}
		if t.Precision <= 15 && d.Form == apd.Finite {
			return encode.AppendDecimal(b, d, t.Precision, t.Scale)
		}
		if d.Form != apd.Finite {
			return encode.AppendJSON(b, t, v) // "NaN", "Infinity": strings already
		}
		s, err := encode.DecimalText(d, t.Precision, t.Scale)
		if err != nil {
			return b, err
		}
		return strconv.AppendQuote(b, s), nil
	case rtype.List:
		xs, ok := v.([]any)
		if !ok {
			break
		}
		b = append(b, '[')
		for i, x := range xs {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendPayload(b, t.Elem, x); err != nil {
				return b, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return append(b, ']'), nil
	case rtype.Map:
		xs, ok := v.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(xs))
		for k := range xs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b, _ = encode.AppendJSON(b, rtype.StringType, k)
			b = append(b, ':')
			var err error
			if b, err = appendPayload(b, t.Elem, xs[k]); err != nil {
				return b, fmt.Errorf("[%q]: %w", k, err)
			}
		}
		return append(b, '}'), nil
	case rtype.Record:
		x, ok := v.(row.Row)
		if !ok {
			break
		}
		if len(x) != len(t.Fields) {
			return b, fmt.Errorf("row has %d values, record %s has %d fields", len(x), t, len(t.Fields))
		}
		b = append(b, '{')
		for i, f := range t.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b, _ = encode.AppendJSON(b, rtype.StringType, f.Name)
			b = append(b, ':')
			var err error
			if b, err = appendPayload(b, f.Type, x[i]); err != nil {
				return b, fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		return append(b, '}'), nil
	}
	return encode.AppendJSON(b, t, v)
}
