// Package market is the synthetic market feed of `rtsapc run` and the
// tests: seeded random-walk trades, quotes and ticks with realistic symbols
// and venues, news items, laid out as any declared source schema (fields
// are filled by name and type), with event times that arrive out of order
// within the declared bound. Same seed, same feed: tests recompute expected
// results from it independently of the pipeline.
package market

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// Start is the event time of the first generated record: a fixed US
// market open, so runs are reproducible.
var Start = time.Date(2026, 11, 26, 14, 30, 0, 0, time.UTC)

// Instrument is a symbol with its reference price and listing venues.
type Instrument struct {
	Symbol string
	Price  float64
	Venues []string
	Tick   float64 // price increment
	FX     bool    // FX/crypto: float quotes, 24h
}

var equityVenues = []string{"XNAS", "XNYS", "ARCX", "BATS", "IEXG", "DARK"}

// Equities and FXCrypto are the default instrument universes.
var (
	Equities = []Instrument{
		{Symbol: "AAPL", Price: 228.5}, {Symbol: "MSFT", Price: 415.2}, {Symbol: "NVDA", Price: 138.9},
		{Symbol: "AMZN", Price: 201.4}, {Symbol: "GOOGL", Price: 172.3}, {Symbol: "META", Price: 565.1},
		{Symbol: "TSLA", Price: 338.6}, {Symbol: "JPM", Price: 246.8}, {Symbol: "XOM", Price: 119.7},
		{Symbol: "IBM", Price: 221.4},
	}
	FXCrypto = []Instrument{
		{Symbol: "EURUSD", Price: 1.0552, Tick: 0.00001, FX: true}, {Symbol: "USDJPY", Price: 151.42, Tick: 0.001, FX: true},
		{Symbol: "GBPUSD", Price: 1.2621, Tick: 0.00001, FX: true}, {Symbol: "BTC-USD", Price: 94250, Tick: 0.01, FX: true},
		{Symbol: "ETH-USD", Price: 3390.5, Tick: 0.01, FX: true},
	}
	fxVenues    = []string{"EBS", "LMAX", "CBSE", "KRKN"}
	newsSources = []string{"Reuters", "Bloomberg", "DowJones", "PRNewswire", "BusinessWire"}
	headlines   = []string{"%s beats quarterly estimates", "%s shares slide after guidance cut", "%s announces buyback",
		"Analysts upgrade %s to overweight", "%s faces regulatory probe", "%s unveils new product line",
		"%s CEO to step down", "%s raises dividend"}
)

// Config shapes a feed.
type Config struct {
	Seed int64
	// Rate is events per second of event time (default 1000).
	Rate float64
	// MaxOutOfOrder: event times arrive up to this much behind the newest
	// (kept strictly inside the declared bound so nothing is late).
	MaxOutOfOrder time.Duration
	// Instruments (default: by schema, Equities or FXCrypto).
	Instruments []Instrument
	// Start overrides the first event time.
	Start time.Time
	// BadEvery: every n-th payload is malformed (0: none), to exercise
	// error policies.
	BadEvery int
	// Volatility is the standard deviation of each event's log return
	// (default 0.0002, ~2bp); tests of price patterns raise it so that
	// spikes happen within their windows.
	Volatility float64
}

// Kind is what a schema looks like.
type Kind string

const (
	Trades Kind = "trades"
	Quotes Kind = "quotes"
	News   Kind = "news"
)

// KindOf guesses the feed kind from the schema's field names.
func KindOf(t *rtype.Type) Kind {
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := t.Field(n); ok {
				return true
			}
		}
		return false
	}
	switch {
	case has("headline", "title", "body", "summary", "text"):
		return News
	case has("bid", "ask", "bid_price", "ask_price"):
		return Quotes
	}
	return Trades
}

// Feed generates rows of one schema.
type Feed struct {
	T         *rtype.Type
	Kind      Kind
	EventTime string // the event-time field ("" = the first timestamp field)
	cfg       Config
	rng       *rand.Rand
	inst      []Instrument
	prices    []float64
	n         int64
	clock     time.Time // newest event time
	step      time.Duration
}

// NewFeed returns a feed for record type t.
func NewFeed(t *rtype.Type, eventTime string, cfg Config) *Feed {
	if cfg.Rate <= 0 {
		cfg.Rate = 1000
	}
	if cfg.Start.IsZero() {
		cfg.Start = Start
	}
	f := &Feed{T: t, Kind: KindOf(t), EventTime: eventTime, cfg: cfg,
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Seed)^0x9e3779b97f4a7c15)), clock: cfg.Start,
		step: time.Duration(float64(time.Second) / cfg.Rate)}
	if f.step <= 0 {
		f.step = time.Microsecond
	}
	f.inst = cfg.Instruments
	if len(f.inst) == 0 {
		f.inst = Equities
		if sf, ok := t.Field("bid"); ok && sf.Type.IsFloat() {
			f.inst = FXCrypto
		}
	}
	for _, in := range f.inst {
		f.prices = append(f.prices, in.Price)
	}
	if f.EventTime == "" {
		for _, fl := range t.Fields {
			if fl.Type.Kind == rtype.Timestamp {
				f.EventTime = fl.Name
				break
			}
		}
	}
	return f
}

// Count is the number of rows generated so far.
func (f *Feed) Count() int64 { return f.n }

// Next returns the next row and whether its payload should be corrupted
// (Config.BadEvery).
func (f *Feed) Next() (row.Row, bool) {
	f.n++
	f.clock = f.clock.Add(f.step)
	ts := f.clock
	if b := f.cfg.MaxOutOfOrder; b > 0 && f.rng.IntN(4) == 0 {
		// a quarter of the records arrive late, by up to 80% of the bound
		ts = ts.Add(-time.Duration(f.rng.Int64N(int64(b) * 8 / 10)))
	}
	ts = ts.Truncate(time.Millisecond)
	i := f.rng.IntN(len(f.inst))
	in := f.inst[i]
	// Geometric random walk, ~2bp per event by default.
	vol := f.cfg.Volatility
	if vol <= 0 {
		vol = 0.0002
	}
	f.prices[i] *= math.Exp(f.rng.NormFloat64() * vol)
	price := f.prices[i]
	venue := f.venue(in)
	r := make(row.Row, len(f.T.Fields))
	for k, fl := range f.T.Fields {
		r[k] = f.value(fl, in, price, venue, ts)
	}
	bad := f.cfg.BadEvery > 0 && f.n%int64(f.cfg.BadEvery) == 0
	return r, bad
}

func (f *Feed) venue(in Instrument) string {
	if in.FX {
		return fxVenues[f.rng.IntN(len(fxVenues))]
	}
	if len(in.Venues) > 0 {
		return in.Venues[f.rng.IntN(len(in.Venues))]
	}
	// dark pools print ~1 in 8
	if f.rng.IntN(8) == 0 {
		return "DARK"
	}
	return equityVenues[f.rng.IntN(len(equityVenues)-1)]
}

func (f *Feed) value(fl rtype.Field, in Instrument, price float64, venue string, ts time.Time) any {
	name := strings.ToLower(fl.Name)
	t := fl.Type
	if fl.Nullable {
		// optional fields: mostly absent (sale conditions, summaries)
		if name == "cond" || name == "condition" {
			if f.rng.IntN(20) != 0 {
				return nil
			}
			return []string{"T", "Z", "U"}[f.rng.IntN(3)]
		}
		if f.rng.IntN(3) == 0 {
			return nil
		}
	}
	if t.Kind == rtype.Timestamp || t.Kind == rtype.Date {
		if name == strings.ToLower(f.EventTime) || f.EventTime == "" {
			return ts
		}
		return ts
	}
	spread := price * 0.0002
	if in.Tick > 0 {
		spread = max(spread, in.Tick)
	}
	switch name {
	case "symbol", "ticker", "instrument", "pair":
		return conv(in.Symbol, t)
	case "venue", "exchange", "mic", "market":
		return conv(venue, t)
	case "price", "px", "last", "mid":
		return f.num(price, t, in)
	case "bid", "bid_price", "bid_px":
		return f.num(price-spread/2, t, in)
	case "ask", "offer", "ask_price", "ask_px":
		return f.num(price+spread/2, t, in)
	case "size", "qty", "quantity", "volume", "shares":
		return conv(int64(f.lot()), t)
	case "bid_size", "ask_size":
		return conv(int64(f.lot()), t)
	case "side":
		return conv([]string{"B", "S"}[f.rng.IntN(2)], t)
	case "trade_id", "id", "uuid", "order_id":
		return conv(fmt.Sprintf("%s-%08d", strings.ToLower(string(f.Kind[:1])), f.n), t)
	case "source", "provider":
		if t.Kind == rtype.Record {
			return f.record(t, in, price, venue, ts)
		}
		return conv(newsSources[f.rng.IntN(len(newsSources))], t)
	case "headline", "title":
		return conv(fmt.Sprintf(headlines[f.rng.IntN(len(headlines))], in.Symbol), t)
	case "body", "summary", "text":
		return conv(fmt.Sprintf("Shares of %s moved on %s.", in.Symbol, venue), t)
	case "tickers", "symbols":
		return f.list(t, func() any { return in.Symbol }, 1)
	case "sentiment", "score":
		return f.num(f.rng.Float64()*2-1, t, Instrument{Tick: 0.0001})
	case "name":
		return conv(newsSources[f.rng.IntN(len(newsSources))], t)
	case "url":
		return conv(fmt.Sprintf("https://news.example.com/%d", f.n), t)
	}
	return f.anyValue(t, in, price, venue, ts)
}

func (f *Feed) lot() int {
	// round lots mostly, odd lots sometimes
	if f.rng.IntN(5) == 0 {
		return 1 + f.rng.IntN(99)
	}
	return 100 * (1 + f.rng.IntN(20))
}

func (f *Feed) num(v float64, t *rtype.Type, in Instrument) any {
	switch t.Kind {
	case rtype.Decimal:
		tick := in.Tick
		if tick <= 0 {
			tick = 0.01
		}
		v = math.Round(v/tick) * tick
		d, _, err := apd.NewFromString(fmt.Sprintf("%.*f", t.Scale, v))
		if err != nil {
			return apd.New(0, 0)
		}
		return d
	case rtype.Float64:
		return v
	case rtype.Float32:
		return float32(v)
	case rtype.Int64:
		return int64(v)
	case rtype.Int32:
		return int32(v)
	case rtype.String:
		return fmt.Sprintf("%.4f", v)
	}
	return f.anyValue(t, in, v, "", Start)
}

func conv(v any, t *rtype.Type) any {
	switch t.Kind {
	case rtype.String:
		return fmt.Sprint(v)
	case rtype.Int64:
		if n, ok := v.(int64); ok {
			return n
		}
	case rtype.Int32:
		if n, ok := v.(int64); ok {
			return int32(n)
		}
	case rtype.Float64:
		if n, ok := v.(int64); ok {
			return float64(n)
		}
	case rtype.Decimal:
		if n, ok := v.(int64); ok {
			return apd.New(n, 0)
		}
	case rtype.List:
		return []any{conv(v, t.Elem)}
	}
	if t.Kind == rtype.String {
		return fmt.Sprint(v)
	}
	return zero(t)
}

func (f *Feed) list(t *rtype.Type, elem func() any, n int) any {
	if t.Kind != rtype.List {
		return conv(elem(), t)
	}
	out := make([]any, n)
	for i := range out {
		out[i] = conv(elem(), t.Elem)
	}
	return out
}

func (f *Feed) record(t *rtype.Type, in Instrument, price float64, venue string, ts time.Time) row.Row {
	r := make(row.Row, len(t.Fields))
	for i, fl := range t.Fields {
		r[i] = f.value(fl, in, price, venue, ts)
	}
	return r
}

func (f *Feed) anyValue(t *rtype.Type, in Instrument, price float64, venue string, ts time.Time) any {
	switch t.Kind {
	case rtype.String:
		return fmt.Sprintf("v%d", f.rng.IntN(100))
	case rtype.Bool:
		return f.rng.IntN(2) == 0
	case rtype.Int32:
		return int32(f.rng.IntN(1000))
	case rtype.Int64:
		return int64(f.rng.IntN(1000))
	case rtype.Float32:
		return float32(f.rng.Float64())
	case rtype.Float64:
		return f.rng.Float64()
	case rtype.Decimal:
		return f.num(f.rng.Float64()*100, t, Instrument{})
	case rtype.Timestamp, rtype.Date:
		return ts
	case rtype.Bytes:
		return []byte(fmt.Sprintf("b%d", f.n))
	case rtype.Duration:
		return time.Duration(f.rng.IntN(1000)) * time.Millisecond
	case rtype.List:
		n := 1 + f.rng.IntN(3)
		if t.Elem.IsFloat() {
			n = 8 // embeddings
		}
		out := make([]any, n)
		for i := range out {
			out[i] = f.anyValue(t.Elem, in, price, venue, ts)
		}
		return out
	case rtype.Map:
		return map[string]any{"k": f.anyValue(t.Elem, in, price, venue, ts)}
	case rtype.Record:
		return f.record(t, in, price, venue, ts)
	}
	return nil
}

func zero(t *rtype.Type) any {
	switch t.Kind {
	case rtype.String:
		return ""
	case rtype.Bool:
		return false
	case rtype.Int32:
		return int32(0)
	case rtype.Int64:
		return int64(0)
	case rtype.Float32:
		return float32(0)
	case rtype.Float64:
		return float64(0)
	case rtype.Decimal:
		return apd.New(0, 0)
	case rtype.Timestamp, rtype.Date:
		return Start
	case rtype.Bytes:
		return []byte{}
	case rtype.List:
		return []any{}
	case rtype.Map:
		return map[string]any{}
	case rtype.Duration:
		return time.Duration(0)
	}
	return nil
}
