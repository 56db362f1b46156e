// Package beamgo is the Beam Go backend: per pipeline, a Go main package
// (<pipeline>/beam/main.go and go.mod) that builds the pipeline with the
// runtime library (rtsap.dev/rtsapc/runtime/beamrt) — one Beam step per
// spec node, named after it — and runs it on Prism locally or on a
// portable job endpoint (Flink, Spark runners).
//
// The generated program holds the pipeline's IR as a Go literal; the
// runtime's DoFns carry it to the workers and compile each node's
// expressions once per worker (the closures evaluator measured faster to
// build and as fast to run as generated Go for these expression sizes;
// see BENCHMARKS.md).
package beamgo

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/runtime/cep"
	"rtsap.dev/rtsapc/runtime/sink"
)

// Backend is the beam backend descriptor.
var Backend = &backends.Backend{
	Name: "beam",
	Doc: `Beam Go pipelines (Prism locally, portable runners remotely)

Per pipeline, under <pipeline>/beam/: main.go (a Go main package that
builds the pipeline with rtsap.dev/rtsapc/runtime/beamrt, one step per
spec node) and go.mod. Flags: --brokers, --dsn, --runner (prism or
universal), --endpoint (a portable job service), --bounded, --out.

Settings: beam.runtimeModule (the module path of rtsapc, default
rtsap.dev/rtsapc), beam.runtimeVersion (default v0.1.0), beam.replace
(a local directory for a go.mod replace of the runtime module).`,
	Scope:    backends.PerPipeline,
	Check:    func(p *ir.Pipeline, _ *backends.Options) diag.Diagnostics { return Check(p) },
	Generate: generate,
}

// Check reports what the Beam runtime cannot run exactly in p.
func Check(p *ir.Pipeline) diag.Diagnostics {
	var ds diag.Diagnostics
	unsupported := func(n *ir.Node, what, remedy string) {
		ds = ds.Append(diag.Errorf(diag.UnsupportedOperator, n.Pos, "Unsupported operator on Beam",
			"%s %q: %s", what, n.Name, remedy))
	}
	for _, n := range p.Nodes {
		switch op := n.Op.(type) {
		case *ir.Source:
			ds = checkSource(ds, n, op)
		case *ir.Aggregate:
			if w := op.Window; w != nil {
				if w.Offset != 0 {
					unsupported(n, "window offset of", "Beam Go has no window offsets; remove offset.")
				}
				if w.Kind == ir.Cumulate && (w.Step <= 0 || w.Size%w.Step != 0) {
					unsupported(n, "cumulate window of", "the size must be a multiple of the step.")
				}
			}
			if op.Late != 0 {
				if len(n.Inputs) != 1 || !fedByStateless(p, n.Inputs[0]) {
					unsupported(n, "late output of", "late rows are only told apart when the aggregate reads its sources through filters and maps; move the aggregate next to the source.")
				}
			}
		case *ir.Rolling:
			if (op.Range > 0) == (op.Rows > 0) {
				unsupported(n, "rolling aggregation", "give exactly one of range and rows.")
			}
		case *ir.Join:
			if w := op.Window; w != nil && (w.Offset != 0 || (w.Kind != ir.Tumble && w.Kind != ir.Hop && w.Kind != ir.Session)) {
				unsupported(n, "join window of", "the Beam runtime joins in tumble, hop and session windows without offsets.")
			}
		case *ir.Lookup:
			if k := op.Table.Kind; k != "postgres" && k != "timescale" {
				ds = ds.Append(diag.Errorf(diag.UnsupportedConnector, n.Pos, "Unsupported connector on Beam",
					"lookup %q reads table connector %q; the Beam runtime looks rows up in postgres and timescale tables.", n.Name, k))
			}
		case *ir.Pattern:
			for _, why := range cep.Unsupported(op) {
				unsupported(n, "pattern", why+".")
			}
			if in := p.Node(n.Inputs[0]); in.EventTime == "" || op.OrderBy != in.EventTime {
				unsupported(n, "pattern", "the Beam runtime orders a pattern's rows by the input's event time; order by it (the default).")
			}
		case *ir.TopN:
			if w := op.Window; w != nil && (w.Kind == ir.Cumulate || w.Offset != 0) {
				unsupported(n, "top-N window of", "the Beam runtime ranks in tumble, hop and session windows without offsets.")
			}
		case *ir.Windowing:
			if w := op.Window; w == nil || w.Kind == ir.Session {
				unsupported(n, "windowing", "give a tumble, hop or cumulate window.")
			}
		case *ir.Sink:
			ds = checkSink(ds, n, op)
		case *ir.DeadLetter, *ir.Filter, *ir.Map, *ir.LateOutput, *ir.Union, *ir.Dedupe:
		default:
			unsupported(n, fmt.Sprintf("operator %T", op), "unknown to the Beam runtime.")
		}
	}
	return ds
}

// checkSource accepts the sources the runtime reads: Kafka (json, avro),
// files and S3 objects (jsonl, parquet, avro; bounded) and HTTP polling
// (json, jsonl).
func checkSource(ds diag.Diagnostics, n *ir.Node, op *ir.Source) diag.Diagnostics {
	c := &op.Connector
	bad := func(summary, format string, args ...any) diag.Diagnostics {
		return ds.Append(diag.Errorf(diag.UnsupportedConnector, n.Pos, summary, format, args...))
	}
	f := c.Format
	switch c.Kind {
	case "kafka", "upsert-kafka":
		if f != "" && f != "json" && f != "avro" {
			return bad("Unsupported format on Beam", "source %q: format %q; the Beam runtime decodes json and avro from Kafka.", n.Name, f)
		}
	case "file", "s3":
		switch f {
		case "", "json", "jsonl", "parquet", "avro":
		default:
			return bad("Unsupported format on Beam", "source %q: format %q; the Beam runtime reads jsonl (json), parquet and avro files.", n.Name, f)
		}
		if c.Kind == "s3" && strings.ContainsAny(c.String("path", ""), "{}") {
			return bad("Unsupported connector option on Beam", "source %q: path %q has partition placeholders; the Beam runtime reads every object under a plain prefix. Name the prefix.", n.Name, c.String("path", ""))
		}
		if !op.Bounded {
			return bad("Unsupported connector option on Beam", "source %q: the Beam runtime reads %s sources bounded (the files present at start); set bounded: true.", n.Name, c.Kind)
		}
	case "http":
		if f != "" && f != "json" && f != "jsonl" {
			return bad("Unsupported format on Beam", "source %q: format %q; the Beam runtime decodes json and jsonl responses.", n.Name, f)
		}
		if m := strings.ToUpper(c.String("method", "GET")); m != "GET" && m != "POST" {
			return bad("Unsupported connector option on Beam", "source %q: method %q; the Beam runtime polls with GET or POST.", n.Name, m)
		}
		for _, k := range []string{"records", "cursor.field"} {
			if p := connString(c, k); strings.ContainsAny(p, "[]*") {
				return bad("Unsupported connector option on Beam", "source %q: %s %q; the Beam runtime follows $.field.field paths only.", n.Name, k, p)
			}
		}
	default:
		return bad("Unsupported connector on Beam", "source %q reads from %q; the Beam runtime reads Kafka topics, files, S3 objects and HTTP (polling). Land the data in one of them, or use the spark engine.", n.Name, c.Kind)
	}
	return ds
}

// checkSink asks runtime/sink, which writes the generated program's sinks,
// whether it can write this one (kind, options, names, types), so that vet
// and the runtime cannot drift apart.
func checkSink(ds diag.Diagnostics, n *ir.Node, op *ir.Sink) diag.Diagnostics {
	kind := op.Connector.Kind
	if !slices.Contains(sink.Kinds(), kind) {
		return ds.Append(diag.Errorf(diag.UnsupportedConnector, n.Pos, "Unsupported sink on Beam",
			"sink %q writes to %q, for which the Beam runtime has no writer; it writes %s. Write to one of those (and move the data on from there), or use an engine with a %s sink.",
			n.Name, kind, strings.Join(sink.Kinds(), ", "), kind))
	}
	err := sink.Check(n)
	if err == nil {
		return ds
	}
	if inner := errors.Unwrap(err); inner != nil {
		err = inner // New's `sink "name": ` prefix: the name is said below
	}
	return ds.Append(diag.Errorf(diag.UnsupportedConnector, n.Pos, "Unsupported sink option on Beam",
		"sink %q: %v. Change the sink's options accordingly, or use an engine that supports them.", n.Name, err))
}

// connString reads a string option, "a.b" reaching into a nested one.
func connString(c *ir.Connector, key string) string {
	head, rest, nested := strings.Cut(key, ".")
	if !nested {
		return c.String(key, "")
	}
	if o, ok := c.Option(head); ok {
		if sub, ok := o.Value.([]ir.Option); ok {
			return connString(&ir.Connector{Options: sub}, rest)
		}
	}
	return ""
}

func fedByStateless(p *ir.Pipeline, id ir.NodeID) bool {
	n := p.Node(id)
	switch n.Op.(type) {
	case *ir.Source:
		return true
	case *ir.Filter, *ir.Map, *ir.Union:
		for _, in := range n.Inputs {
			if !fedByStateless(p, in) {
				return false
			}
		}
		return true
	}
	return false
}
