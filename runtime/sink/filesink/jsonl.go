// Package filesink writes rows as files: JSONL, Parquet (parquet-go) and
// Avro object container files (hamba/avro), to local disk or to any
// [Store] (S3 and MinIO through runtime/sink/s3). A file is written under a
// temporary name and published whole at Close, so a retried writer
// replaces, never duplicates, its file.
package filesink

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/encode"
)

// JSONL writes one JSON object per row and line (the encode package's JSON
// form) to an io.Writer: the stdout sink, and the body of JSONL files.
type JSONL struct {
	rec *rtype.Type
	w   *bufio.Writer
	buf []byte
}

// NewJSONL returns a JSONL encoder of rows of rec onto w.
func NewJSONL(w io.Writer, rec *rtype.Type) *JSONL {
	return &JSONL{rec: rec, w: bufio.NewWriterSize(w, 64<<10)}
}

// Open does nothing: the destination is already open.
func (j *JSONL) Open(context.Context) error { return nil }

// Write encodes the rows; a row that cannot be encoded exactly fails the
// write before any of its bytes are written.
func (j *JSONL) Write(_ context.Context, rows []row.Row) error {
	for _, r := range rows {
		var err error
		j.buf, err = encode.AppendJSONRow(j.buf[:0], j.rec, r)
		if err != nil {
			return fmt.Errorf("jsonl: %w", err)
		}
		j.buf = append(j.buf, '\n')
		if _, err := j.w.Write(j.buf); err != nil {
			return err
		}
	}
	return nil
}

// Flush writes buffered lines through.
func (j *JSONL) Flush(context.Context) error { return j.w.Flush() }

// Close flushes; the underlying writer stays open (it is the caller's).
func (j *JSONL) Close(ctx context.Context) error { return j.Flush(ctx) }
