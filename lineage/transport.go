package lineage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Message is one encoded event and its routing key.
type Message struct {
	// Key is "run:{job namespace}/{job name}" for run events,
	// "job:{namespace}/{name}" for job events and "dataset:{namespace}/{name}"
	// for dataset events (after the OpenLineage Java client's Kafka message
	// keys), so that a job's events stay in order on one partition.
	Key string
	// Data is the event's JSON, one line, without a trailing newline.
	Data []byte
}

// Transport delivers events somewhere. Send may block (the emitter calls it
// from its own goroutine) but must return when ctx is done.
type Transport interface {
	Send(ctx context.Context, m Message) error
	Close() error
}

// Console writes each event as one JSON line to w.
func Console(w io.Writer) Transport { return &writerTransport{w: w} }

type writerTransport struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
	buf    *bufio.Writer
}

func (t *writerTransport) Send(_ context.Context, m Message) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.w
	if t.buf != nil {
		w = t.buf
	}
	if _, err := w.Write(append(append([]byte(nil), m.Data...), '\n')); err != nil {
		return err
	}
	if t.buf != nil {
		return t.buf.Flush()
	}
	return nil
}

func (t *writerTransport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var err error
	if t.buf != nil {
		err = t.buf.Flush()
	}
	if t.closer != nil {
		err = errors.Join(err, t.closer.Close())
		t.closer = nil
	}
	return err
}

// File appends each event as one JSON line to the file at path (JSON
// Lines), creating it with mode 0644.
func File(path string) (Transport, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lineage: file transport: %w", err)
	}
	return &writerTransport{w: f, closer: f, buf: bufio.NewWriter(f)}, nil
}

// Discard drops every event (lineage disabled).
func Discard() Transport { return discard{} }

type discard struct{}

func (discard) Send(context.Context, Message) error { return nil }
func (discard) Close() error                        { return nil }
