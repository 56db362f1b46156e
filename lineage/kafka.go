package lineage

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaConfig configures the Kafka transport (franz-go).
type KafkaConfig struct {
	Brokers []string
	// Topic receives the events; default "openlineage.events".
	Topic string
	// Timeout bounds the delivery of one event; default 10s.
	Timeout time.Duration
	// Opts are extra client options (SASL, TLS).
	Opts []kgo.Opt
}

// Kafka returns the Kafka transport. Events are keyed by Message.Key, so a
// job's events land on one partition in order.
func Kafka(cfg KafkaConfig) (Transport, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("lineage: kafka transport: no brokers")
	}
	if cfg.Topic == "" {
		cfg.Topic = "openlineage.events"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.RecordDeliveryTimeout(cfg.Timeout),
		kgo.AllowAutoTopicCreation(),
	}, cfg.Opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &kafkaTransport{cl: cl, timeout: cfg.Timeout}, nil
}

type kafkaTransport struct {
	cl      *kgo.Client
	timeout time.Duration
}

func (t *kafkaTransport) Send(ctx context.Context, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	r := &kgo.Record{Value: m.Data}
	if m.Key != "" {
		r.Key = []byte(m.Key)
	}
	return t.cl.ProduceSync(ctx, r).FirstErr()
}

func (t *kafkaTransport) Close() error {
	t.cl.Close()
	return nil
}
