package market

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/runtime/format"
	"rtsap.dev/rtsapc/runtime/row"
)

// Encoder turns a row into a Kafka payload of a source's format.
type Encoder func(row.Row) ([]byte, error)

// NewEncoder returns the payload encoder of format ("json", "avro") for
// the feed's schema.
func (f *Feed) NewEncoder(fmtName string) (Encoder, error) {
	switch fmtName {
	case "", "json":
		return func(r row.Row) ([]byte, error) { return format.AppendJSON(nil, f.T, r), nil }, nil
	case "avro":
		c, err := format.NewAvroDecoder(f.T)
		if err != nil {
			return nil, err
		}
		return c.Encode, nil
	}
	return nil, fmt.Errorf("the market feed cannot encode format %q (json, avro)", fmtName)
}

// Produce writes n rows of the feed to topic (asynchronously, in order per
// partition), and returns the rows written, in order, when keep is set.
// Malformed payloads (Config.BadEvery) are written where due and not
// returned.
func Produce(ctx context.Context, cl *kgo.Client, topic string, f *Feed, enc Encoder, n int, keep bool) ([]row.Row, error) {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		kept  []row.Row
	)
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
		wg.Done()
	}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		r, bad := f.Next()
		var v []byte
		if bad {
			v = []byte(`{"symbol": "BROKEN", "price": `)
		} else {
			var err error
			if v, err = enc(r); err != nil {
				return nil, err
			}
			if keep {
				kept = append(kept, r)
			}
		}
		var key []byte
		if len(r) > 0 {
			if s, ok := r[0].(string); ok {
				key = []byte(s)
			}
		}
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: v}, done)
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return kept, first
}
