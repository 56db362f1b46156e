package sink

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/sink/kafkasink"
)

// newKafka reads the kafka options (stdlib/connect/kafka):
//
//	topic           the topic
//	brokers         bootstrap servers (Options.Brokers overrides)
//	format          json (default), avro, raw
//	schemaRegistry  Confluent-compatible registry URL for avro (framed payloads)
//	properties      security.protocol (PLAINTEXT, SSL, SASL_PLAINTEXT,
//	                SASL_SSL) and sasl.mechanism (PLAIN, SCRAM-SHA-256,
//	                SCRAM-SHA-512); others are refused, not ignored
//	username        SASL user; password: a secret
//
// The sink's key columns form the Kafka key (same format as the value);
// upsert-kafka requires a key. The node's event-time column, when it is a
// timestamp, is the record timestamp.
func newKafka(node *ir.Node, op *ir.Sink, opts *Options) (Writer, error) {
	c := &op.Connector
	if c.Kind == "upsert-kafka" && len(op.Key) == 0 {
		return nil, fmt.Errorf("upsert-kafka: a key is required")
	}
	brokers := opts.Brokers
	if len(brokers) == 0 {
		var err error
		if brokers, err = stringList(c, "brokers"); err != nil {
			return nil, err
		}
	}
	if len(brokers) == 0 {
		return nil, fmt.Errorf("kafka: no brokers option (and none given)")
	}
	format := c.Format
	if format == "" {
		format = c.String("format", "json")
	}
	cfg := kafkasink.Config{
		Brokers:        brokers,
		Topic:          c.String("topic", ""),
		Format:         format,
		Record:         node.Out,
		Key:            op.Key,
		TimeField:      node.EventTime,
		SchemaRegistry: c.String("schemaRegistry", ""),
		HTTPClient:     opts.HTTPClient,
	}
	props := map[string]string{}
	if p, ok, err := nested(c, "properties"); err != nil {
		return nil, err
	} else if ok {
		for _, o := range p.Options {
			s, isStr := o.Value.(string)
			if !isStr {
				return nil, fmt.Errorf("kafka: property %s: want a string, have %T", o.Key, o.Value)
			}
			switch o.Key {
			case "security.protocol", "sasl.mechanism":
				props[o.Key] = strings.ToUpper(s)
			default:
				return nil, fmt.Errorf("kafka: property %q is not supported by the Beam runtime (supported: security.protocol, sasl.mechanism)", o.Key)
			}
		}
	}
	proto := props["security.protocol"]
	switch proto {
	case "", "PLAINTEXT", "SASL_PLAINTEXT":
	case "SSL", "SASL_SSL":
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	default:
		return nil, fmt.Errorf("kafka: security.protocol %q is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", proto)
	}
	user, _, err := Resolve(c, "username", opts)
	if err != nil {
		return nil, err
	}
	pass, _, err := secretOnly(c, "password", opts)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(proto, "SASL_") || user != "" {
		if user == "" {
			return nil, fmt.Errorf("kafka: SASL needs the username option")
		}
		m, err := saslMechanism(props["sasl.mechanism"], user, pass)
		if err != nil {
			return nil, err
		}
		cfg.SASL = m
	}
	return kafkasink.New(cfg)
}

func saslMechanism(name, user, pass string) (sasl.Mechanism, error) {
	switch name {
	case "", "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("kafka: sasl.mechanism %q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512", name)
}
