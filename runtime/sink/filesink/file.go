package filesink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
)

// Store is where finished files go.
type Store interface {
	// Where names the final location of name (to detect two writers
	// aiming at the same file).
	Where(name string) string
	// Create starts the object name; nothing is visible under name before
	// Commit.
	Create(ctx context.Context, name string) (Object, error)
}

// Object is a file being written.
type Object interface {
	io.Writer
	// Commit publishes the object whole under its name, replacing any
	// earlier one.
	Commit(ctx context.Context) error
	// Abort discards it.
	Abort(ctx context.Context) error
}

// Local stores files under a directory.
type Local struct{ Dir string }

// Where is the file's absolute path.
func (l Local) Where(name string) string {
	p := name
	if !filepath.IsAbs(p) && l.Dir != "" {
		p = filepath.Join(l.Dir, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return "file:" + abs
	}
	return "file:" + p
}

// Create writes to a hidden temporary file next to the target, renamed
// into place at Commit (atomic on POSIX file systems).
func (l Local) Create(_ context.Context, name string) (Object, error) {
	path := name
	if !filepath.IsAbs(path) && l.Dir != "" {
		path = filepath.Join(l.Dir, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &localObject{f: f, path: path}, nil
}

type localObject struct {
	f    *os.File
	path string
}

func (o *localObject) Write(p []byte) (int, error) { return o.f.Write(p) }

func (o *localObject) Commit(context.Context) error {
	if err := o.f.Sync(); err != nil {
		o.f.Close()
		os.Remove(o.f.Name())
		return err
	}
	if err := o.f.Close(); err != nil {
		os.Remove(o.f.Name())
		return err
	}
	return os.Rename(o.f.Name(), o.path)
}

func (o *localObject) Abort(context.Context) error {
	o.f.Close()
	return os.Remove(o.f.Name())
}

// Format names a file format.
type Format string

const (
	JSONLFormat   Format = "jsonl"
	ParquetFormat Format = "parquet"
	AvroFormat    Format = "avro"
	CSVFormat     Format = "csv"
)

// Ext is the file name extension of the format.
func (f Format) Ext() string {
	switch f {
	case JSONLFormat:
		return ".jsonl"
	case ParquetFormat:
		return ".parquet"
	case AvroFormat:
		return ".avro"
	case CSVFormat:
		return ".csv"
	}
	return ""
}

// encoder writes one format onto an object.
type encoder interface {
	write(rows []row.Row) error
	// close writes any trailer (Parquet footer, last Avro block).
	close() error
}

// Config configures a file Writer.
type Config struct {
	Store  Store
	Name   string // object name or path
	Format Format
	Record *rtype.Type
	// Name is the record name in Avro schemas ("" → "Row").
	AvroName string
	// Compression of Parquet pages: snappy (""), zstd, gzip or none.
	// Other formats take only "" (Avro blocks are deflated).
	Compression string
}

// Writer writes rows of Record to one file in Format, published at Close.
type Writer struct {
	cfg   Config
	obj   Object
	enc   encoder
	where string
}

// open lists the files being written in this process: a second writer of
// the same file would silently replace the first one's at Close.
var open sync.Map

// New checks the configuration (the record must be representable in the
// format) without creating anything.
func New(cfg Config) (*Writer, error) {
	if cfg.Store == nil {
		return nil, errors.New("file: no store")
	}
	if cfg.Record == nil || cfg.Record.Kind != rtype.Record {
		return nil, fmt.Errorf("file %s: row type %s is not a record", cfg.Name, cfg.Record)
	}
	if cfg.Name == "" {
		return nil, errors.New("file: empty path")
	}
	plain := cfg.Compression == "none" && (cfg.Format == JSONLFormat || cfg.Format == CSVFormat)
	if cfg.Compression != "" && cfg.Format != ParquetFormat && !plain {
		return nil, fmt.Errorf("file %s: compression %q is not supported for %s (Avro blocks are deflated; jsonl and csv are written plain)", cfg.Name, cfg.Compression, cfg.Format)
	}
	switch cfg.Format {
	case JSONLFormat, CSVFormat:
	case ParquetFormat:
		if _, err := parquetCodec(cfg.Compression); err != nil {
			return nil, fmt.Errorf("parquet %s: %w", cfg.Name, err)
		}
		if _, err := ParquetSchema(cfg.Record); err != nil {
			return nil, fmt.Errorf("parquet %s: %w", cfg.Name, err)
		}
	case AvroFormat:
		if _, err := avroSchemaOf(cfg); err != nil {
			return nil, fmt.Errorf("avro %s: %w", cfg.Name, err)
		}
	default:
		return nil, fmt.Errorf("file %s: unknown format %q (jsonl, csv, parquet, avro)", cfg.Name, cfg.Format)
	}
	return &Writer{cfg: cfg}, nil
}

// Open creates the temporary object and starts the format.
func (w *Writer) Open(ctx context.Context) error {
	if w.obj != nil {
		return nil
	}
	where := w.cfg.Store.Where(w.cfg.Name)
	if _, busy := open.LoadOrStore(where, w); busy {
		return fmt.Errorf("file %s: another writer in this process is writing it; give each writer its own shard (sink.Options.Shard)", w.cfg.Name)
	}
	obj, err := w.cfg.Store.Create(ctx, w.cfg.Name)
	if err != nil {
		open.Delete(where)
		return fmt.Errorf("file %s: %w", w.cfg.Name, err)
	}
	var enc encoder
	switch w.cfg.Format {
	case JSONLFormat:
		enc = &jsonlEncoder{j: NewJSONL(obj, w.cfg.Record)}
	case ParquetFormat:
		enc, err = newParquetEncoder(obj, w.cfg.Record, w.cfg.Compression)
	case AvroFormat:
		enc, err = newAvroEncoder(obj, w.cfg)
	case CSVFormat:
		enc, err = newCSVEncoder(obj, w.cfg.Record)
	}
	if err != nil {
		obj.Abort(ctx)
		open.Delete(where)
		return fmt.Errorf("file %s: %w", w.cfg.Name, err)
	}
	w.obj, w.enc, w.where = obj, enc, where
	return nil
}

// Write encodes rows into the open file.
func (w *Writer) Write(_ context.Context, rows []row.Row) error {
	if w.enc == nil {
		return fmt.Errorf("file %s: write before Open", w.cfg.Name)
	}
	if err := w.enc.write(rows); err != nil {
		return fmt.Errorf("file %s: %w", w.cfg.Name, err)
	}
	return nil
}

// Flush does nothing: a file becomes visible, whole, at Close.
func (w *Writer) Flush(context.Context) error { return nil }

// Close finishes the format and publishes the file.
func (w *Writer) Close(ctx context.Context) error {
	if err := w.finish(ctx); err != nil {
		return err
	}
	return w.commit(ctx)
}

// finish writes the format's trailer; on failure the object is aborted.
func (w *Writer) finish(ctx context.Context) error {
	if w.obj == nil || w.enc == nil {
		return nil
	}
	enc := w.enc
	w.enc = nil
	if err := enc.close(); err != nil {
		w.abort(ctx)
		return fmt.Errorf("file %s: %w", w.cfg.Name, err)
	}
	return nil
}

// commit publishes a finished object.
func (w *Writer) commit(ctx context.Context) error {
	if w.obj == nil {
		return nil
	}
	obj := w.obj
	w.obj = nil
	defer open.Delete(w.where)
	if err := obj.Commit(ctx); err != nil {
		return fmt.Errorf("file %s: %w", w.cfg.Name, err)
	}
	return nil
}

// abort discards the object.
func (w *Writer) abort(ctx context.Context) {
	if w.obj == nil {
		return
	}
	w.obj.Abort(ctx)
	w.obj, w.enc = nil, nil
	open.Delete(w.where)
}

type jsonlEncoder struct{ j *JSONL }

func (e *jsonlEncoder) write(rows []row.Row) error { return e.j.Write(context.Background(), rows) }
func (e *jsonlEncoder) close() error               { return e.j.Flush(context.Background()) }
