package lineage

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"

	"rtsap.dev/rtsapc/backends/openlineage/ol"
)

// EmitterOptions tune an Emitter; the zero value works.
type EmitterOptions struct {
	// QueueSize bounds the events waiting for the transport; when full, new
	// events are dropped and counted. Default 1024.
	QueueSize int
	// OnError, if set, is called (from the emitter's goroutine) with each
	// event the transport failed to deliver after its retries.
	OnError func(error)
}

// Emitter delivers events through a Transport from its own goroutine. A nil
// *Emitter is valid and drops everything (lineage off). Emit never blocks
// and never fails: a slow or unreachable receiver costs the
// caller one non-blocking channel send, and events that do not fit in the
// queue are dropped and counted.
type Emitter struct {
	t       Transport
	opts    EmitterOptions
	mu      sync.RWMutex // guards closed and the send on q against Close
	closed  bool
	q       chan Message
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	sent    atomic.Uint64
	failed  atomic.Uint64
	dropped atomic.Uint64
}

// Stats counts events by fate.
type Stats struct {
	Sent, Failed, Dropped uint64
}

// NewEmitter starts an emitter over t; Close it to flush and stop.
func NewEmitter(t Transport, opts EmitterOptions) *Emitter {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1024
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Emitter{t: t, opts: opts, q: make(chan Message, opts.QueueSize), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go e.loop()
	return e
}

func (e *Emitter) loop() {
	defer close(e.done)
	for m := range e.q {
		if err := e.send(m); err != nil {
			e.failed.Add(1)
			if e.opts.OnError != nil {
				e.opts.OnError(err)
			}
			continue
		}
		e.sent.Add(1)
	}
}

// send calls the transport, turning a panic into an error: a transport bug
// must not take the pipeline down.
func (e *Emitter) send(m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{r}
		}
	}()
	return e.t.Send(e.ctx, m)
}

type panicError struct{ v any }

func (p *panicError) Error() string { return "lineage: transport panicked" }

// Emit encodes ev (an ol.RunEvent, ol.JobEvent, ol.DatasetEvent, a pointer
// to one, or json.RawMessage) and queues it. It reports whether the event
// was queued; false means it was dropped (queue full, emitter closed, or
// not encodable), which Stats counts.
func (e *Emitter) Emit(ev any) bool {
	if e == nil {
		return false
	}
	m, err := Encode(ev)
	if err != nil {
		e.dropped.Add(1)
		return false
	}
	return e.EmitMessage(m)
}

// EmitMessage queues an encoded event; see Emit.
func (e *Emitter) EmitMessage(m Message) bool {
	if e == nil { // lineage not configured: nothing to do
		return false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		e.dropped.Add(1)
		return false
	}
	select {
	case e.q <- m:
		return true
	default:
		e.dropped.Add(1)
		return false
	}
}

// Stats returns the counts so far.
func (e *Emitter) Stats() Stats {
	if e == nil {
		return Stats{}
	}
	return Stats{Sent: e.sent.Load(), Failed: e.failed.Load(), Dropped: e.dropped.Load()}
}

// Close stops accepting events, delivers those queued until ctx is done,
// then abandons the rest (counted as failed by the transport's error) and
// closes the transport. It returns ctx's error if delivery was cut short.
func (e *Emitter) Close(ctx context.Context) error {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		<-e.done
		return nil
	}
	e.closed = true
	close(e.q)
	e.mu.Unlock()
	var err error
	select {
	case <-e.done:
	case <-ctx.Done():
		err = ctx.Err()
		e.cancel() // the in-flight and remaining sends fail fast
		<-e.done
	}
	e.cancel()
	if cerr := e.t.Close(); err == nil {
		err = cerr
	}
	return err
}

// Encode turns an event into a Message with its key.
func Encode(ev any) (Message, error) {
	var key string
	switch v := ev.(type) {
	case ol.RunEvent:
		key = "run:" + v.Job.Namespace + "/" + v.Job.Name
	case *ol.RunEvent:
		key = "run:" + v.Job.Namespace + "/" + v.Job.Name
	case ol.JobEvent:
		key = "job:" + v.Job.Namespace + "/" + v.Job.Name
	case *ol.JobEvent:
		key = "job:" + v.Job.Namespace + "/" + v.Job.Name
	case ol.DatasetEvent:
		key = "dataset:" + v.Dataset.Namespace + "/" + v.Dataset.Name
	case *ol.DatasetEvent:
		key = "dataset:" + v.Dataset.Namespace + "/" + v.Dataset.Name
	case json.RawMessage:
		var b bytes.Buffer
		if err := json.Compact(&b, v); err != nil {
			return Message{}, err
		}
		return Message{Key: rawKey(v), Data: b.Bytes()}, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		return Message{}, err
	}
	return Message{Key: key, Data: bytes.TrimSuffix(b.Bytes(), []byte("\n"))}, nil
}

func rawKey(data []byte) string {
	var probe struct {
		Run     *struct{}   `json:"run"`
		Job     *ol.Job     `json:"job"`
		Dataset *ol.Dataset `json:"dataset"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return ""
	}
	switch {
	case probe.Run != nil && probe.Job != nil:
		return "run:" + probe.Job.Namespace + "/" + probe.Job.Name
	case probe.Job != nil:
		return "job:" + probe.Job.Namespace + "/" + probe.Job.Name
	case probe.Dataset != nil:
		return "dataset:" + probe.Dataset.Namespace + "/" + probe.Dataset.Name
	}
	return ""
}
