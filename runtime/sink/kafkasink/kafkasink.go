// Package kafkasink produces rows to a Kafka topic with franz-go: values as
// JSON, Avro (optionally in the Confluent schema-registry framing) or raw
// bytes; the key is the upsert key's columns in the same format; the
// producer is idempotent (franz-go's default, acks=all), so broker retries
// never duplicate a record.
package kafkasink

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

// Config configures a Writer.
type Config struct {
	Brokers []string
	Topic   string
	Format  string // json (default), avro, raw
	Record  *rtype.Type
	// Key lists the columns forming the Kafka key; empty: no key.
	Key []string
	// TimeField is a timestamp column used as the record timestamp ("":
	// the produce time).
	TimeField string
	// SchemaRegistry, for avro: register the value (and key) schemas under
	// <topic>-value / <topic>-key and frame payloads as Confluent does.
	SchemaRegistry string
	HTTPClient     *http.Client
	// TLS and SASL for secured clusters (nil: plaintext).
	TLS  *tls.Config
	SASL sasl.Mechanism
	// Extra client options (tests: faster retries).
	Opts []kgo.Opt
}

// Writer produces rows to one topic.
type Writer struct {
	cfg     Config
	value   rowEncoder
	key     rowEncoder
	keyIdx  []int
	timeIdx int
	cl      *kgo.Client

	mu     sync.Mutex
	err    error // first failed produce since the last Flush
	keyRow row.Row
}

// rowEncoder encodes a row of its record type.
type rowEncoder interface {
	encode(r row.Row) ([]byte, error)
	// register fetches the registry id, when framed; subject is its name.
	register(ctx context.Context, subject string) error
}

// New checks the configuration and prepares encoders without connecting.
func New(cfg Config) (*Writer, error) {
	if cfg.Topic == "" {
		return nil, errors.New("kafka: the topic option is required")
	}
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	if cfg.Record == nil || cfg.Record.Kind != rtype.Record {
		return nil, fmt.Errorf("kafka %s: row type %s is not a record", cfg.Topic, cfg.Record)
	}
	if cfg.Format == "" {
		cfg.Format = "json"
	}
	w := &Writer{cfg: cfg, timeIdx: -1}
	var err error
	if w.value, err = newEncoder(cfg, cfg.Record, "Row"); err != nil {
		return nil, fmt.Errorf("kafka %s: value: %w", cfg.Topic, err)
	}
	if len(cfg.Key) > 0 {
		var fields []rtype.Field
		for _, k := range cfg.Key {
			f, ok := cfg.Record.Field(k)
			if !ok {
				return nil, fmt.Errorf("kafka %s: key column %q is not a field of %s", cfg.Topic, k, cfg.Record)
			}
			w.keyIdx = append(w.keyIdx, fieldIndex(cfg.Record, k))
			fields = append(fields, f)
		}
		if w.key, err = newEncoder(cfg, rtype.RecordOf(fields...), "Key"); err != nil {
			return nil, fmt.Errorf("kafka %s: key: %w", cfg.Topic, err)
		}
	}
	if cfg.TimeField != "" {
		f, ok := cfg.Record.Field(cfg.TimeField)
		if ok && f.Type.Kind == rtype.Timestamp {
			w.timeIdx = fieldIndex(cfg.Record, cfg.TimeField)
		}
	}
	return w, nil
}

func fieldIndex(rec *rtype.Type, name string) int {
	for i, f := range rec.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

func newEncoder(cfg Config, rec *rtype.Type, name string) (rowEncoder, error) {
	switch cfg.Format {
	case "json":
		return jsonEncoder{rec}, nil
	case "avro":
		js, err := encode.AvroSchema(rec, name)
		if err != nil {
			return nil, err
		}
		if _, err := avro.Parse(js); err != nil {
			return nil, err
		}
		bin, err := encode.NewAvroBinary(rec)
		if err != nil {
			return nil, err
		}
		return &avroEncoder{text: js, bin: bin, registry: cfg.SchemaRegistry, client: cfg.HTTPClient}, nil
	case "raw":
		if len(rec.Fields) != 1 || (rec.Fields[0].Type.Kind != rtype.Bytes && rec.Fields[0].Type.Kind != rtype.String) {
			return nil, fmt.Errorf("format raw needs exactly one bytes or string field, have %s", rec)
		}
		return rawEncoder{}, nil
	}
	return nil, fmt.Errorf("unknown format %q (json, avro, raw)", cfg.Format)
}

// Open creates the client and registers schemas; brokers are dialled
// lazily by franz-go.
func (w *Writer) Open(ctx context.Context) error {
	if w.cl != nil {
		return nil
	}
	if err := w.value.register(ctx, w.cfg.Topic+"-value"); err != nil {
		return fmt.Errorf("kafka %s: %w", w.cfg.Topic, err)
	}
	if w.key != nil {
		if err := w.key.register(ctx, w.cfg.Topic+"-key"); err != nil {
			return fmt.Errorf("kafka %s: %w", w.cfg.Topic, err)
		}
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(w.cfg.Brokers...),
		kgo.DefaultProduceTopic(w.cfg.Topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), // required by the idempotent producer
		kgo.ProducerLinger(5 * time.Millisecond),
	}
	if w.cfg.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(w.cfg.TLS))
	}
	if w.cfg.SASL != nil {
		opts = append(opts, kgo.SASL(w.cfg.SASL))
	}
	cl, err := kgo.NewClient(append(opts, w.cfg.Opts...)...)
	if err != nil {
		return fmt.Errorf("kafka %s: %w", w.cfg.Topic, err)
	}
	w.cl = cl
	return nil
}

// Write encodes each row and hands it to the producer; a produce failure is
// reported by the next Flush (or Write).
func (w *Writer) Write(ctx context.Context, rows []row.Row) error {
	if w.cl == nil {
		return fmt.Errorf("kafka %s: write before Open", w.cfg.Topic)
	}
	if err := w.failed(); err != nil {
		return err
	}
	for _, r := range rows {
		if len(r) != len(w.cfg.Record.Fields) {
			return fmt.Errorf("kafka %s: row has %d values, want %d", w.cfg.Topic, len(r), len(w.cfg.Record.Fields))
		}
		val, err := w.value.encode(r)
		if err != nil {
			return fmt.Errorf("kafka %s: %w", w.cfg.Topic, err)
		}
		rec := &kgo.Record{Value: val}
		if w.key != nil {
			w.keyRow = w.keyRow[:0]
			for _, i := range w.keyIdx {
				w.keyRow = append(w.keyRow, r[i])
			}
			if rec.Key, err = w.key.encode(w.keyRow); err != nil {
				return fmt.Errorf("kafka %s: key: %w", w.cfg.Topic, err)
			}
		}
		if w.timeIdx >= 0 {
			if t, ok := r[w.timeIdx].(time.Time); ok {
				rec.Timestamp = t
			}
		}
		w.cl.Produce(ctx, rec, w.produced)
	}
	return nil
}

func (w *Writer) produced(_ *kgo.Record, err error) {
	if err == nil {
		return
	}
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *Writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		err := w.err
		w.err = nil
		return fmt.Errorf("kafka %s: produce: %w", w.cfg.Topic, err)
	}
	return nil
}

// Flush waits until every produced record is acknowledged.
func (w *Writer) Flush(ctx context.Context) error {
	if w.cl == nil {
		return nil
	}
	if err := w.cl.Flush(ctx); err != nil {
		return fmt.Errorf("kafka %s: flush: %w", w.cfg.Topic, err)
	}
	return w.failed()
}

// Close flushes and closes the client.
func (w *Writer) Close(ctx context.Context) error {
	if w.cl == nil {
		return nil
	}
	err := w.Flush(ctx)
	w.cl.Close()
	w.cl = nil
	return err
}

type jsonEncoder struct{ rec *rtype.Type }

func (e jsonEncoder) encode(r row.Row) ([]byte, error)     { return encode.AppendJSONRow(nil, e.rec, r) }
func (jsonEncoder) register(context.Context, string) error { return nil }

type rawEncoder struct{}

func (rawEncoder) encode(r row.Row) ([]byte, error) {
	switch v := r[0].(type) {
	case nil:
		return nil, nil
	case []byte:
		return v, nil
	case string:
		return []byte(v), nil
	}
	return nil, fmt.Errorf("raw value of Go type %T", r[0])
}
func (rawEncoder) register(context.Context, string) error { return nil }

type avroEncoder struct {
	text     string
	bin      *encode.AvroBinary
	registry string
	client   *http.Client
	id       int32
	framed   bool
}

func (e *avroEncoder) encode(r row.Row) ([]byte, error) {
	var b []byte
	if e.framed {
		// Confluent framing: magic 0, schema id (big-endian), Avro body.
		b = make([]byte, 5, 64)
		binary.BigEndian.PutUint32(b[1:], uint32(e.id))
	}
	return e.bin.Append(b, r)
}

func (e *avroEncoder) register(ctx context.Context, subject string) error {
	if e.registry == "" {
		return nil
	}
	id, err := registerSchema(ctx, e.client, e.registry, subject, e.text)
	if err != nil {
		return err
	}
	e.id, e.framed = id, true
	return nil
}
