package beamrt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/sink"
)

func init() {
	register.DoFn6x2[context.Context, *sdf.ManualWatermarkEstimator, *sdf.LockRTracker, []byte,
		func(beam.EventTime, Rec), func(beam.EventTime, Rec), sdf.ProcessContinuation, error](&httpPollFn{})
}

// httpSource polls a REST endpoint: a splittable DoFn over the sequence
// numbers of the records received (a growable offset range), with a
// manual watermark estimator at max event time − maxOutOfOrderness, that
// resumes every interval. Bounded runs stop at the end of the feed: a poll
// that returns no records, or no new cursor.
func httpSource(s beam.Scope, ref NodeRef) (rows, dead beam.PCollection) {
	imp := beam.Impulse(s)
	return beam.ParDo2(s, &httpPollFn{NodeRef: ref}, imp)
}

// httpConfig is an http source's options, checked.
type httpConfig struct {
	url, method  string
	headers      http.Header
	interval     time.Duration
	timeout      time.Duration
	records      []string // path of the record array in the response; nil: the body
	cursorField  []string
	cursorParam  string
	jsonl        bool
	bounded      bool
	maxBody      int64
	pagesPerCall int
}

func newHTTPConfig(n *ir.Node, o Options) (*httpConfig, error) {
	op := n.Op.(*ir.Source)
	c := &op.Connector
	cfg := &httpConfig{url: c.String("url", ""), method: strings.ToUpper(c.String("method", "GET")), headers: http.Header{},
		bounded: op.Bounded || o.Bounded, maxBody: 64 << 20, pagesPerCall: 100}
	u, err := url.Parse(cfg.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http: url %q is not an http(s) URL", cfg.url)
	}
	if cfg.method != "GET" && cfg.method != "POST" {
		return nil, fmt.Errorf("http: method %q: the source polls with GET or POST", cfg.method)
	}
	parseDur := func(key, def string) (time.Duration, error) {
		s := c.String(key, def)
		d, err := sink.ParseDuration(s)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("http: %s %q is not a positive duration", key, s)
		}
		return d, nil
	}
	if cfg.interval, err = parseDur("interval", "30s"); err != nil {
		return nil, err
	}
	if cfg.timeout, err = parseDur("timeout", "30s"); err != nil {
		return nil, err
	}
	switch f := c.Format; f {
	case "", "json":
	case "jsonl":
		cfg.jsonl = true
	default:
		return nil, fmt.Errorf("http: format %q is not json or jsonl", f)
	}
	if p := c.String("records", ""); p != "" {
		if cfg.records, err = jsonPath(p); err != nil {
			return nil, err
		}
	}
	if o, ok := c.Option("headers"); ok {
		hs, isList := o.Value.([]ir.Option)
		if !isList {
			return nil, fmt.Errorf("http: headers: want a struct, have %T", o.Value)
		}
		for _, h := range hs {
			var v string
			switch x := h.Value.(type) {
			case string:
				v = x
			case *ir.Secret:
				if v, err = sink.ResolveSecret(x, &sink.Options{}); err != nil {
					return nil, fmt.Errorf("http: header %s: %v", h.Key, err)
				}
			default:
				return nil, fmt.Errorf("http: header %s: want a string or a secret, have %T", h.Key, h.Value)
			}
			if strings.ContainsAny(v, "\r\n") || strings.ContainsAny(h.Key, "\r\n: ") {
				return nil, fmt.Errorf("http: header %q: line breaks are not allowed", h.Key)
			}
			cfg.headers.Add(h.Key, v)
		}
	}
	if cur, ok := c.Option("cursor"); ok {
		sub, isList := cur.Value.([]ir.Option)
		if !isList {
			return nil, fmt.Errorf("http: cursor: want {field, param}, have %T", cur.Value)
		}
		cc := &ir.Connector{Options: sub}
		field, param := cc.String("field", ""), cc.String("param", "")
		if field == "" || param == "" {
			return nil, fmt.Errorf("http: cursor needs field and param")
		}
		if cfg.cursorField, err = jsonPath(field); err != nil {
			return nil, err
		}
		cfg.cursorParam = param
	}
	return cfg, nil
}

// jsonPath parses "$.a.b", "a.b" or "$" into keys.
func jsonPath(p string) ([]string, error) {
	p = strings.TrimPrefix(strings.TrimPrefix(p, "$"), ".")
	if p == "" {
		return nil, nil
	}
	keys := strings.Split(p, ".")
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, "[]*") {
			return nil, fmt.Errorf("http: JSON path %q: only $.field.field paths are supported", p)
		}
	}
	return keys, nil
}

// httpPollFn is the polling SDF.
type httpPollFn struct {
	NodeRef

	cfg *httpConfig
	rt  *rowRouter
	cl  *http.Client
	key string
}

// httpState is kept per process across resumptions: the cursor and
// whether the feed ended.
type httpState struct {
	mu       sync.Mutex
	cursor   string
	done     bool
	failures int // consecutive failed polls
}

var httpStates sync.Map // plan hash + node → *httpState

func (fn *httpPollFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	if n, err = p.Options.apply(n); err != nil {
		return err
	}
	if fn.cfg, err = newHTTPConfig(n, p.Options); err != nil {
		return fmt.Errorf("source %q: %v", n.Name, err)
	}
	if fn.rt, err = newRowRouter(n); err != nil {
		return err
	}
	fn.rt.stamp = true
	fn.cl = &http.Client{Timeout: fn.cfg.timeout}
	fn.key = fmt.Sprintf("%x|%d", sha256.Sum256(fn.Plan), fn.Node)
	return nil
}

func (fn *httpPollFn) CreateInitialRestriction(_ []byte) offsetrange.Restriction {
	return offsetrange.Restriction{Start: 0, End: math.MaxInt64}
}

func (fn *httpPollFn) SplitRestriction(_ []byte, rest offsetrange.Restriction) []offsetrange.Restriction {
	return []offsetrange.Restriction{rest}
}

func (fn *httpPollFn) RestrictionSize(_ []byte, _ offsetrange.Restriction) float64 { return 1 }

func (fn *httpPollFn) CreateTracker(rest offsetrange.Restriction) *sdf.LockRTracker {
	t, _ := offsetrange.NewGrowableTracker(rest, endEstimator{})
	return sdf.NewLockRTracker(t)
}

func (fn *httpPollFn) TruncateRestriction(rt *sdf.LockRTracker, _ []byte) offsetrange.Restriction {
	r := rt.GetRestriction().(offsetrange.Restriction)
	return offsetrange.Restriction{Start: r.Start, End: r.Start}
}

func (fn *httpPollFn) InitialWatermarkEstimatorState(_ beam.EventTime, _ offsetrange.Restriction, _ []byte) int64 {
	return int64(mtime.MinTimestamp)
}

func (fn *httpPollFn) CreateWatermarkEstimator(state int64) *sdf.ManualWatermarkEstimator {
	return &sdf.ManualWatermarkEstimator{State: mtime.Time(state).ToTime()}
}

func (fn *httpPollFn) WatermarkEstimatorState(e *sdf.ManualWatermarkEstimator) int64 {
	return int64(mtime.FromTime(e.State))
}

func (fn *httpPollFn) state() *httpState {
	v, _ := httpStates.LoadOrStore(fn.key, &httpState{})
	return v.(*httpState)
}

// finish ends the restriction where it stands, so that Beam sees the
// source done and flushes every window.
func finish(rt *sdf.LockRTracker) (sdf.ProcessContinuation, error) {
	rt.TrySplit(0)
	return sdf.StopProcessing(), nil
}

func (fn *httpPollFn) ProcessElement(ctx context.Context, we *sdf.ManualWatermarkEstimator, rt *sdf.LockRTracker, _ []byte,
	emit func(beam.EventTime, Rec), dead func(beam.EventTime, Rec)) (sdf.ProcessContinuation, error) {
	st := fn.state()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done || stopSources.Load() {
		return finish(rt)
	}
	pos := rt.GetRestriction().(offsetrange.Restriction).Start
	fn.rt.wm = math.MinInt64
	if s := we.State; int64(mtime.FromTime(s)) > int64(mtime.MinTimestamp) {
		fn.rt.wm = s.UnixMilli()
	}
	next := fn.cfg.interval
	for page := 0; page < fn.cfg.pagesPerCall; page++ {
		recs, cursor, ok := fn.poll(ctx, st.cursor, emit, dead)
		if err := fn.rt.err(); err != nil {
			return sdf.StopProcessing(), err
		}
		if ctx.Err() != nil {
			return sdf.StopProcessing(), ctx.Err()
		}
		for _, b := range recs {
			if !rt.TryClaim(pos) {
				return sdf.StopProcessing(), rt.GetError()
			}
			pos++
			r, err := fn.rt.dec.Decode(b)
			fn.rt.route(ctx, r, err, b, recordSource{where: fn.cfg.url, at: time.Now().UTC()}, pos-1, emit, dead)
			if err := fn.rt.err(); err != nil {
				return sdf.StopProcessing(), err
			}
		}
		if fn.rt.wm > math.MinInt64 {
			we.UpdateWatermark(time.UnixMilli(fn.rt.wm))
			partitionMark(fn.rt.node.Name, 0).Store(fn.rt.wm)
		}
		newCursor := ok && cursor != "" && cursor != st.cursor
		if newCursor {
			st.cursor = cursor
		}
		if !ok {
			// Failed polls were handled by the error policy; poll again
			// later. A bounded run gives up after a few in a row.
			st.failures++
			if fn.cfg.bounded {
				if st.failures >= 3 {
					st.done = true
					return finish(rt)
				}
				next = min(fn.cfg.interval, 500*time.Millisecond)
			}
			break
		}
		st.failures = 0
		if len(recs) > 0 && newCursor {
			continue // next page now
		}
		if fn.cfg.bounded && (len(recs) == 0 || fn.cfg.cursorParam == "" || !newCursor) {
			st.done = true
			return finish(rt)
		}
		break
	}
	if stopSources.Load() {
		return finish(rt)
	}
	return sdf.ResumeProcessingIn(next), nil
}

// poll fetches one page. A failed request, a non-2xx status or a body that
// is not the expected JSON is one malformed record (the body its payload)
// under the source's policy; ok is false then.
func (fn *httpPollFn) poll(ctx context.Context, cursor string, emit, dead func(beam.EventTime, Rec)) (recs [][]byte, next string, ok bool) {
	now := time.Now().UTC()
	u := fn.cfg.url
	if cursor != "" && fn.cfg.cursorParam != "" {
		pu, _ := url.Parse(u)
		q := pu.Query()
		q.Set(fn.cfg.cursorParam, cursor)
		pu.RawQuery = q.Encode()
		u = pu.String()
	}
	src := recordSource{where: u, at: now}
	bad := func(payload []byte, err error) ([][]byte, string, bool) {
		fn.rt.route(ctx, nil, err, payload, src, -1, emit, dead)
		return nil, "", false
	}
	req, err := http.NewRequestWithContext(ctx, fn.cfg.method, u, nil)
	if err != nil {
		return bad(nil, err)
	}
	req.Header = fn.cfg.headers.Clone()
	resp, err := fn.cl.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", false
		}
		return bad(nil, fmt.Errorf("request failed: %v", err))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, fn.cfg.maxBody+1))
	resp.Body.Close()
	if err != nil {
		return bad(nil, fmt.Errorf("reading the response: %v", err))
	}
	if int64(len(body)) > fn.cfg.maxBody {
		return bad(body[:4096], fmt.Errorf("response larger than %d bytes", fn.cfg.maxBody))
	}
	if resp.StatusCode/100 != 2 {
		return bad(body, fmt.Errorf("HTTP %s", resp.Status))
	}
	if fn.cfg.jsonl {
		for _, l := range bytes.Split(body, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				recs = append(recs, l)
			}
		}
		return recs, "", true
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return bad(body, fmt.Errorf("malformed JSON response: %v", err))
	}
	arr := lookupJSON(doc, fn.cfg.records)
	if arr == nil && len(fn.cfg.records) > 0 {
		arr = []any{} // no records in this page
	}
	list, isList := arr.([]any)
	if !isList {
		return bad(body, fmt.Errorf("response: %s is not an array", pathString(fn.cfg.records)))
	}
	for _, e := range list {
		b, err := json.Marshal(e)
		if err != nil {
			return bad(body, err)
		}
		recs = append(recs, b)
	}
	if fn.cfg.cursorField != nil {
		switch c := lookupJSON(doc, fn.cfg.cursorField).(type) {
		case string:
			next = c
		case json.Number:
			next = c.String()
		}
	}
	return recs, next, true
}

func lookupJSON(doc any, keys []string) any {
	for _, k := range keys {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	return doc
}

func pathString(keys []string) string {
	if len(keys) == 0 {
		return "the body"
	}
	return "$." + strings.Join(keys, ".")
}
