package sink

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"rtsap.dev/rtsapc/runtime/format"
)

// What the sink produces, the Kafka source's decoders (runtime/format)
// read back as the same rows: pipelines can chain through Kafka.
func TestKafkaPayloadsDecodeWithSourceFormat(t *testing.T) {
	for _, f := range []string{"json", "avro"} {
		t.Run(f, func(t *testing.T) {
			topic := "chain-" + f
			c := newCluster(t, topic)
			w := openWriter(t, sinkNode("kafka", f, barType, nil, map[string]any{"topic": topic}), Options{Brokers: c.ListenAddrs()})
			rows := bars(t, 5, "000125")
			rows[2][3] = nil // a null decimal
			writeAll(t, w, rows)
			w.Close(context.Background())
			dec, err := format.NewDecoder(f, barType)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, c.ListenAddrs(), topic, len(rows))
			for _, rec := range got {
				r, err := dec.Decode(rec.Value)
				if err != nil {
					t.Fatalf("decode %q: %v", rec.Value, err)
				}
				want := rows[r[4].(int64)/10]
				for i := range want {
					if !sameValue(r[i], want[i]) {
						t.Errorf("field %s: decoded %v, wrote %v", barType.Fields[i].Name, r[i], want[i])
					}
				}
			}
		})
	}
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case *apd.Decimal:
		y, ok := b.(*apd.Decimal)
		return ok && x.Cmp(y) == 0
	}
	return a == b
}
