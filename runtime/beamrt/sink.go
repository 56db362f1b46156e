package beamrt

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/format"
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

// sinkFn writes rows through the sink's Writer (runtime/sink), or as JSON
// lines to <OutDir>/<file>.jsonl in run mode.
type sinkFn struct {
	NodeRef
	w    *jsonlFile
	sw   sink.Writer
	rows []row.Row
	t    *rtype.Type
	c    *nodeCounters
	buf  []byte
}

func (fn *sinkFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	fn.t = n.Out
	fn.c = Counters(n.Name)
	dir := p.Options.OutDir
	if dir == "" {
		fn.sw, err = sink.New(n, sink.Options{Brokers: splitList(p.Options.Brokers), DSN: p.Options.DSN,
			Shard: fmt.Sprintf("%d-%d", os.Getpid(), shardSeq.Add(1))})
		if err != nil {
			return err
		}
		return fn.sw.Open(context.Background())
	}
	fn.w, err = openJSONL(filepath.Join(dir, SinkFileName(n)))
	return err
}

var shardSeq atomic.Int64

func (fn *sinkFn) Teardown() error {
	if fn.sw != nil {
		return fn.sw.Close(context.Background())
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

func (fn *sinkFn) ProcessElement(ctx context.Context, rec Rec) error {
	r := rec.Row
	fn.c.in.Add(1)
	if fn.sw != nil {
		fn.rows = append(fn.rows, r)
		fn.c.out.Add(1)
		if len(fn.rows) >= 1000 {
			err := fn.sw.Write(ctx, fn.rows)
			fn.rows = fn.rows[:0]
			return err
		}
		return nil
	}
	fn.buf = format.AppendJSON(fn.buf[:0], fn.t, r)
	fn.buf = append(fn.buf, '\n')
	fn.c.out.Add(1)
	return fn.w.write(fn.buf)
}

func (fn *sinkFn) FinishBundle(ctx context.Context) error {
	if fn.sw != nil {
		if len(fn.rows) > 0 {
			if err := fn.sw.Write(ctx, fn.rows); err != nil {
				return err
			}
			fn.rows = fn.rows[:0]
		}
		return fn.sw.Flush(ctx)
	}
	return fn.w.flush()
}

type jsonlFile struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

var jsonlFiles sync.Map // path → *jsonlFile

func openJSONL(path string) (*jsonlFile, error) {
	if v, ok := jsonlFiles.Load(path); ok {
		return v.(*jsonlFile), nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	j := &jsonlFile{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	if v, loaded := jsonlFiles.LoadOrStore(path, j); loaded {
		f.Close()
		return v.(*jsonlFile), nil
	}
	return j, nil
}

func (j *jsonlFile) write(b []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err := j.w.Write(b)
	return err
}

func (j *jsonlFile) flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.w.Flush()
}

// CloseSinkFiles flushes and closes every JSONL file of this process
// (after a run).
func CloseSinkFiles() error {
	var first error
	jsonlFiles.Range(func(k, v any) bool {
		j := v.(*jsonlFile)
		j.mu.Lock()
		if err := j.w.Flush(); err != nil && first == nil {
			first = err
		}
		if err := j.f.Close(); err != nil && first == nil {
			first = err
		}
		j.mu.Unlock()
		jsonlFiles.Delete(k)
		return true
	})
	return first
}
