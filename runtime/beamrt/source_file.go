package beamrt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/format"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink"
	"rtsap.dev/rtsapc/runtime/sink/s3"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(FileRef), error](&listFilesFn{})
	register.Emitter1[FileRef]()
	register.DoFn4x1[context.Context, FileRef, func(beam.EventTime, Rec), func(beam.EventTime, Rec), error](&readFileFn{})
}

// FileRef is one local file or S3 object a file/s3 source reads.
type FileRef struct {
	Name    string // local path, or the object key
	Size    int64
	ModUnix int64 // modification time, Unix ms (dead letters' received_at)
}

// fileSource lists the files of a bounded file or s3 source and reads each
// whole: Impulse → list → Reshuffle (files spread over workers) → read.
func fileSource(s beam.Scope, ref NodeRef) (rows, dead beam.PCollection) {
	imp := beam.Impulse(s)
	files := beam.ParDo(s, &listFilesFn{NodeRef: ref}, imp)
	files = beam.Reshuffle(s, files)
	return beam.ParDo2(s, &readFileFn{NodeRef: ref}, files)
}

// fileFormatOf is the format of a file/s3 source: the connector's, else
// the file's extension, else jsonl (file) or parquet (s3).
func fileFormatOf(c *ir.Connector, name string) string {
	f := c.Format
	if f == "" {
		f = c.String("format", "")
	}
	if f == "" {
		switch strings.ToLower(path.Ext(name)) {
		case ".parquet":
			return "parquet"
		case ".avro":
			return "avro"
		case ".json", ".jsonl", ".ndjson":
			return "jsonl"
		}
		if c.Kind == "s3" {
			return "parquet"
		}
		return "jsonl"
	}
	if f == "json" || f == "ndjson" {
		return "jsonl"
	}
	return f
}

// s3Client builds the client of an s3 connector (endpoint, region, path
// style; credentials from secrets or the AWS environment variables).
func s3Client(c *ir.Connector) (*s3.Client, string, error) {
	bucket := c.String("bucket", "")
	if bucket == "" {
		return nil, "", fmt.Errorf("s3: the bucket option is required")
	}
	endpoint := c.String("endpoint", "")
	cl := &s3.Client{Endpoint: endpoint, Region: c.String("region", ""), PathStyle: c.Bool("pathStyle", endpoint != "")}
	opts := &sink.Options{}
	cred := func(key, env string) (string, error) {
		if sec := c.Secret(key); sec != nil {
			return sink.ResolveSecret(sec, opts)
		}
		if _, ok := c.Option(key); ok {
			return "", fmt.Errorf("s3: option %s must be a secret reference (rtsap.#Secret), not a literal", key)
		}
		if v, ok := os.LookupEnv(env); ok {
			return v, nil
		}
		return "", fmt.Errorf("s3: no %s option and $%s is not set", key, env)
	}
	var err error
	if cl.Creds.AccessKey, err = cred("accessKey", "AWS_ACCESS_KEY_ID"); err != nil {
		return nil, "", err
	}
	if cl.Creds.SecretKey, err = cred("secretKey", "AWS_SECRET_ACCESS_KEY"); err != nil {
		return nil, "", err
	}
	cl.Creds.SessionToken = os.Getenv("AWS_SESSION_TOKEN")
	return cl, bucket, nil
}

// listFilesFn lists the source's files in name order: a local file, every
// regular file under a directory (recursively, hidden files skipped), or
// every object under an S3 prefix.
type listFilesFn struct {
	NodeRef
}

func (fn *listFilesFn) ProcessElement(ctx context.Context, _ []byte, emit func(FileRef)) error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	if n, err = p.Options.apply(n); err != nil {
		return err
	}
	c := &n.Op.(*ir.Source).Connector
	var refs []FileRef
	switch c.Kind {
	case "s3":
		cl, bucket, err := s3Client(c)
		if err != nil {
			return fmt.Errorf("source %q: %v", n.Name, err)
		}
		prefix := strings.TrimLeft(c.String("path", ""), "/")
		if strings.ContainsAny(prefix, "{}") {
			return fmt.Errorf("source %q: path %q has partition placeholders, which the Beam runtime does not fill; name the prefix", n.Name, prefix)
		}
		var objs []s3.Object
		for attempt := 0; ; attempt++ {
			objs, err = cl.List(ctx, bucket, prefix)
			if err == nil || attempt >= 4 || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond) // transient errors
		}
		if err != nil {
			return fmt.Errorf("source %q: %v", n.Name, err)
		}
		for _, o := range objs {
			if strings.HasSuffix(o.Key, "/") || hiddenName(path.Base(o.Key)) {
				continue
			}
			refs = append(refs, FileRef{Name: o.Key, Size: o.Size, ModUnix: o.LastModified.UnixMilli()})
		}
	case "file":
		root := c.String("path", "")
		if root == "" {
			return fmt.Errorf("source %q: the path option is required", n.Name)
		}
		st, err := os.Stat(root)
		if err != nil {
			return fmt.Errorf("source %q: %v", n.Name, err)
		}
		if !st.IsDir() {
			refs = append(refs, FileRef{Name: root, Size: st.Size(), ModUnix: st.ModTime().UnixMilli()})
			break
		}
		err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// A partition directory of a column named "_x" is data, as
			// Spark's file index keeps "_…=…" directories.
			if p != root && hiddenName(d.Name()) && !(d.IsDir() && strings.HasPrefix(d.Name(), "_") && strings.Contains(d.Name(), "=")) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			refs = append(refs, FileRef{Name: p, Size: info.Size(), ModUnix: info.ModTime().UnixMilli()})
			return nil
		})
		if err != nil {
			return fmt.Errorf("source %q: listing %s: %v", n.Name, root, err)
		}
	default:
		return fmt.Errorf("source %q: connector %q is not a file source", n.Name, c.Kind)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name < refs[j].Name })
	for _, r := range refs {
		emit(r)
	}
	return nil
}

// hiddenName: files a writer has not published yet (".part", "_tmp") and
// markers such as _SUCCESS are not data.
func hiddenName(s string) bool { return strings.HasPrefix(s, ".") || strings.HasPrefix(s, "_") }

// readFileFn decodes one file; each record goes through the source's
// error policy.
type readFileFn struct {
	NodeRef
	rt     *rowRouter
	conn   *ir.Connector
	s3     *s3.Client
	bucket string
}

func (fn *readFileFn) Setup() error {
	p, n, err := fn.resolve()
	if err != nil {
		return err
	}
	if n, err = p.Options.apply(n); err != nil {
		return err
	}
	if fn.rt, err = newRowRouter(n); err != nil {
		return err
	}
	fn.conn = &n.Op.(*ir.Source).Connector
	if fn.conn.Kind == "s3" {
		if fn.s3, fn.bucket, err = s3Client(fn.conn); err != nil {
			return fmt.Errorf("source %q: %v", n.Name, err)
		}
	}
	return nil
}

// fileData is an opened file: sequential and random access.
type fileData interface {
	io.Reader
	io.ReaderAt
}

func (fn *readFileFn) ProcessElement(ctx context.Context, f FileRef, emit, dead func(beam.EventTime, Rec)) error {
	where := f.Name
	var data fileData
	if fn.s3 != nil {
		where = "s3://" + fn.bucket + "/" + f.Name
		var b []byte
		var err error
		for attempt := 0; ; attempt++ {
			b, err = fn.s3.Get(ctx, fn.bucket, f.Name)
			if err == nil || attempt >= 4 || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("source %q: %v", fn.rt.node.Name, err)
		}
		data = bytes.NewReader(b)
		f.Size = int64(len(b))
	} else {
		h, err := os.Open(f.Name)
		if err != nil {
			return fmt.Errorf("source %q: %v", fn.rt.node.Name, err)
		}
		defer h.Close()
		data = h
	}
	at := time.UnixMilli(f.ModUnix).UTC()
	src := recordSource{where: where, at: at}
	parts, err := partitionSegments(partitionRel(fn.conn.Kind, fn.conn.String("path", ""), f.Name))
	if err != nil {
		fn.rt.route(ctx, nil, err, nil, src, -1, emit, dead)
		return fn.rt.err()
	}
	src.parts = parts
	switch fileFormatOf(fn.conn, f.Name) {
	case "jsonl":
		err = fn.readJSONL(ctx, data, src, emit, dead)
	case "parquet":
		err = fn.readParquet(ctx, data, f.Size, src, emit, dead)
	case "avro":
		err = fn.readAvro(ctx, data, src, emit, dead)
	default:
		return fmt.Errorf("source %q: format %q is not read by the Beam runtime (jsonl, parquet, avro)", fn.rt.node.Name, fileFormatOf(fn.conn, f.Name))
	}
	if err == nil {
		err = fn.rt.err()
	}
	return err
}

// readJSONL decodes one object per line (a document that starts with '['
// is one JSON array of objects).
func (fn *readFileFn) readJSONL(ctx context.Context, data fileData, src recordSource, emit, dead func(beam.EventTime, Rec)) error {
	// A line has no schema: every partition column may be absent.
	fill, err := newPartitionFill(fn.rt.schema, src.parts, func(int) bool { return true })
	if err != nil {
		fn.rt.route(ctx, nil, err, nil, src, -1, emit, dead)
		return nil
	}
	dec := fn.rt.dec
	if fill != nil {
		dec = format.NewJSONDecoder(fill.relax(fn.rt.schema))
	}
	decode := func(b []byte) (row.Row, error) {
		r, err := dec.Decode(b)
		return fill.apply(fn.rt.schema, r, err, nil)
	}
	br := bufio.NewReaderSize(data, 1<<20)
	if b, err := br.Peek(1); err == nil {
		for len(b) == 1 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
			br.ReadByte()
			if b, err = br.Peek(1); err != nil {
				break
			}
		}
		if len(b) == 1 && b[0] == '[' {
			all, err := io.ReadAll(io.LimitReader(br, s3.MaxGet))
			if err != nil {
				return fmt.Errorf("source %q: %s: %v", fn.rt.node.Name, src.where, err)
			}
			elems, err := splitJSONArray(all)
			if err != nil {
				fn.rt.route(ctx, nil, err, all, src, 0, emit, dead)
				return nil
			}
			for i, e := range elems {
				r, err := decode(e)
				fn.rt.route(ctx, r, err, e, src, int64(i), emit, dead)
				if fn.rt.failed() {
					return nil
				}
			}
			return nil
		}
	}
	for line := int64(1); ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			b = bytes.TrimRight(b, "\r\n")
			r, derr := decode(b)
			fn.rt.route(ctx, r, derr, b, src, line, emit, dead)
			if fn.rt.failed() {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("source %q: %s: %v", fn.rt.node.Name, src.where, err)
		}
	}
}

// readAvro decodes an Avro object container file with its own schema;
// fields are matched by name to the declared schema.
func (fn *readFileFn) readAvro(ctx context.Context, data fileData, src recordSource, emit, dead func(beam.EventTime, Rec)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fn.rt.route(ctx, nil, fmt.Errorf("malformed Avro file: %v", p), nil, src, -1, emit, dead)
			err = nil
		}
	}()
	dec, err := ocf.NewDecoder(data)
	if err != nil {
		fn.rt.route(ctx, nil, fmt.Errorf("malformed Avro file: %v", err), nil, src, -1, emit, dead)
		return nil
	}
	schema := fn.rt.schema
	// The file's own schema says which columns it has.
	inFile := map[string]bool{}
	if rs, ok := dec.Schema().(*avro.RecordSchema); ok {
		for _, f := range rs.Fields() {
			inFile[f.Name()] = true
		}
	}
	fill, err := newPartitionFill(schema, src.parts, func(i int) bool { return !inFile[format.AvroFieldName(i, schema.Fields[i].Name)] })
	if err != nil {
		fn.rt.route(ctx, nil, err, nil, src, -1, emit, dead)
		return nil
	}
	decSchema := schema
	if fill != nil {
		decSchema = fill.relax(schema)
	}
	for i := int64(0); dec.HasNext(); i++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			fn.rt.route(ctx, nil, fmt.Errorf("malformed Avro record: %v", err), nil, src, i, emit, dead)
			return nil // the rest of the block cannot be located
		}
		r, err := format.AvroRecord(decSchema, m)
		r, err = fill.apply(schema, r, err, func(int) bool { return false })
		fn.rt.route(ctx, r, err, nil, src, i, emit, dead)
		if fn.rt.failed() {
			return nil
		}
	}
	if err := dec.Error(); err != nil && err != io.EOF {
		fn.rt.route(ctx, nil, fmt.Errorf("malformed Avro file: %v", err), nil, src, -1, emit, dead)
	}
	return nil
}

// recordSource says where records come from, for dead letters.
type recordSource struct {
	where string               // file, object URL, or request URL
	at    time.Time            // received_at, and the event time without an event-time field
	parts map[string]partValue // Hive-style partition directories of a file
}

// rowRouter applies a non-Kafka source's event time, projection and error
// policy to decoded records (the Kafka reader does the same inline).
type rowRouter struct {
	node    *ir.Node
	src     *ir.Source
	schema  *rtype.Type
	dec     *format.JSONDecoder
	tsIdx   int
	project []int
	c       *nodeCounters
	bad     beam.Counter
	fail    error
	wm      int64 // max event time − bound seen, Unix ms
	// stamp: rows carry the watermark before them (streaming sources, so
	// aggregates can judge lateness); bounded files never make rows late.
	stamp bool
}

func newRowRouter(n *ir.Node) (*rowRouter, error) {
	src := n.Op.(*ir.Source)
	schema := src.Schema
	if schema == nil {
		schema = n.Out
	}
	r := &rowRouter{node: n, src: src, schema: schema, dec: format.NewJSONDecoder(schema), tsIdx: -1,
		c: Counters(n.Name), bad: beam.NewCounter("rtsapc", n.Name+".malformed"), wm: math.MinInt64}
	if src.EventTime != "" {
		for i, f := range schema.Fields {
			if f.Name == src.EventTime {
				r.tsIdx = i
			}
		}
		if r.tsIdx < 0 {
			return nil, fmt.Errorf("source %q: event-time field %q not in the schema", n.Name, src.EventTime)
		}
	}
	if n.Out != nil && !rtype.Identical(n.Out, schema) {
		for _, f := range n.Out.Fields {
			i := -1
			for j, g := range schema.Fields {
				if g.Name == f.Name {
					i = j
				}
			}
			if i < 0 {
				return nil, fmt.Errorf("source %q: output field %q not in the schema", n.Name, f.Name)
			}
			r.project = append(r.project, i)
		}
	}
	return r, nil
}

// failed reports a pending failure of the fail policy.
func (r *rowRouter) failed() bool { return r.fail != nil }

// err returns and clears the pending failure.
func (r *rowRouter) err() error {
	err := r.fail
	r.fail = nil
	return err
}

// route emits a decoded row at its event time, or handles the decoding
// error by the source's policy. offset is the record's index in its file
// or response (-1: the whole file or response).
func (r *rowRouter) route(ctx context.Context, rw row.Row, err error, payload []byte, src recordSource, offset int64, emit, dead func(beam.EventTime, Rec)) {
	r.c.in.Add(1)
	ts := src.at
	if err == nil && r.tsIdx >= 0 {
		if len(rw) != len(r.schema.Fields) {
			err = fmt.Errorf("record has %d fields, want %d", len(rw), len(r.schema.Fields))
		} else if t, ok := rw[r.tsIdx].(time.Time); ok {
			ts = t
		} else {
			err = fmt.Errorf("event-time field %q is null", r.src.EventTime)
		}
	}
	if err != nil {
		r.bad.Inc(ctx, 1)
		r.c.bad.Add(1)
		switch r.src.OnError {
		case ir.DeadLetterErr:
			var off any
			if offset >= 0 {
				off = offset
			}
			if payload == nil {
				payload = []byte{}
			}
			d := row.Row{r.node.Name, src.where, nil, off, append([]byte(nil), payload...), err.Error(), src.at.UTC().Truncate(time.Millisecond)}
			dead(mtime.FromTime(src.at), Rec{Row: d})
		case ir.SkipOnError:
		default:
			at := ""
			if offset >= 0 {
				at = fmt.Sprintf(" record %d", offset)
			}
			r.fail = fmt.Errorf("source %q: malformed record in %s%s: %v (set onError.policy to \"skip\" or \"deadletter\" to keep going)",
				r.node.Name, src.where, at, err)
		}
		return
	}
	stamp := int64(math.MinInt64)
	if r.stamp {
		stamp = r.wm
	}
	if w := ts.Add(-r.src.MaxOutOfOrderness).UnixMilli(); w > r.wm {
		r.wm = w
		r.c.watermark.Store(w)
	}
	if r.project != nil {
		out := make(row.Row, len(r.project))
		for i, j := range r.project {
			out[i] = rw[j]
		}
		rw = out
	}
	r.c.out.Add(1)
	emit(mtime.FromTime(ts), Rec{Row: rw, WM: stamp})
}

// splitJSONArray returns the raw elements of a JSON array.
func splitJSONArray(b []byte) ([][]byte, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return nil, fmt.Errorf("malformed JSON array: %v", err)
	}
	out := make([][]byte, len(elems))
	for i, e := range elems {
		out[i] = e
	}
	return out, nil
}
