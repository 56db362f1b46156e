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
