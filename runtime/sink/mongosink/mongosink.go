// Package mongosink writes rows to a MongoDB collection with the official
// driver (mongo-driver/v2): with a key, each row replaces the document whose
// _id is its key (ReplaceOne with upsert, batched in one unordered bulk
// write), so replays are idempotent; without a key, rows are inserted.
package mongosink

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/apd/v3"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

// Config configures a Writer.
type Config struct {
	URI        string
	Database   string
	Collection string
	Record     *rtype.Type
	Key        []string
	// WriteConcern: "majority", a number of nodes, or "" (the URI's).
	WriteConcern string
	BatchRows    int // default 1000
}

// Writer writes rows to one collection.
type Writer struct {
	cfg     Config
	doc     *Documents
	wc      *writeconcern.WriteConcern
	client  *mongo.Client
	coll    *mongo.Collection
	pending []mongo.WriteModel
	// byID: pending index of each _id (Extended JSON), so the last row of a
	// key wins within a batch, whose writes are unordered.
	byID map[string]int
}

// New checks the configuration and prepares document building.
func New(cfg Config) (*Writer, error) {
	if cfg.URI == "" || cfg.Database == "" || cfg.Collection == "" {
		return nil, errors.New("mongodb: uri, database and collection are required")
	}
	if cfg.BatchRows <= 0 {
		cfg.BatchRows = 1000
	}
	d, err := NewDocuments(cfg.Record, cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("mongodb %s.%s: %w", cfg.Database, cfg.Collection, err)
	}
	w := &Writer{cfg: cfg, doc: d, byID: map[string]int{}}
	switch wc := cfg.WriteConcern; {
	case wc == "":
	case wc == "majority":
		w.wc = writeconcern.Majority()
	default:
		n, err := strconv.Atoi(wc)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("mongodb: writeConcern %q is not \"majority\" or a number of nodes", wc)
		}
		w.wc = &writeconcern.WriteConcern{W: n}
	}
	return w, nil
}

// Open connects (the driver dials lazily; Open pings to fail early).
func (w *Writer) Open(ctx context.Context) error {
	opts := options.Client().ApplyURI(w.cfg.URI)
	if w.wc != nil {
		opts.SetWriteConcern(w.wc)
	}
	cl, err := mongo.Connect(opts)
	if err != nil {
		return fmt.Errorf("mongodb: connect: %w", err)
	}
	if err := cl.Ping(ctx, nil); err != nil {
		cl.Disconnect(ctx)
		return fmt.Errorf("mongodb: ping: %w", err)
	}
	w.client = cl
	w.coll = cl.Database(w.cfg.Database).Collection(w.cfg.Collection)
	return nil
}

// Write builds documents and queues their writes (one per key: the last).
func (w *Writer) Write(ctx context.Context, rows []row.Row) error {
	for _, r := range rows {
		id, doc, err := w.doc.Build(r)
		if err != nil {
			return fmt.Errorf("mongodb %s.%s: %w", w.cfg.Database, w.cfg.Collection, err)
		}
		if id == nil {
			w.pending = append(w.pending, mongo.NewInsertOneModel().SetDocument(doc))
		} else {
			filter := bson.D{{Key: "_id", Value: id}}
			m := mongo.NewReplaceOneModel().SetFilter(filter).SetReplacement(doc).SetUpsert(true)
			k, err := bson.MarshalExtJSON(filter, true, false)
			if err != nil {
				return fmt.Errorf("mongodb %s.%s: _id: %w", w.cfg.Database, w.cfg.Collection, err)
			}
			if j, ok := w.byID[string(k)]; ok {
				w.pending[j] = m
				continue
			}
			w.byID[string(k)] = len(w.pending)
			w.pending = append(w.pending, m)
		}
		if len(w.pending) >= w.cfg.BatchRows {
			if err := w.Flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Pending is the number of queued writes.
func (w *Writer) Pending() int { return len(w.pending) }

// Flush sends the queued writes as one unordered bulk write.
func (w *Writer) Flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	if w.coll == nil {
		return fmt.Errorf("mongodb: write before Open")
	}
	defer func() {
		// Dropped on failure too: the runner replays the bundle.
		w.pending = w.pending[:0]
		clear(w.byID)
	}()
	if _, err := w.coll.BulkWrite(ctx, w.pending, options.BulkWrite().SetOrdered(false)); err != nil {
		return fmt.Errorf("mongodb %s.%s: %w", w.cfg.Database, w.cfg.Collection, err)
	}
	return nil
}

// Close flushes and disconnects.
func (w *Writer) Close(ctx context.Context) error {
	if w.client == nil {
		return nil
	}
	err := w.Flush(ctx)
	if derr := w.client.Disconnect(ctx); err == nil {
		err = derr
	}
	w.client, w.coll = nil, nil
	return err
}

// Documents builds BSON documents from rows:
//
//	string, bool, int32, int64, float64 as themselves; float32 → double
//	decimal(p,s) → Decimal128 with exponent −s (exact; more than 34
//	               significant digits is an error)
//	timestamp(p ≤ 3) → date; timestamp(p > 3) → RFC 3339 string with p
//	               fractional digits (BSON dates stop at milliseconds)
//	date → date at 00:00 UTC · bytes → binary · duration → int64 ns
//	list → array · map → document (keys sorted) · record → document
//
// With a key, _id is the key column's value (one column) or a document of
// the key columns (several), and the key columns also stay in the document.
type Documents struct {
	rec    *rtype.Type
	keyIdx []int
}

// NewDocuments checks names (no NUL, no "_id" clash with a key) and the key.
func NewDocuments(rec *rtype.Type, key []string) (*Documents, error) {
	if rec == nil || rec.Kind != rtype.Record {
		return nil, fmt.Errorf("row type %s is not a record", rec)
	}
	if err := checkNames(rec); err != nil {
		return nil, err
	}
	d := &Documents{rec: rec}
	for _, k := range key {
		i := -1
		for j, f := range rec.Fields {
			if f.Name == k {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("key column %q is not a field of %s", k, rec)
		}
		d.keyIdx = append(d.keyIdx, i)
	}
	if len(key) > 0 {
		if _, ok := rec.Field("_id"); ok && !(len(key) == 1 && key[0] == "_id") {
			return nil, fmt.Errorf("field _id clashes with the _id made from the key %q", key)
		}
	}
	return d, nil
}

func checkNames(t *rtype.Type) error {
	switch t.Kind {
	case rtype.Record:
		for _, f := range t.Fields {
			if strings.IndexByte(f.Name, 0) >= 0 {
				return fmt.Errorf("field name %q contains a NUL byte, which BSON cannot hold", f.Name)
			}
			if err := checkNames(f.Type); err != nil {
				return err
			}
		}
	case rtype.List, rtype.Map:
		return checkNames(t.Elem)
	}
	return nil
}

// Build returns the _id (nil without a key) and the document of r.
func (d *Documents) Build(r row.Row) (id any, doc bson.D, err error) {
	v, err := value(d.rec, r)
	if err != nil {
		return nil, nil, err
	}
	doc = v.(bson.D)
	if len(d.keyIdx) == 0 {
		return nil, doc, nil
	}
	for _, i := range d.keyIdx {
		if r[i] == nil {
			return nil, nil, fmt.Errorf("key column %q is null", d.rec.Fields[i].Name)
		}
	}
	if len(d.keyIdx) == 1 {
		id = doc[d.keyIdx[0]].Value
	} else {
		kd := bson.D{}
		for _, i := range d.keyIdx {
			kd = append(kd, doc[i])
		}
		id = kd
	}
	if d.rec.Fields[d.keyIdx[0]].Name != "_id" {
		doc = append(bson.D{{Key: "_id", Value: id}}, doc...)
	}
	return id, doc, nil
}

func value(t *rtype.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	bad := func() (any, error) { return nil, fmt.Errorf("value of Go type %T where %s is expected", v, t) }
	switch t.Kind {
	case rtype.String:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case rtype.Bool:
		if x, ok := v.(bool); ok {
			return x, nil
		}
	case rtype.Int32:
		if x, ok := v.(int32); ok {
			return x, nil
		}
	case rtype.Int64:
		if x, ok := v.(int64); ok {
			return x, nil
		}
	case rtype.Float32:
		if x, ok := v.(float32); ok {
			return float64(x), nil
		}
	case rtype.Float64:
		if x, ok := v.(float64); ok {
			return x, nil
		}
	case rtype.Decimal:
		if x, ok := v.(*apd.Decimal); ok && x != nil {
			u, err := encode.Unscaled(x, t.Precision, t.Scale)
			if err != nil {
				return nil, err
			}
			d, ok := bson.ParseDecimal128FromBigInt(u, -t.Scale)
			if !ok {
				return nil, fmt.Errorf("decimal %s does not fit BSON Decimal128 (34 digits)", x.Text('f'))
			}
			return d, nil
		}
	case rtype.Timestamp:
		if x, ok := v.(time.Time); ok {
			if t.Precision > 3 {
				return encode.TimeText(x, t.Precision)
			}
			x, err := encode.CheckTime(x, t.Precision)
			if err != nil {
				return nil, err
			}
			return bson.NewDateTimeFromTime(x), nil
		}
	case rtype.Date:
		if x, ok := v.(time.Time); ok {
			return bson.NewDateTimeFromTime(x.UTC()), nil
		}
	case rtype.Bytes:
		if x, ok := v.([]byte); ok {
			return bson.Binary{Subtype: 0, Data: x}, nil
		}
	case rtype.Duration:
		if x, ok := v.(time.Duration); ok {
			return int64(x), nil
		}
	case rtype.List:
		if xs, ok := v.([]any); ok {
			out := make(bson.A, len(xs))
			for i, x := range xs {
				var err error
				if out[i], err = value(t.Elem, x); err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
			}
			return out, nil
		}
	case rtype.Map:
		if xs, ok := v.(map[string]any); ok {
			keys := make([]string, 0, len(xs))
			for k := range xs {
				if strings.IndexByte(k, 0) >= 0 {
					return nil, fmt.Errorf("map key %q contains a NUL byte, which BSON cannot hold", k)
				}
				keys = append(keys, k)
			}
			sort.Strings(keys)
			out := make(bson.D, 0, len(keys))
			for _, k := range keys {
				x, err := value(t.Elem, xs[k])
				if err != nil {
					return nil, fmt.Errorf("[%q]: %w", k, err)
				}
				out = append(out, bson.E{Key: k, Value: x})
			}
			return out, nil
		}
	case rtype.Record:
		if r, ok := v.(row.Row); ok {
			if len(r) != len(t.Fields) {
				return nil, fmt.Errorf("row has %d values, record %s has %d fields", len(r), t, len(t.Fields))
			}
			out := make(bson.D, len(r))
			for i, f := range t.Fields {
				x, err := value(f.Type, r[i])
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", f.Name, err)
				}
				out[i] = bson.E{Key: f.Name, Value: x}
			}
			return out, nil
		}
	}
	return bad()
}
