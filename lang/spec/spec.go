// Package spec is the front-end-neutral model of a spec: what the user wrote,
// as Go structs with the source range of every node, field and expression.
//
// A front-end (lang/cuespec for CUE, later lang/hclspec for HCL) produces a
// *File; the compiler consumes it. No CUE or HCL type appears here. Values
// are as written (durations and types still strings, names unresolved): the
// compiler resolves, parses and checks them, so that every problem is
// reported by one stage with one set of codes.
//
// Ordering: every slice is in a deterministic order — source order where the
// front-end knows it, otherwise sorted by name. Maps are never used for
// anything a backend iterates.
package spec

import "rtsap.dev/rtsapc/lang/diag"

// File is everything loaded from one invocation (one or more packages).
type File struct {
	Pipelines    []*Pipeline
	Workflows    []*Workflow
	Environments []*Environment
	// Sources holds the bytes of every user file, by the file name used in
	// ranges, for diagnostics snippets and spec digests.
	Sources diag.Sources
	// Root is the directory the spec was loaded from (for relative paths in
	// artifacts such as OpenLineage sourceCodeLocation).
	Root string
}

// String is a string value with its range.
type String struct {
	Value string
	Range diag.Range
}

// Int is an integer value with its range.
type Int struct {
	Value int64
	Set   bool // false when the user left it out
	Range diag.Range
}

// Float is a number value with its range.
type Float struct {
	Value float64
	Set   bool
	Range diag.Range
}

// Bool is a boolean with its range.
type Bool struct {
	Value bool
	Set   bool
	Range diag.Range
}

// Duration is a duration as written ("5m", "1h30m", "250ms"); the compiler
// parses it. Value "" means unset.
type Duration = String

// Expr is a CEL expression as written in a string of the spec.
type Expr struct {
	Text string
	// Range covers the whole string literal in the file, quotes included.
	Range diag.Range
	// Spans maps offsets in Text to file positions, for strings whose bytes
	// do not sit one-to-one after the opening quote (escapes, multi-line
	// strings). Nil means Text[i] is at Range.Start + quoteLen + i on the
	// same line.
	Spans []Span
	// QuoteLen is the length of the opening delimiter (1 for ", 3 for """).
	QuoteLen int
}

// Span says that byte Off of Expr.Text is at Pos; bytes after it advance the
// column and byte offset one by one until the next span.
type Span struct {
	Off int
	Pos diag.Pos
}

// PosAt returns the file position of byte off of the expression text, so a
// CEL error can point at the bad token inside the string.
func (e Expr) PosAt(off int) diag.Pos {
	if len(e.Spans) == 0 {
		p := e.Range.Start
		q := e.QuoteLen
		if q == 0 && e.Range.IsValid() {
			q = 1
		}
		p.Column += q + off
		p.Byte += q + off
		return p
	}
	s := e.Spans[0]
	for _, sp := range e.Spans {
		if sp.Off > off {
			break
		}
		s = sp
	}
	p := s.Pos
	p.Column += off - s.Off
	p.Byte += off - s.Off
	return p
}

// RangeAt returns the range of Text[off:off+n] in the file.
func (e Expr) RangeAt(off, n int) diag.Range {
	start := e.PosAt(off)
	end := start
	end.Column += n
	end.Byte += n
	return diag.Range{Filename: e.Range.Filename, Start: start, End: end}
}

// Named is an output field defined by an expression: `vwap: "sum(p*s)/sum(s)"`.
type Named struct {
	Name      string
	NameRange diag.Range
	Expr      Expr
}

// Record is a record schema as written: fields with type strings, or nested
// records. Field order is the source order.
type Record struct {
	Name   string // the CUE definition name (#Trade) when known, else ""
	Fields []*Field
	Range  diag.Range
}

// Field is one field of a Record.
type Field struct {
	Name     string
	Optional bool   // `name?:` — the column is nullable
	Type     String // the type string; empty when Nested is set
	Nested   *Record
	Range    diag.Range // the field's label
}

// Pipeline is one named pipeline.
type Pipeline struct {
	Name        String
	Mode        String // "streaming" | "batch"
	Engine      String // "flink" | "spark" | "beam" | "nifi"
	Owner       String
	Description String
	Labels      []KV
	// Nodes in source order: sources first, then transforms, then sinks.
	Nodes  []*Node
	Deploy Deploy
	Range  diag.Range
	// Invalid: the front-end reported an error that leaves the pipeline
	// without a usable node list (its sources, transforms or sinks are not
	// structs). The compiler keeps its name and checks nothing else.
	Invalid bool
}

// KV is a string key/value pair (labels, annotations, free options).
type KV struct {
	Key   string
	Value string
	Range diag.Range
}

// Role is where a node was declared.
type Role uint8

const (
	SourceRole Role = iota + 1
	TransformRole
	SinkRole
)

func (r Role) String() string {
	switch r {
	case SourceRole:
		return "source"
	case TransformRole:
		return "transform"
	case SinkRole:
		return "sink"
	}
	return "invalid"
}

// Node is a source, transform or sink. Exactly one payload pointer is set,
// matching Kind.
type Node struct {
	Name  String // the key in sources/transforms/sinks
	Role  Role
	Kind  String // "source", "sink", "filter", "map", "aggregate", "rolling", "join", "lookup", "pattern", "dedupe", "topn", "union", "windowing"
	From  []String
	Doc   String // description
	Range diag.Range

	Source    *Source
	Sink      *Sink
	Filter    *Filter
	Map       *Map
	Aggregate *Aggregate
	Rolling   *Rolling
	Join      *Join
	Lookup    *Lookup
	Pattern   *Pattern
	Dedupe    *Dedupe
	TopN      *TopN
	Union     *Union
	Windowing *Windowing

	// Invalid: the front-end reported an error inside this node, so its
	// payload may be partial. The compiler keeps its name (references to
	// it resolve) and its side outputs, gives it an invalid type and
	// reports nothing about it or downstream of it: the front-end's
	// diagnostic is the root cause.
	Invalid bool
}

// Connector is where a source reads or a sink writes: its kind and typed
// options, kept as written (the stdlib's CUE schema types and documents them;
// the compiler checks the ones it needs).
type Connector struct {
	Kind    String // kafka, upsert-kafka, postgres, timescale, mongodb, cassandra, hbase, s3, file, http, qdrant, solr, stdout
	Format  String // json, avro, parquet, csv, raw ("" = connector default)
	Options []Option
}

// Option is one connector option; Value is string, int64, float64, bool,
// []Value, []Option (nested object) or *Secret.
type Option struct {
	Key   string
	Value any
	Range diag.Range
}

// Secret is a reference to a secret; its value is never read by rtsapc.
type Secret struct {
	Name  String // Kubernetes Secret name (or a vault path)
	Key   String // key inside the secret
	Env   String // environment variable that holds it at run time (optional)
	Range diag.Range
}

// Source reads records.
type Source struct {
	Connector Connector
	Schema    *Record
	EventTime *EventTime
	// OnError is the malformed-record policy.
	OnError OnError
	// Bounded: read only what is present at start (batch/backfill).
	Bounded Bool
}

// EventTime names the timestamp field and the out-of-orderness bound.
type EventTime struct {
	Field             String
	MaxOutOfOrderness Duration
	Range             diag.Range
}

// OnError is the policy for records that do not decode or fit the schema.
type OnError struct {
	Policy String // "fail" (default) | "skip" | "deadletter"
	// DeadLetter names the stream that carries bad records (a node other
	// nodes and sinks may read `from`), when Policy is "deadletter".
	DeadLetter String
	Range      diag.Range
}

// Sink writes records.
type Sink struct {
	Connector Connector
	// Key: upsert key columns (idempotent writes); empty means append.
	Key []String
	// Schema, if given, is the table's declared schema; the compiler checks
	// that the input assigns to it.
	Schema *Record
}

// Filter keeps records for which Where is true.
type Filter struct {
	Where Expr
}

// Map computes new fields.
type Map struct {
	Select []Named
	// Keep: output = input fields (minus Drop) followed by Select fields
	// (which override input fields of the same name, in place).
	Keep bool
	Drop []String
}

// Window is a window assignment; exactly one of the kinds is set.
type Window struct {
	Kind   String   // tumble | hop | session | cumulate
	Size   Duration // tumble, hop; cumulate max size
	Slide  Duration // hop
	Gap    Duration // session
	Step   Duration // cumulate
	Offset Duration // alignment offset (tumble, hop, cumulate)
	Range  diag.Range
}

// Aggregate groups by keys (and a window) and computes aggregates.
type Aggregate struct {
	By              []String
	Window          *Window // nil: unwindowed (batch, or a continuously updated result)
	Select          []Named
	Having          *Expr
	AllowedLateness Duration
	// LateOutput names a stream receiving records too late for their window.
	LateOutput String
}

// Rolling is an OVER aggregation: per key, over a range of time or a number
// of rows preceding each record. Output = input fields + Select fields.
type Rolling struct {
	By      []String
	OrderBy String   // timestamp field; default: the input's event time
	Range   Duration // time range preceding (inclusive of current row)
	Rows    Int      // or: number of preceding rows
	Select  []Named
}

// JoinSide names one input of a join and the alias its fields go by in
// expressions.
type JoinSide struct {
	From String
	As   String // default: "left" / "right"
}

// Join is an interval or window join of two streams.
type Join struct {
	Type  String // inner | left | right | full | semi | anti
	Left  JoinSide
	Right JoinSide
	// On: equality keys "left_field = right_field" as pairs.
	On []KeyPair
	// Interval join: right.time - left.time within [Lower, Upper].
	Lower, Upper Duration
	// Window join: both sides windowed the same way.
	Window *Window
	// Where: an extra condition over both sides.
	Where *Expr
	// Select: output fields; empty = all left fields then right fields not
	// already present.
	Select []Named
}

// KeyPair is one equality of a join.
type KeyPair struct {
	Left, Right String
}

// Lookup is a lookup (temporal) join against a table.
type Lookup struct {
	Type      String // inner | left
	Table     Connector
	Schema    *Record
	On        []KeyPair // left = stream field, right = table column
	AsOf      String    // temporal: the stream's time field; "" = latest
	Select    []Named
	CacheTTL  Duration
	CacheRows Int
}

// Pattern is complex-event processing in the shape of MATCH_RECOGNIZE.
type Pattern struct {
	PartitionBy []String
	OrderBy     String // default: event time
	// Pattern is the sequence "A B+ C{2,3}? D*": variables with quantifiers
	// + * ? {n} {n,} {n,m}, each optionally reluctant (a trailing ?).
	Pattern  Expr
	Define   []Named // variable → condition (bool CEL)
	Measures []Named
	Within   Duration
	// AfterMatch: skip_past_last_row (default) | skip_to_next_row |
	// skip_to_first | skip_to_last; To is the variable for the last two.
	AfterMatch String
	To         String
}

// Dedupe keeps the first or last record per key.
type Dedupe struct {
	By      []String
	Keep    String   // first | last
	OrderBy String   // default: event time; "proctime" for arrival order
	Within  Duration // optional state TTL
}

// TopN keeps the N best records per key (and window).
type TopN struct {
	By        []String
	OrderBy   []Order
	N         Int
	Window    *Window
	RankField String // name of the rank column; "" = no rank column
}

// Windowing assigns each record to its windows without aggregating: one
// output record per window, with window_start and window_end added.
type Windowing struct {
	Window *Window
}

// Order is one sort key.
type Order struct {
	Field String
	Desc  bool
}

// Union merges streams with the same record type.
type Union struct{}

// Deploy holds per-engine deployment settings.
type Deploy struct {
	Parallelism    Int
	MaxParallelism Int
	Resources      Resources
	Checkpoint     Checkpoint
	// Engine-specific settings passed through (flinkConfiguration, sparkConf),
	// sorted by key.
	Config []KV
	Image  String
	Range  diag.Range
}

// Resources for job manager / driver and task managers / executors.
type Resources struct {
	CPU      Float
	Memory   String
	Replicas Int // task managers / executors
}

// Checkpoint settings.
type Checkpoint struct {
	Interval     Duration
	Dir          String
	SavepointDir String
	Mode         String // exactly_once | at_least_once
	StateBackend String // hashmap | rocksdb
	UpgradeMode  String // stateless | last-state | savepoint
}

// Environment is an overlay of settings per deployment environment.
type Environment struct {
	Name      String
	Namespace String
	Labels    []KV
	// Connections: named connection settings (kafka brokers, database
	// hosts, s3 endpoints) that connectors refer to.
	Connections []Connection
	// Scale multiplies parallelism and replicas.
	Scale Float
	// Targets: plan/apply targets (dir path, kafka brokers, kube context).
	Targets []Option
	Range   diag.Range
}

// Connection is a named set of connection options.
type Connection struct {
	Name    String
	Kind    String
	Options []Option
}

// Workflow is a scheduled DAG of steps (Argo).
type Workflow struct {
	Name        String
	Description String
	Schedule    *Schedule
	Params      []KV
	Steps       []*Step
	OnExit      *Step
	// ActiveDeadline bounds the whole run.
	ActiveDeadline Duration
	Range          diag.Range
	// Invalid: the front-end reported an error in the workflow outside
	// its steps; the compiler checks nothing else in it.
	Invalid bool
}

// Schedule is a cron schedule.
type Schedule struct {
	Cron              String
	Timezone          String
	ConcurrencyPolicy String // Allow | Forbid | Replace
	StartingDeadline  Duration
	Suspend           Bool
}

// Step is one task of a workflow: a pipeline run or a container.
type Step struct {
	Name      String
	Pipeline  String // runs this (batch) pipeline on its engine
	Container *Container
	DependsOn []String
	Retry     *Retry
	Timeout   Duration
	Params    []KV
	Range     diag.Range
	// Invalid: the front-end reported an error inside this step; the
	// compiler keeps its name (dependsOn resolves) and checks nothing else.
	Invalid bool
}

// Container is a custom container step.
type Container struct {
	Image   String
	Command []String
	Args    []String
	Env     []KV
}

// Retry is a retry strategy.
type Retry struct {
	Limit       Int
	Policy      String // Always | OnFailure | OnError | OnTransientError
	Backoff     Duration
	Factor      Float
	MaxDuration Duration
}
