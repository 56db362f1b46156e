package sink

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

func newCluster(t testing.TB, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// readAll consumes the topic from the start until n records arrived.
func readAll(t *testing.T, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records: %v", len(out), n, err)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	// Nothing beyond n (no duplicates).
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	cl.PollFetches(short).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	return out
}

func TestKafkaJSON(t *testing.T) {
	c := newCluster(t, "md.bars")
	n := sinkNode("kafka", "json", barType, []string{"symbol", "window_start"}, map[string]any{
		"topic": "md.bars", "brokers": []any{"unused:1"},
	})
	n.EventTime = "window_end"
	w := openWriter(t, n, Options{Brokers: c.ListenAddrs()})
	rows := bars(t, 30, "123456")
	writeAll(t, w, rows)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, c.ListenAddrs(), "md.bars", len(rows))
	if len(got) != len(rows) {
		t.Fatalf("read %d records, want %d", len(got), len(rows))
	}
	byVolume := map[int64]*kgo.Record{}
	for _, r := range got {
		var v struct {
			WindowStart string      `json:"window_start"`
			Symbol      string      `json:"symbol"`
			VWAP        json.Number `json:"vwap"`
			Volume      int64       `json:"volume"`
		}
		d := json.NewDecoder(strings.NewReader(string(r.Value)))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		byVolume[v.Volume] = r
		i := int(v.Volume / 10)
		if string(v.VWAP) != fmt.Sprintf("%d.123456", 100+i) {
			t.Errorf("vwap = %s", v.VWAP)
		}
		wantKey := fmt.Sprintf(`{"symbol":%q,"window_start":%q}`, v.Symbol, v.WindowStart)
		if string(r.Key) != wantKey {
			t.Errorf("key = %s, want %s", r.Key, wantKey)
		}
		if !r.Timestamp.Equal(rows[i][1].(time.Time)) {
			t.Errorf("timestamp = %v, want window_end %v", r.Timestamp, rows[i][1])
		}
	}
	// Equal keys land in the same partition (compaction and upserts rely on it).
	parts := map[string]int32{}
	for _, r := range got {
		if p, ok := parts[string(r.Key)]; ok && p != r.Partition {
			t.Errorf("key %s in partitions %d and %d", r.Key, p, r.Partition)
		}
		parts[string(r.Key)] = r.Partition
	}
}

// Avro values decode with hamba/avro against the sink's schema, exactly.
func TestKafkaAvro(t *testing.T) {
	c := newCluster(t, "all")
	n := sinkNode("kafka", "avro", allType, []string{"id"}, map[string]any{"topic": "all"})
	w := openWriter(t, n, Options{Brokers: c.ListenAddrs()})
	writeAll(t, w, avroRows(t))
	w.Close(context.Background())
	got := readAll(t, c.ListenAddrs(), "all", 2)
	js, _ := encode.AvroSchema(allType, "Row")
	schema := avro.MustParse(js)
	keySchema := avro.MustParse(`{"type":"record","name":"Key","fields":[{"name":"id","type":"long"}]}`)
	ids := map[int64]bool{}
	for _, r := range got {
		m := map[string]any{}
		if err := avro.Unmarshal(schema, r.Value, &m); err != nil {
			t.Fatal(err)
		}
		k := map[string]any{}
		if err := avro.Unmarshal(keySchema, r.Key, &k); err != nil {
			t.Fatal(err)
		}
		if k["id"] != m["id"] {
			t.Errorf("key %v for value id %v", k, m["id"])
		}
		ids[m["id"].(int64)] = true
		want, _ := new(big.Rat).SetString("-12345678901234567890123456.0123456789")
		if d := m["d"].(*big.Rat); d.Cmp(want) != 0 {
			t.Errorf("d = %s", d.FloatString(10))
		}
	}
	if !ids[1] || !ids[2] {
		t.Errorf("ids = %v", ids)
	}
}

// The broker fails produce requests (an error answer, then a dropped
// connection); the idempotent producer retries and every row lands once.
func TestKafkaFaults(t *testing.T) {
	c := newCluster(t, "faults")
	var failures atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		switch failures.Add(1) {
		case 1:
			c.KeepControl()
			pr := req.(*kmsg.ProduceRequest)
			resp := pr.ResponseKind().(*kmsg.ProduceResponse)
			for _, tp := range pr.Topics {
				rt := kmsg.NewProduceResponseTopic()
				rt.Topic = tp.Topic
				for _, p := range tp.Partitions {
					rp := kmsg.NewProduceResponseTopicPartition()
					rp.Partition = p.Partition
					rp.ErrorCode = 6 // NOT_LEADER_FOR_PARTITION: retriable
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return resp, nil, true
		case 2:
			return nil, errors.New("connection dropped"), true
		}
		return nil, nil, false
	})
	n := sinkNode("kafka", "json", barType, []string{"symbol", "window_start"}, map[string]any{"topic": "faults"})
	w := openWriter(t, n, Options{Brokers: c.ListenAddrs()})
	rows := bars(t, 200, "5")
	writeAll(t, w, rows[:100])
	writeAll(t, w, rows[100:])
	w.Close(context.Background())
	if failures.Load() < 2 {
		t.Fatalf("faults injected: %d", failures.Load())
	}
	got := readAll(t, c.ListenAddrs(), "faults", len(rows))
	seen := map[string]bool{}
	for _, r := range got {
		if seen[string(r.Value)] {
			t.Errorf("duplicate %s", r.Value)
		}
		seen[string(r.Value)] = true
	}
	if len(got) != len(rows) {
		t.Fatalf("read %d, want %d", len(got), len(rows))
	}
}

// With schemaRegistry, payloads carry Confluent's framing (magic byte and
// schema id). No registry runs here: a minimal HTTP stand-in checks the
// registration request and answers with an id.
func TestKafkaAvroRegistryFraming(t *testing.T) {
	var subjects []string
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct{ Schema string }
		if r.Method != http.MethodPost || json.Unmarshal(body, &req) != nil || avro.MustParse(req.Schema) == nil {
			http.Error(w, "bad request", 400)
			return
		}
		subjects = append(subjects, r.URL.Path)
		fmt.Fprintf(w, `{"id":%d}`, 40+len(subjects))
	}))
	defer reg.Close()
	c := newCluster(t, "framed")
	n := sinkNode("kafka", "avro", barType, []string{"symbol"}, map[string]any{"topic": "framed", "schemaRegistry": reg.URL})
	w := openWriter(t, n, Options{Brokers: c.ListenAddrs()})
	writeAll(t, w, bars(t, 1, "5"))
	w.Close(context.Background())
	got := readAll(t, c.ListenAddrs(), "framed", 1)
	if strings.Join(subjects, " ") != "/subjects/framed-value/versions /subjects/framed-key/versions" {
		t.Errorf("registered %v", subjects)
	}
	v, k := got[0].Value, got[0].Key
	if v[0] != 0 || binary.BigEndian.Uint32(v[1:5]) != 41 || k[0] != 0 || binary.BigEndian.Uint32(k[1:5]) != 42 {
		t.Errorf("framing: value % x…, key % x…", v[:5], k[:5])
	}
	js, _ := encode.AvroSchema(barType, "Row")
	m := map[string]any{}
	if err := avro.Unmarshal(avro.MustParse(js), v[5:], &m); err != nil || m["symbol"] != "AAPL" {
		t.Errorf("body: %v %v", m, err)
	}
}

func TestKafkaOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind string
		key  []string
		opts map[string]any
		want string
	}{
		{"no topic", "kafka", nil, map[string]any{"brokers": []any{"b:1"}}, "topic option is required"},
		{"no brokers", "kafka", nil, map[string]any{"topic": "t"}, "no brokers"},
		{"upsert without key", "upsert-kafka", nil, map[string]any{"topic": "t", "brokers": "b:1"}, "key is required"},
		{"raw with many fields", "kafka", nil, map[string]any{"topic": "t", "brokers": "b:1", "format": "raw"}, "exactly one bytes or string field"},
		{"unknown property", "kafka", nil, map[string]any{"topic": "t", "brokers": "b:1",
			"properties": []ir.Option{{Key: "linger.ms", Value: "5"}}}, `property "linger.ms" is not supported`},
		{"sasl without user", "kafka", nil, map[string]any{"topic": "t", "brokers": "b:1",
			"properties": []ir.Option{{Key: "security.protocol", Value: "SASL_SSL"}}}, "needs the username"},
		{"literal password", "kafka", nil, map[string]any{"topic": "t", "brokers": "b:1", "username": "u", "password": "p"}, "must be a secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(sinkNode(tc.kind, "", barType, tc.key, tc.opts), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// Hostile names as JSON keys are fine; as Avro fields they are refused.
	rec, rows := hostileRows(t)
	c := newCluster(t, "hostile")
	w := openWriter(t, sinkNode("kafka", "json", rec, []string{"name"}, map[string]any{"topic": "hostile"}), Options{Brokers: c.ListenAddrs()})
	writeAll(t, w, rows)
	w.Close(context.Background())
	for _, r := range readAll(t, c.ListenAddrs(), "hostile", len(rows)) {
		var k struct{ Name string }
		if err := json.Unmarshal(r.Key, &k); err != nil || !strings.Contains(string(r.Value), string(mustJSON(k.Name))) {
			t.Errorf("key %s value %s", r.Key, r.Value)
		}
	}
	_ = row.Row{}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }
