package diag

// Codes of the compiler (RTS2000–3999). Owned by compiler/... Append at the
// end of the right block.
const (
	// UnknownNode: a `from` (or join side, late output) names no node.
	UnknownNode Code = 2000
	// DuplicateName: two nodes (or pipelines, fields) share a name.
	DuplicateName Code = 2001
	// CyclicPipeline: the node graph has a cycle.
	CyclicPipeline Code = 2002
	// UnknownField: an expression, key or option names a field the input
	// record does not have.
	UnknownField Code = 2003
	// MismatchedSchema: records that must agree do not (union inputs, sink
	// declared schema).
	MismatchedSchema Code = 2004
	// MismatchedKeyTypes: join keys of different types.
	MismatchedKeyTypes Code = 2005
	// MissingEventTime: a window, interval join, rolling range or pattern on a
	// stream without event time.
	MissingEventTime Code = 2006
	// InvalidEventTime: the event-time field is not a timestamp.
	InvalidEventTime Code = 2007
	// InvalidWindow: window sizes that make no sense (slide > size, step does
	// not divide max size, zero durations).
	InvalidWindow Code = 2008

	// BadExpression: a CEL expression does not parse.
	BadExpression Code = 3000
	// InvalidExpression: a CEL expression does not type-check against the
	// input record.
	InvalidExpression Code = 3001
	// MisplacedAggregate: an aggregate function outside an aggregating
	// operator, or nested in another aggregate.
	MisplacedAggregate Code = 3002
	// NonBooleanCondition: a filter, define or join condition not of type bool.
	NonBooleanCondition Code = 3003
)

func init() {
	register(map[Code]string{
		UnknownNode:         "UnknownNode",
		DuplicateName:       "DuplicateName",
		CyclicPipeline:      "CyclicPipeline",
		UnknownField:        "UnknownField",
		MismatchedSchema:    "MismatchedSchema",
		MismatchedKeyTypes:  "MismatchedKeyTypes",
		MissingEventTime:    "MissingEventTime",
		InvalidEventTime:    "InvalidEventTime",
		InvalidWindow:       "InvalidWindow",
		BadExpression:       "BadExpression",
		InvalidExpression:   "InvalidExpression",
		MisplacedAggregate:  "MisplacedAggregate",
		NonBooleanCondition: "NonBooleanCondition",
	})
}

// Codes appended by the compiler (compiler/...).
const (
	// InvalidOption: an operator setting outside its allowed values or
	// shape (a join type, keep first|last, a filter with two inputs, n < 1).
	InvalidOption Code = 2009
	// UnboundedBatchSource: a batch pipeline reads an unbounded source
	// (warning: the job would never finish; set bounded: true).
	UnboundedBatchSource Code = 2010
	// UnknownPipeline: a workflow step names a pipeline that does not exist.
	UnknownPipeline Code = 2011
	// CyclicWorkflow: workflow steps depend on each other in a cycle.
	CyclicWorkflow Code = 2012
	// UnusedNode: a source or transform whose output nothing reads
	// (warning).
	UnusedNode Code = 2013

	// BadPattern: a #Pattern sequence does not parse, or names a variable
	// that is not defined or used.
	BadPattern Code = 3004
	// UngroupedField: an #Aggregate column reads a field outside an
	// aggregate function that is not a grouping key.
	UngroupedField Code = 3005
)

func init() {
	register(map[Code]string{
		InvalidOption:        "InvalidOption",
		UnboundedBatchSource: "UnboundedBatchSource",
		UnknownPipeline:      "UnknownPipeline",
		CyclicWorkflow:       "CyclicWorkflow",
		UnusedNode:           "UnusedNode",
		BadPattern:           "BadPattern",
		UngroupedField:       "UngroupedField",
	})
}
