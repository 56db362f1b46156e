package ir

import (
	"time"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

func (*Source) isOp()     {}
func (*DeadLetter) isOp() {}
func (*Filter) isOp()     {}
func (*Map) isOp()        {}
func (*Aggregate) isOp()  {}
func (*LateOutput) isOp() {}
func (*Rolling) isOp()    {}
func (*Join) isOp()       {}
func (*Lookup) isOp()     {}
func (*Pattern) isOp()    {}
func (*Dedupe) isOp()     {}
func (*TopN) isOp()       {}
func (*Union) isOp()      {}
func (*Windowing) isOp()  {}
func (*Sink) isOp()       {}

// Connector is an external system a source reads or a sink writes, with its
// options resolved against the environment (secrets stay references).
type Connector struct {
	// Kind: kafka, upsert-kafka, postgres, timescale, mongodb, cassandra,
	// hbase, s3, file, http, qdrant, solr, stdout.
	Kind string
	// Format: json, avro, parquet, csv, raw; "" when the connector has none.
	Format string
	// Options sorted by key. Values: string, int64, float64, bool, []any,
	// []Option (nested), *Secret.
	Options []Option
}

// Option is a connector option.
type Option struct {
	Key   string
	Value any
	Pos   diag.Range
}

// Secret is a reference to a secret value; backends emit references
// (secretKeyRef, env var, NiFi sensitive parameter), never values.
type Secret struct {
	Name string // Kubernetes Secret name
	Key  string
	Env  string // environment variable name at run time
}

// String returns the option's string value, or def.
func (c *Connector) String(key, def string) string {
	for _, o := range c.Options {
		if o.Key == key {
			if s, ok := o.Value.(string); ok {
				return s
			}
		}
	}
	return def
}

// Int returns the option's integer value, or def.
func (c *Connector) Int(key string, def int64) int64 {
	for _, o := range c.Options {
		if o.Key == key {
			switch v := o.Value.(type) {
			case int64:
				return v
			case float64:
				return int64(v)
			}
		}
	}
	return def
}

// Bool returns the option's boolean value, or def.
func (c *Connector) Bool(key string, def bool) bool {
	for _, o := range c.Options {
		if o.Key == key {
			if b, ok := o.Value.(bool); ok {
				return b
			}
		}
	}
	return def
}

// Option returns the option named key.
func (c *Connector) Option(key string) (Option, bool) {
	for _, o := range c.Options {
		if o.Key == key {
			return o, true
		}
	}
	return Option{}, false
}

// Secret returns the secret reference in option key, if it is one.
func (c *Connector) Secret(key string) *Secret {
	if o, ok := c.Option(key); ok {
		if s, ok := o.Value.(*Secret); ok {
			return s
		}
	}
	return nil
}

// ErrorPolicy is what a source does with a malformed record.
type ErrorPolicy string

const (
	FailOnError   ErrorPolicy = "fail"
	SkipOnError   ErrorPolicy = "skip"
	DeadLetterErr ErrorPolicy = "deadletter"
)

// Source reads records of Node.Out from a connector.
// Out: the declared schema. EventTime: the declared field.
type Source struct {
	Connector Connector
	// Schema is the declared record (== Node.Out before column pruning;
	// pruning may narrow Node.Out, never Schema).
	Schema    *rtype.Type
	EventTime string // "" = no event time (processing time only)
	// MaxOutOfOrderness: watermark = max event time − this.
	MaxOutOfOrderness time.Duration
	OnError           ErrorPolicy
	// DeadLetter is the node carrying bad records, when OnError is deadletter.
	DeadLetter NodeID
	Bounded    bool
}

// DeadLetter is the side output of a source's malformed records.
// Inputs: [source]. Out: DeadLetterType.
type DeadLetter struct {
	Source NodeID
}

// DeadLetterType is the record of a dead-letter output.
var DeadLetterType = rtype.RecordOf(
	rtype.Field{Name: "source", Type: rtype.StringType},
	rtype.Field{Name: "topic", Type: rtype.StringType, Nullable: true},
	rtype.Field{Name: "partition", Type: rtype.Int32Type, Nullable: true},
	rtype.Field{Name: "offset", Type: rtype.Int64Type, Nullable: true},
	rtype.Field{Name: "payload", Type: rtype.BytesType},
	rtype.Field{Name: "error", Type: rtype.StringType},
	rtype.Field{Name: "received_at", Type: rtype.TimestampMillis},
)

// Filter keeps records where Where is true (null counts as false).
// Out: the input type.
type Filter struct {
	Where *Expr
}

// Column is an output column computed by an expression.
type Column struct {
	Name string
	Expr *Expr
	Pos  diag.Range
}

// Map computes Out from each input record; Columns are all output fields in
// order (input fields passed through appear as Ref expressions, so lineage
// and pruning see them).
type Map struct {
	Columns []Column
}

// WindowKind names a window assignment.
type WindowKind string

const (
	Tumble   WindowKind = "tumble"
	Hop      WindowKind = "hop"
	Session  WindowKind = "session"
	Cumulate WindowKind = "cumulate"
)

// Window is an event-time window; windows are [start, end), aligned to the
// epoch plus Offset.
type Window struct {
	Kind   WindowKind
	Size   time.Duration // tumble, hop; cumulate: max size
	Slide  time.Duration // hop
	Gap    time.Duration // session
	Step   time.Duration // cumulate
	Offset time.Duration
	// Panes: set by the "slice windows" pass for hop/cumulate when Size is a
	// multiple of Slide/Step: aggregate per pane of this length, then merge.
	Panes time.Duration
}

// Aggregate groups by Keys (and Window) and computes Aggs.
//
// Out = [window_start, window_end (timestamp(3)) when windowed] + Keys +
// Columns. Node.EventTime = "window_end" minus 1ms semantics is not used:
// downstream event time is window_end (exclusive end; a record at the end of
// the window belongs to it for downstream windows as Flink's window_time =
// window_end − 1ms would). Backends emit window_time where the engine needs it.
type Aggregate struct {
	Keys    []Column // Ref expressions of grouping fields, in order
	Window  *Window  // nil: unwindowed
	Columns []Column // expressions whose Aggregate calls are over the group
	Having  *Expr    // over Out's fields (keys and columns)
	// AllowedLateness keeps windows open after the watermark passes the end.
	AllowedLateness time.Duration
	// Late is the LateOutput node receiving late records, or 0.
	Late NodeID
}

// LateOutput is the side output of records an aggregate dropped as late.
// Inputs: [aggregate]. Out: the aggregate's input type.
type LateOutput struct {
	Of NodeID
}

// Rolling is an OVER aggregation per key: for each input record, the
// aggregates over the preceding Range of event time (inclusive) or the
// preceding Rows rows plus the current one.
// Out = input fields + Columns.
type Rolling struct {
	Keys    []Column
	OrderBy string        // timestamp field
	Range   time.Duration // > 0: RANGE BETWEEN Range PRECEDING AND CURRENT ROW
	Rows    int           // > 0: ROWS BETWEEN Rows PRECEDING AND CURRENT ROW
	Columns []Column
}

// JoinType is the kind of join.
type JoinType string

const (
	Inner JoinType = "inner"
	Left  JoinType = "left"
	Right JoinType = "right"
	Full  JoinType = "full"
	Semi  JoinType = "semi"
	Anti  JoinType = "anti"
)

// KeyPair is one equality of join keys: left field = right field.
type KeyPair struct {
	Left, Right string
}

// Join joins Inputs[0] (left) and Inputs[1] (right).
//
// Interval join (Window == nil): right.time − left.time ∈ [Lower, Upper]
// on the inputs' event times. Window join (Window != nil): both sides in the
// same window. Expressions reference the left side as Ref{Input: 0} and the
// right as Ref{Input: 1}; LeftAs/RightAs are the aliases users wrote.
// Out = Columns (semi/anti: the left input type).
type Join struct {
	Type         JoinType
	LeftAs       string
	RightAs      string
	On           []KeyPair
	Lower, Upper time.Duration
	Window       *Window
	Where        *Expr
	Columns      []Column
}

// Lookup enriches each stream record with a table row matching On (a
// temporal join when AsOf is set, else against the latest table contents).
// Inputs: [stream]. The table side is Ref{Input: 1}.
type Lookup struct {
	Type      JoinType // inner | left
	Table     Connector
	Schema    *rtype.Type // table schema
	On        []KeyPair
	AsOf      string
	Columns   []Column
	CacheTTL  time.Duration
	CacheRows int
}

// Quantifier bounds how many rows a pattern variable matches.
type Quantifier struct {
	Min int
	Max int // -1: unbounded
	// Greedy is false for the reluctant forms (+? *? ?? {n,m}?).
	Greedy bool
}

// PatternTerm is one variable of the pattern sequence.
type PatternTerm struct {
	Var   string
	Quant Quantifier
}

// SkipStrategy is the AFTER MATCH SKIP strategy.
type SkipStrategy string

const (
	SkipPastLastRow SkipStrategy = "skip_past_last_row"
	SkipToNextRow   SkipStrategy = "skip_to_next_row"
	SkipToFirst     SkipStrategy = "skip_to_first"
	SkipToLast      SkipStrategy = "skip_to_last"
)

// Pattern is MATCH_RECOGNIZE: per partition, ordered by OrderBy, find
// sequences matching Terms where each row satisfies its variable's Define
// (variables without a Define match any row). One output row per match:
// Out = partition keys + Measures.
//
// In Define and Measures expressions, a Ref with Var "" is the current row;
// Ref{Var: "A"} is the last row mapped to A (for the variable being defined:
// the current row). Aggregate calls (sum, count, avg, min, max, first, last)
// over Ref{Var: "A"} range over rows mapped to A so far; FnLast with an
// offset argument n is the n-th last row (LAST(A.price, 1)).
type Pattern struct {
	PartitionBy []Column
	OrderBy     string
	Terms       []PatternTerm
	Define      []Column // Name = variable
	Measures    []Column
	Within      time.Duration
	Skip        SkipStrategy
	SkipTo      string
	// Text is the pattern as written ("A B+ C").
	Text string
}

// Dedupe keeps the first or last record per key (ordered by OrderBy; by
// arrival when ProcTime). Out: the input type.
type Dedupe struct {
	Keys     []Column
	KeepLast bool
	OrderBy  string
	ProcTime bool
	Within   time.Duration
}

// Order is a sort key.
type Order struct {
	Field string
	Desc  bool
}

// TopN keeps the N first records per key (and window) under OrderBy.
// Out = [window_start, window_end when windowed] + input fields + [RankField
// int64 when set].
type TopN struct {
	Keys      []Column
	OrderBy   []Order
	N         int
	Window    *Window
	RankField string
}

// Windowing assigns each input record to its event-time windows (tumble,
// hop or cumulate) without aggregating: one output record per window.
// Out = input fields + window_start, window_end (timestamp(3)); the
// record keeps its own event time.
type Windowing struct {
	Window *Window
}

// Union merges its inputs, which have identical types. Out: that type.
type Union struct{}

// Sink writes Node.Out to a connector.
type Sink struct {
	Connector Connector
	// Key: upsert key columns; empty = append only.
	Key []string
	// Schema: the declared table schema, or nil.
	Schema *rtype.Type
}

// Deploy holds deployment settings for a pipeline's engine.
type Deploy struct {
	Parallelism    int
	MaxParallelism int
	CPU            float64
	Memory         string
	Replicas       int
	Checkpoint     Checkpoint
	Config         []KV // sorted by key
	Image          string
	ImagePos       diag.Range // position of deploy.image (zero when it is not set)
}

// Checkpoint settings.
type Checkpoint struct {
	Interval     time.Duration
	Dir          string
	SavepointDir string
	Mode         string // exactly_once | at_least_once
	StateBackend string // hashmap | rocksdb
	UpgradeMode  string // stateless | last-state | savepoint
}

// Environment is an overlay of deployment settings.
type Environment struct {
	Name        string
	Namespace   string
	Labels      []KV
	Connections []Connection
	Scale       float64
	Targets     []Option
}

// Connection is named connection settings.
type Connection struct {
	Name    string
	Kind    string
	Options []Option
}

// Workflow is a scheduled DAG of steps.
type Workflow struct {
	Name           string
	Description    string
	Schedule       *Schedule
	Params         []KV
	Steps          []*Step // topological order
	OnExit         *Step
	ActiveDeadline time.Duration
	Pos            diag.Range
}

// Schedule is a cron schedule.
type Schedule struct {
	Cron              string
	Timezone          string
	ConcurrencyPolicy string
	StartingDeadline  time.Duration
	Suspend           bool
	// CronPos and TimezonePos locate the two fields (the workflow's Pos
	// when the spec has no position for them).
	CronPos, TimezonePos diag.Range
}

// Step is a workflow task: a pipeline (resolved) or a container.
type Step struct {
	Name      string
	Pipeline  *Pipeline
	Container *Container
	DependsOn []string
	Retry     *Retry
	Timeout   time.Duration
	Params    []KV
	Pos       diag.Range
}

// Container is a custom container step.
type Container struct {
	Image   string
	Command []string
	Args    []string
	Env     []KV
}

// Retry is a retry strategy with exponential backoff.
type Retry struct {
	Limit       int
	Policy      string
	Backoff     time.Duration
	Factor      float64
	MaxDuration time.Duration
}
