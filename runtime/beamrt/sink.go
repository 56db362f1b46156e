package beamrt

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/google/uuid"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink"
)

func init() {
	register.DoFn2x1[context.Context, Rec, error](&sinkFn{})
}

// Sink writes a sink node's input.
func Sink(s beam.Scope, ref NodeRef, in beam.PCollection) {
	beam.ParDo0(s, &sinkFn{NodeRef: ref}, in)
}

// sinkFn writes rows through runtime/sink. Every writer comes from
// sink.New:
//
//   - run mode (Options.OutDir): one JSONL file per sink node and process,
//     <OutDir>/<SinkFileName>, shared by the DoFn instances and published
//     by CloseSinkFiles after the run;
//   - file and s3 sinks: one object per bundle (a bundle-unique shard),
//     published when the bundle finishes, since Teardown is not
//     guaranteed;
//   - every other system: one writer per DoFn instance (per worker),
//     opened in Setup, flushed when a bundle finishes (keyed sinks upsert,
//     so a replayed bundle rewrites the same rows), closed in Teardown.
type sinkFn struct {
	NodeRef
	node      *ir.Node
	opts      sink.Options
	perBundle bool
	local     *localSink
	w         sink.Writer
	rows      []row.Row
	batch     int
	c         *nodeCounters
}

func (fn *sinkFn) Setup(ctx context.Context) error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.node = n
	fn.c = Counters(n.Name)
	fn.batch = 1000
	if p.Options.OutDir != "" {
		fn.local, err = openLocalSink(p.Options.OutDir, n)
		return err
	}
	fn.opts = sink.Options{Brokers: splitList(p.Options.Brokers), DSN: p.Options.DSN}
	n, err = p.Options.apply(n)
	if err != nil {
		return err
	}
	fn.node = n
	op := n.Op.(*ir.Sink)
	switch op.Connector.Kind {
	case "file", "s3":
		fn.perBundle = true
		// Check the options now, not at the first row.
		fn.opts.Shard = nextShard()
		_, err = sink.New(n, fn.opts)
		return err
	}
	fn.w, err = sink.New(n, fn.opts)
	if err != nil {
		return err
	}
	return fn.w.Open(ctx)
}

// shardBase tells apart the processes writing one sink (workers on
// several machines): random per process; shardSeq numbers writers in it.
var (
	shardBase = strings.SplitN(uuid.NewString(), "-", 2)[0]
	shardSeq  atomic.Int64
)

func nextShard() string { return fmt.Sprintf("%s-%05d", shardBase, shardSeq.Add(1)) }

func (fn *sinkFn) ProcessElement(ctx context.Context, rec Rec) error {
	fn.c.in.Add(1)
	fn.rows = append(fn.rows, rec.Row)
	if len(fn.rows) >= fn.batch {
		return fn.write(ctx)
	}
	return nil
}

// write hands the queued rows to the writer (opening a per-bundle one).
func (fn *sinkFn) write(ctx context.Context) error {
	if len(fn.rows) == 0 {
		return nil
	}
	rows := fn.rows
	fn.rows = fn.rows[:0]
	if fn.local != nil {
		if err := fn.local.write(ctx, rows); err != nil {
			return err
		}
		fn.c.out.Add(int64(len(rows)))
		return nil
	}
	if fn.w == nil && fn.perBundle {
		o := fn.opts
		o.Shard = nextShard()
		w, err := sink.New(fn.node, o)
		if err != nil {
			return err
		}
		if err := w.Open(ctx); err != nil {
			return err
		}
		fn.w = w
	}
	if err := fn.w.Write(ctx, rows); err != nil {
		return err
	}
	fn.c.out.Add(int64(len(rows)))
	return nil
}

func (fn *sinkFn) FinishBundle(ctx context.Context) error {
	if err := fn.write(ctx); err != nil {
		fn.rows = fn.rows[:0]
		if fn.perBundle && fn.w != nil {
			fn.w.Close(ctx) // publishes nothing useful; the bundle is retried with a new shard
			fn.w = nil
		}
		return err
	}
	switch {
	case fn.local != nil:
		return nil
	case fn.perBundle:
		if fn.w == nil {
			return nil
		}
		w := fn.w
		fn.w = nil
		return w.Close(ctx)
	}
	return fn.w.Flush(ctx)
}

func (fn *sinkFn) Teardown(ctx context.Context) error {
	if fn.w != nil {
		w := fn.w
		fn.w = nil
		return w.Close(ctx)
	}
	return nil
}

// SinkFileName is the JSONL file a sink node writes in run mode.
func SinkFileName(n *ir.Node) string { return SafeFileName(n.Name) + ".jsonl" }

// SafeFileName maps a node name to a portable file name: letters, digits,
// '-' and '_' are kept; anything else becomes '~' and its hex code, so
// distinct names stay distinct.
func SafeFileName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "~%x", r)
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// localSink is the run-mode writer of one sink node in this process: a
// runtime/sink file writer (JSONL) behind a lock, as Prism may run several
// bundles of the node at once.
type localSink struct {
	mu     sync.Mutex
	w      sink.Writer
	closed bool
}

var localSinks sync.Map // file path → *localSink

// LocalSinkNode is the file sink a sink node becomes in run mode: JSONL at
// SinkFileName(n), relative to the output directory.
func LocalSinkNode(n *ir.Node) *ir.Node {
	m := *n
	m.Op = &ir.Sink{Connector: ir.Connector{Kind: "file", Format: "jsonl",
		Options: []ir.Option{{Key: "path", Value: SinkFileName(n)}}}}
	return &m
}

func openLocalSink(dir string, n *ir.Node) (*localSink, error) {
	key := dir + "\x00" + SinkFileName(n)
	if v, ok := localSinks.Load(key); ok {
		return v.(*localSink), nil
	}
	w, err := sink.New(LocalSinkNode(n), sink.Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	ls := &localSink{w: w}
	ls.mu.Lock() // held until open: other instances wait in write
	defer ls.mu.Unlock()
	if v, loaded := localSinks.LoadOrStore(key, ls); loaded {
		return v.(*localSink), nil
	}
	if err := w.Open(context.Background()); err != nil {
		ls.closed = true
		localSinks.Delete(key)
		return nil, err
	}
	return ls, nil
}

func (l *localSink) write(ctx context.Context, rows []row.Row) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("sink file written after the run ended")
	}
	return l.w.Write(ctx, rows)
}

// CloseSinkFiles publishes every run-mode sink file of this process (after
// a run).
func CloseSinkFiles() error {
	var first error
	localSinks.Range(func(k, v any) bool {
		l := v.(*localSink)
		l.mu.Lock()
		if !l.closed {
			l.closed = true
			if err := l.w.Close(context.Background()); err != nil && first == nil {
				first = err
			}
		}
		l.mu.Unlock()
		localSinks.Delete(k)
		return true
	})
	return first
}
