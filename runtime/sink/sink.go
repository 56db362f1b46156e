// Package sink writes rows to external systems for the Beam runtime's sink
// DoFns and `rtsapc run`. [New] builds a [Writer] from a sink node of the
// IR; the systems live in sub-packages (pgsink, kafkasink, filesink,
// mongosink, qdrantsink) that know nothing of the IR.
//
// A DoFn opens its Writer in Setup/StartBundle, calls Write with the
// bundle's rows (or row by row), Flush in FinishBundle and Close in
// Teardown. Writes are idempotent where the system allows: keyed sinks
// upsert (a retried bundle rewrites the same rows; a failed Flush drops its
// batch for the replay), files are written under a temporary name and
// published whole at Close. As Teardown is not guaranteed, a file sink in
// a long-running pipeline should Close per bundle with a bundle-unique
// Options.Shard (one file per bundle); two open writers of one file are
// refused.
package sink

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// Writer writes rows of one sink node. Implementations are not safe for
// concurrent use: each DoFn instance has its own.
type Writer interface {
	// Open connects or creates what the sink needs (tables when asked).
	Open(ctx context.Context) error
	// Write queues rows (laid out as the node's Out record), failing on a
	// value that cannot be written exactly; it may write a full batch.
	Write(ctx context.Context, rows []row.Row) error
	// Flush makes every queued row durable (end of bundle).
	Flush(ctx context.Context) error
	// Close flushes, publishes (files) and releases the connection.
	Close(ctx context.Context) error
}

// Options are the run-time settings that do not come from the spec.
type Options struct {
	// LookupEnv resolves secrets and defaults; nil is os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Stdout is where the stdout sink writes; nil is os.Stdout.
	Stdout io.Writer
	// Brokers overrides the Kafka sink's brokers (rtsapc run's kfake).
	Brokers []string
	// DSN overrides the PostgreSQL/TimescaleDB url (a --dsn flag).
	DSN string
	// Dir is where relative file paths resolve (rtsapc run's output
	// directory); "" is the working directory.
	Dir string
	// Shard tells apart concurrent writers of one node in file and object
	// names ("part-<shard>"); "" means one writer. Two writers of the same
	// file in one process are refused at Open.
	Shard string
	// HTTPClient for S3; nil is http.DefaultClient.
	HTTPClient *http.Client
	// Now stamps nothing in data; it is only for S3 request signing
	// (nil: time.Now).
	Now func() time.Time
	// BatchRows bounds rows queued before a write (0: each sink's default).
	BatchRows int
	// RetryBackoff is the first wait before an HTTP sink (qdrant) retries
	// a request, doubled at each attempt (0: the sink's default, 200ms).
	RetryBackoff time.Duration

	// check: New only validates (Check): no file system look-ups.
	check bool
}

func (o *Options) lookupEnv(k string) (string, bool) {
	if o.LookupEnv != nil {
		return o.LookupEnv(k)
	}
	return os.LookupEnv(k)
}

// Kinds lists the connector kinds New accepts.
func Kinds() []string {
	return []string{"file", "kafka", "mongodb", "postgres", "qdrant", "s3", "stdout", "timescale", "upsert-kafka"}
}

// New returns the writer for a sink node, dispatching on its connector's
// kind. It checks options, names and types without connecting.
func New(node *ir.Node, opts Options) (Writer, error) {
	if node == nil {
		return nil, fmt.Errorf("sink: nil node")
	}
	op, ok := node.Op.(*ir.Sink)
	if !ok {
		return nil, fmt.Errorf("sink %q: node is a %T, not a sink", node.Name, node.Op)
	}
	if node.Out == nil || node.Out.Kind != rtype.Record {
		return nil, fmt.Errorf("sink %q: output type %s is not a record", node.Name, node.Out)
	}
	c := &op.Connector
	var (
		w   Writer
		err error
	)
	switch c.Kind {
	case "postgres", "timescale":
		w, err = newPostgres(node, op, &opts)
	case "kafka", "upsert-kafka":
		w, err = newKafka(node, op, &opts)
	case "file":
		w, err = newFile(node, op, &opts)
	case "s3":
		w, err = newS3(node, op, &opts)
	case "stdout":
		w, err = newStdout(node, op, &opts)
	case "mongodb":
		w, err = newMongo(node, op, &opts)
	case "qdrant":
		w, err = newQdrant(node, op, &opts)
	default:
		return nil, fmt.Errorf("sink %q: connector kind %q has no runtime writer (have %s)", node.Name, c.Kind, strings.Join(Kinds(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("sink %q: %w", node.Name, err)
	}
	return w, nil
}

// Resolve returns a string option that may be a literal or a secret
// reference; secrets are read from the environment at run time.
func Resolve(c *ir.Connector, key string, opts *Options) (string, bool, error) {
	o, ok := c.Option(key)
	if !ok {
		return "", false, nil
	}
	switch v := o.Value.(type) {
	case string:
		return v, true, nil
	case *ir.Secret:
		s, err := ResolveSecret(v, opts)
		return s, err == nil, err
	}
	return "", false, fmt.Errorf("option %s: want a string or a secret, have %T", key, o.Value)
}

// secretOnly returns an option that must be a secret reference (passwords):
// a literal in the spec would end up in artifacts, so it is refused.
func secretOnly(c *ir.Connector, key string, opts *Options) (string, bool, error) {
	o, ok := c.Option(key)
	if !ok {
		return "", false, nil
	}
	s, isSecret := o.Value.(*ir.Secret)
	if !isSecret {
		return "", false, fmt.Errorf("option %s must be a secret reference (rtsap.#Secret), not a literal", key)
	}
	v, err := ResolveSecret(s, opts)
	return v, err == nil, err
}

// ResolveSecret reads a secret from the environment variable s.Env, else
// RTSAPC_SECRET_<NAME>_<KEY> (upper case, other characters as '_').
func ResolveSecret(s *ir.Secret, opts *Options) (string, error) {
	if s.Env != "" {
		if v, ok := opts.lookupEnv(s.Env); ok {
			return v, nil
		}
	}
	env := SecretEnv(s)
	if v, ok := opts.lookupEnv(env); ok {
		return v, nil
	}
	if s.Env != "" {
		return "", fmt.Errorf("secret %s/%s: set $%s (or $%s)", s.Name, s.Key, s.Env, env)
	}
	return "", fmt.Errorf("secret %s/%s: set $%s", s.Name, s.Key, env)
}

// SecretEnv is the fallback variable of a secret: RTSAPC_SECRET_<NAME>_<KEY>.
func SecretEnv(s *ir.Secret) string {
	return "RTSAPC_SECRET_" + envPart(s.Name) + "_" + envPart(s.Key)
}

func envPart(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// stringList reads an option that is a list of strings or one string
// (comma-separated).
func stringList(c *ir.Connector, key string) ([]string, error) {
	o, ok := c.Option(key)
	if !ok {
		return nil, nil
	}
	switch v := o.Value.(type) {
	case string:
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("option %s: want strings, have %T", key, e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("option %s: want a list of strings, have %T", key, o.Value)
}

// nested returns the sub-options of an option that is a struct.
func nested(c *ir.Connector, key string) (*ir.Connector, bool, error) {
	o, ok := c.Option(key)
	if !ok {
		return nil, false, nil
	}
	switch v := o.Value.(type) {
	case []ir.Option:
		return &ir.Connector{Kind: c.Kind, Options: v}, true, nil
	case bool:
		if !v {
			return nil, false, nil
		}
		return &ir.Connector{Kind: c.Kind}, true, nil
	}
	return nil, false, fmt.Errorf("option %s: want a struct, have %T", key, o.Value)
}

// ParseDuration reads the spec's durations (rtsap.#Duration): Go syntax
// plus days, in any combination ("1d", "1.5d", "1d12h", "90s").
func ParseDuration(s string) (time.Duration, error) {
	m := durationRE.FindAllStringSubmatchIndex(s, -1)
	if s == "" || m == nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	var total time.Duration
	end := 0
	for _, g := range m {
		if g[0] != end {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		end = g[1]
		num, unit := s[g[2]:g[3]], s[g[4]:g[5]]
		mult := time.Duration(1)
		if unit == "d" {
			unit, mult = "h", 24
		}
		d, err := time.ParseDuration(num + unit)
		if err != nil || d > math.MaxInt64/mult {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		total += d * mult
		if total < 0 {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
	}
	if end != len(s) {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return total, nil
}

var durationRE = regexp.MustCompile(`([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h|d)`)
