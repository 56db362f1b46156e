package passes

import (
	"fmt"
	"strings"
	"time"

	"rtsap.dev/rtsapc/compiler/duration"
	"rtsap.dev/rtsapc/compiler/expr"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// infer types every node in topological order, per the output rules on
// each ir operator, and checks and lowers every expression against the
// node's input records. A node whose input is invalid is invalid too,
// without further messages.
func infer(u *Unit) {
	for i, n := range u.P.Nodes {
		info := u.info[i]
		if info.placeholder {
			n.Out = rtype.InvalidType
			if info.spec != nil && info.side == declared && !info.poisoned && payloadCount(info.spec) != 1 {
				u.errorf(diag.InvalidOption, info.spec.Range, "Unknown operator",
					"Node %q needs exactly one operator (kind %q); use one of the operators of rtsap: #Filter, #Map, #Aggregate, #Rolling, #Join, #Lookup, #Pattern, #Dedupe, #TopN, #Union, or a source or sink.", n.Name, info.spec.Kind.Value)
			}
			continue
		}
		var ins []*ir.Node
		invalid := false
		for _, id := range n.Inputs {
			in := u.P.Node(id)
			ins = append(ins, in)
			if in.Out == nil || in.Out.Kind == rtype.Invalid {
				invalid = true
			}
		}
		if invalid {
			n.Out = rtype.InvalidType
			continue
		}
		for _, in := range ins {
			n.MaxOutOfOrderness = max(n.MaxOutOfOrderness, in.MaxOutOfOrderness)
		}
		x := &inferer{u: u, n: n, info: info, ins: ins}
		before := len(u.Diags)
		x.run()
		// Problems inside a library definition (finance.#OHLC reading a
		// field the input lacks) are reported at the user's node.
		u.Diags = append(u.Diags[:before], diag.Attribute(u.Diags[before:], n.Pos)...)
		if n.Out == nil {
			n.Out = rtype.InvalidType
		}
		if n.EventTime != "" && n.Out.Kind == rtype.Record {
			if _, ok := n.Out.Field(n.EventTime); !ok {
				n.EventTime = ""
			}
		}
	}
}

func payloadCount(n *spec.Node) int {
	c := 0
	for _, p := range []bool{n.Source != nil, n.Sink != nil, n.Filter != nil, n.Map != nil, n.Aggregate != nil,
		n.Rolling != nil, n.Join != nil, n.Lookup != nil, n.Pattern != nil, n.Dedupe != nil, n.TopN != nil, n.Union != nil, n.Windowing != nil} {
		if p {
			c++
		}
	}
	return c
}

type inferer struct {
	u    *Unit
	n    *ir.Node
	info *nodeInfo
	ins  []*ir.Node
}

func (x *inferer) errorf(code diag.Code, r diag.Range, summary, format string, args ...any) {
	x.u.errorf(code, orRange(r, x.n.Pos), summary, format, args...)
}

func (x *inferer) in(i int) *ir.Node { return x.ins[i] }

func (x *inferer) desc(i int) string { return fmt.Sprintf("%q", x.ins[i].Name) }

func (x *inferer) run() {
	n, s := x.n, x.info.spec
	switch op := n.Op.(type) {
	case *ir.DeadLetter:
		n.Out = ir.DeadLetterType
		n.MaxOutOfOrderness = 0
	case *ir.LateOutput:
		// The aggregate's input records, as they arrived too late.
		if agg := x.in(0); len(agg.Inputs) == 1 {
			src := x.u.P.Node(agg.Inputs[0])
			n.Out, n.EventTime = src.Out, src.EventTime
		}
	case *ir.Source:
		x.source(op, s.Source)
	case *ir.Filter:
		n.Out, n.EventTime = x.in(0).Out, x.in(0).EventTime
		op.Where = x.cond(s.Filter.Where, x.single(false), "filter condition")
	case *ir.Map:
		x.mapOp(op, s.Map)
	case *ir.Aggregate:
		x.aggregate(op, s.Aggregate)
	case *ir.Rolling:
		x.rolling(op, s.Rolling)
	case *ir.Join:
		x.join(op, s.Join)
	case *ir.Lookup:
		x.lookup(op, s.Lookup)
	case *ir.Pattern:
		x.pattern(op, s.Pattern)
	case *ir.Dedupe:
		x.dedupe(op, s.Dedupe)
	case *ir.TopN:
		x.topN(op, s.TopN)
	case *ir.Union:
		// Types are compared in check; the first input defines the output.
		n.Out, n.EventTime = x.in(0).Out, x.in(0).EventTime
		for _, in := range x.ins[1:] {
			if in.EventTime != n.EventTime {
				n.EventTime = ""
			}
		}
	case *ir.Windowing:
		x.windowing(op, s.Windowing)
	case *ir.Sink:
		x.sink(op, s.Sink)
	}
}

// --- helpers ---------------------------------------------------------------

// dur parses an optional duration; "" is 0.
func (x *inferer) dur(d spec.Duration, what string) time.Duration {
	if d.Value == "" {
		return 0
	}
	v, err := duration.Parse(d.Value)
	if err != nil {
		x.errorf(diag.BadDuration, d.Range, "Bad duration", "%s: %v. Write durations like \"250ms\", \"5s\", \"1m\", \"1h30m\" or \"1d\".", what, err)
		return 0
	}
	return v
}

// positive parses a duration that must be > 0 when set.
func (x *inferer) positive(d spec.Duration, what string) time.Duration {
	v := x.dur(d, what)
	if v < 0 {
		x.errorf(diag.InvalidWindow, d.Range, "Negative duration", "%s must be positive; got %s.", what, d.Value)
		return 0
	}
	return v
}

// Record converts a spec record to a record type, reporting bad type
// strings at the offending character.
func Record(r *spec.Record, report func(*diag.Diagnostic)) *rtype.Type {
	if r == nil {
		return rtype.InvalidType
	}
	var fs []rtype.Field
	seen := map[string]diag.Range{}
	for _, f := range r.Fields {
		if prev, dup := seen[f.Name]; dup {
			d := diag.Errorf(diag.DuplicateName, f.Range, "Duplicate field", "Field %q is declared twice.", f.Name)
			d.Related = []diag.Related{{Message: "first declared here", Range: prev}}
			report(d)
			continue
		}
		seen[f.Name] = f.Range
		var t *rtype.Type
		if f.Nested != nil {
			t = Record(f.Nested, report)
		} else {
			var err error
			t, err = rtype.Parse(f.Type.Value)
			if err != nil {
				r := orRange(f.Type.Range, f.Range)
				if pe, ok := err.(*rtype.ParseError); ok && f.Type.Range.IsValid() {
					e := spec.Expr{Text: f.Type.Value, Range: f.Type.Range}
					r = e.RangeAt(pe.Offset, 1)
				}
				report(diag.Errorf(diag.BadTypeString, r, "Bad type", "Field %q: %v. Types: %s.", f.Name, err, rtype.Grammar))
				t = rtype.InvalidType
			}
		}
		fs = append(fs, rtype.Field{Name: f.Name, Type: t, Nullable: f.Optional})
	}
	return rtype.RecordOf(fs...)
}

func (x *inferer) record(r *spec.Record) *rtype.Type {
	return Record(r, func(d *diag.Diagnostic) { x.u.Diags = append(x.u.Diags, d) })
}

// single is the scope of a one-input operator.
func (x *inferer) single(agg bool) *expr.Scope {
	return &expr.Scope{Inputs: []expr.Input{{Type: x.in(0).Out, Desc: "the input " + x.desc(0)}}, Bare: 0, Aggregates: agg}
}

// check checks e and returns its lowered form (nil on error).
func (x *inferer) check(e spec.Expr, sc *expr.Scope) (*ir.Expr, bool) {
	if !e.Range.IsValid() && e.Range.Filename == "" {
		e.Range = x.n.Pos
	}
	v, null, ds := x.u.Checker.Check(e, sc)
	x.u.Diags = append(x.u.Diags, ds...)
	return v, null
}

// cond checks a boolean condition.
func (x *inferer) cond(e spec.Expr, sc *expr.Scope, what string) *ir.Expr {
	v, _ := x.check(e, sc)
	if v != nil && v.Type.Kind != rtype.Bool && v.Type.Kind != rtype.Invalid {
		hint := ""
		switch {
		case v.Type.IsNumeric():
			hint = fmt.Sprintf(" Compare it, e.g. %s > 0.", e.Text)
		case v.Type.Kind == rtype.String:
			hint = fmt.Sprintf(" Compare it, e.g. %s != \"\".", e.Text)
		}
		x.errorf(diag.NonBooleanCondition, e.Range, "Non-boolean condition",
			"The %s %q is %s, not bool.%s", what, e.Text, v.Type, hint)
		return nil
	}
	return v
}

// field looks up a field by name, reporting an unknown one at r.
func (x *inferer) field(t *rtype.Type, name spec.String, what, desc string) (rtype.Field, bool) {
	f, ok := t.Field(name.Value)
	if !ok {
		names := t.FieldNames()
		x.errorf(diag.UnknownField, name.Range, "Unknown field",
			"%s %q is not a field of %s.%s Known fields: %s.", what, name.Value, desc, diag.DidYouMean(name.Value, names), quoteList(names))
	}
	return f, ok
}

// ref is a reference to a top-level field, positioned at the name.
func ref(input int, f rtype.Field, at diag.Range) *ir.Expr {
	return &ir.Expr{Kind: ir.Ref, Input: input, Path: []string{f.Name}, Type: f.Type, Pos: at, Text: f.Name}
}

// keys resolves grouping fields of input 0.
func (x *inferer) keys(by []spec.String, what string) ([]ir.Column, []rtype.Field) {
	var cols []ir.Column
	var fs []rtype.Field
	seen := map[string]bool{}
	for _, k := range by {
		f, ok := x.field(x.in(0).Out, k, what, x.desc(0))
		if !ok {
			continue
		}
		if seen[k.Value] {
			x.errorf(diag.DuplicateName, k.Range, "Duplicate key", "%q is listed twice.", k.Value)
			continue
		}
		seen[k.Value] = true
		cols = append(cols, ir.Column{Name: f.Name, Expr: ref(0, f, k.Range), Pos: k.Range})
		fs = append(fs, f)
	}
	return cols, fs
}

// named checks select columns, adding their fields to out.
func (x *inferer) named(sel []spec.Named, sc *expr.Scope, taken map[string]diag.Range) ([]ir.Column, []rtype.Field) {
	var cols []ir.Column
	var fs []rtype.Field
	for _, c := range sel {
		at := orRange(c.NameRange, c.Expr.Range)
		if prev, dup := taken[c.Name]; dup {
			d := diag.Errorf(diag.DuplicateName, at, "Duplicate column",
				"Column %q is already an output column of %q; rename this one.", c.Name, x.n.Name)
			if prev.IsValid() {
				d.Related = []diag.Related{{Message: "first defined here", Range: prev}}
			}
			x.u.Diags = append(x.u.Diags, d)
			continue
		}
		taken[c.Name] = at
		v, null := x.check(c.Expr, sc)
		if v == nil {
			fs = append(fs, rtype.Field{Name: c.Name, Type: rtype.InvalidType})
			continue
		}
		cols = append(cols, ir.Column{Name: c.Name, Expr: v, Pos: at})
		fs = append(fs, rtype.Field{Name: c.Name, Type: v.Type, Nullable: null})
	}
	return cols, fs
}

// eventTime requires a timestamp event time on input i for what.
func (x *inferer) eventTime(i int, at diag.Range, what string) bool {
	in := x.in(i)
	if in.EventTime == "" {
		x.errorf(diag.MissingEventTime, at, "Missing event time",
			"%s needs event time, but the input %q has none. Declare eventTime: {field: \"ts\", maxOutOfOrderness: \"5s\"} on its source, and keep that field (or window_end) through the operators in between.",
			what, in.Name)
		return false
	}
	return true
}

// timeField checks that name is a timestamp field of t.
func (x *inferer) timeField(t *rtype.Type, name spec.String, what, desc string) bool {
	f, ok := x.field(t, name, what, desc)
	if !ok {
		return false
	}
	if f.Type.Kind != rtype.Timestamp {
		x.errorf(diag.InvalidEventTime, name.Range, "Invalid event time",
			"%s %q is %s; it must be a timestamp. Convert it upstream in a #Map, e.g. timestamp(%s) for epoch milliseconds.", what, name.Value, f.Type, name.Value)
		return false
	}
	return true
}

var windowFields = []rtype.Field{
	{Name: ir.WindowStart, Type: rtype.TimestampMillis},
	{Name: ir.WindowEnd, Type: rtype.TimestampMillis},
}

// window converts and checks a window spec.
func (x *inferer) window(w *spec.Window) *ir.Window {
	if w == nil {
		return nil
	}
	at := orRange(w.Range, x.n.Pos)
	out := &ir.Window{Kind: ir.WindowKind(w.Kind.Value)}
	ok := true
	need := func(d spec.Duration, what string) time.Duration {
		if d.Value == "" {
			x.errorf(diag.InvalidWindow, orRange(w.Kind.Range, at), "Invalid window", "A %s window needs %s.", w.Kind.Value, what)
			ok = false
			return 0
		}
		v := x.dur(d, what)
		if v <= 0 && d.Value != "" {
			if _, err := duration.Parse(d.Value); err == nil {
				x.errorf(diag.InvalidWindow, d.Range, "Invalid window", "The %s of a window must be positive; got %q.", what, d.Value)
			}
			ok = false
		}
		return v
	}
	switch out.Kind {
	case ir.Tumble:
		out.Size = need(w.Size, "size")
	case ir.Hop:
		out.Size = need(w.Size, "size")
		out.Slide = need(w.Slide, "slide")
		if ok && out.Slide > out.Size {
			x.errorf(diag.InvalidWindow, w.Slide.Range, "Invalid window",
				"The slide (%s) is longer than the size (%s): records between windows would be dropped. Use slide ≤ size, or a tumble window.", w.Slide.Value, w.Size.Value)
		}
	case ir.Session:
		out.Gap = need(w.Gap, "gap")
	case ir.Cumulate:
		out.Size = need(w.Size, "size")
		out.Step = need(w.Step, "step")
		if ok && out.Size%out.Step != 0 {
			x.errorf(diag.InvalidWindow, w.Step.Range, "Invalid window",
				"The step (%s) must divide the size (%s) of a cumulate window, e.g. size \"1h\" with step \"5m\".", w.Step.Value, w.Size.Value)
		}
	default:
		x.errorf(diag.InvalidWindow, orRange(w.Kind.Range, at), "Invalid window",
			"Unknown window kind %q; use tumble, hop, session or cumulate.%s", w.Kind.Value,
			diag.DidYouMean(w.Kind.Value, []string{"tumble", "hop", "session", "cumulate"}))
		return nil
	}
	out.Offset = x.dur(w.Offset, "offset")
	if out.Offset != 0 && out.Kind == ir.Session {
		x.errorf(diag.InvalidWindow, w.Offset.Range, "Invalid window", "Session windows have no offset.")
	}
	if ok && out.Offset != 0 && (out.Offset < 0 || out.Offset >= max(out.Size, out.Slide)) && out.Kind != ir.Session {
		x.errorf(diag.InvalidWindow, w.Offset.Range, "Invalid window", "The offset must be ≥ 0 and shorter than the window size.")
	}
	return out
}

// --- operators -------------------------------------------------------------

func (x *inferer) source(op *ir.Source, s *spec.Source) {
	n := x.n
	op.Connector = connector(s.Connector)
	op.Schema = x.record(s.Schema)
	if s.Schema == nil {
		x.errorf(diag.IncompleteValue, n.Pos, "Missing schema", "Source %q needs a schema: a record of field types.", n.Name)
	}
	n.Out = op.Schema
	op.Bounded = s.Bounded.Value
	switch p := s.OnError.Policy.Value; p {
	case "", string(ir.FailOnError):
		op.OnError = ir.FailOnError
	case string(ir.SkipOnError), string(ir.DeadLetterErr):
		op.OnError = ir.ErrorPolicy(p)
	default:
		x.errorf(diag.InvalidOption, s.OnError.Policy.Range, "Invalid option",
			"onError policy %q is not one of fail, skip, deadletter.%s", p, diag.DidYouMean(p, []string{"fail", "skip", "deadletter"}))
	}
	if op.OnError != ir.DeadLetterErr && s.OnError.DeadLetter.Value != "" {
		x.errorf(diag.InvalidOption, s.OnError.DeadLetter.Range, "Dead letter without policy",
			"deadLetter is only used with policy \"deadletter\"; set policy: \"deadletter\" or remove deadLetter.")
	}
	if et := s.EventTime; et != nil && et.Field.Value != "" {
		op.MaxOutOfOrderness = x.dur(et.MaxOutOfOrderness, "maxOutOfOrderness")
		if op.MaxOutOfOrderness < 0 {
			x.errorf(diag.InvalidWindow, et.MaxOutOfOrderness.Range, "Negative duration", "maxOutOfOrderness must be ≥ 0.")
			op.MaxOutOfOrderness = 0
		}
		if op.Schema.Kind == rtype.Record && x.timeField(op.Schema, et.Field, "The event-time field", fmt.Sprintf("the schema of %q", n.Name)) {
			op.EventTime = et.Field.Value
		}
	}
	n.EventTime = op.EventTime
	n.MaxOutOfOrderness = op.MaxOutOfOrderness
}

func (x *inferer) mapOp(op *ir.Map, s *spec.Map) {
	in := x.in(0).Out
	sc := x.single(false)
	taken := map[string]diag.Range{}
	var selCols []ir.Column
	var selFields []rtype.Field
	// Check select expressions first (they read the input, not each other).
	sel := map[string]int{}
	for _, c := range s.Select {
		at := orRange(c.NameRange, c.Expr.Range)
		if prev, dup := taken[c.Name]; dup {
			d := diag.Errorf(diag.DuplicateName, at, "Duplicate column", "Column %q is defined twice.", c.Name)
			d.Related = []diag.Related{{Message: "first defined here", Range: prev}}
			x.u.Diags = append(x.u.Diags, d)
			continue
		}
		taken[c.Name] = at
		v, null := x.check(c.Expr, sc)
		t := rtype.InvalidType
		if v != nil {
			t = v.Type
		}
		sel[c.Name] = len(selCols)
		selCols = append(selCols, ir.Column{Name: c.Name, Expr: v, Pos: at})
		selFields = append(selFields, rtype.Field{Name: c.Name, Type: t, Nullable: null})
	}
	var cols []ir.Column
	var fs []rtype.Field
	used := map[string]bool{}
	if s.Keep {
		drop := map[string]bool{}
		for _, d := range s.Drop {
			if _, ok := x.field(in, d, "Dropped field", x.desc(0)); ok {
				drop[d.Value] = true
			}
		}
		for _, f := range in.Fields {
			if drop[f.Name] {
				continue
			}
			if i, ok := sel[f.Name]; ok { // overridden in place
				cols = append(cols, selCols[i])
				fs = append(fs, selFields[i])
				used[f.Name] = true
				continue
			}
			cols = append(cols, ir.Column{Name: f.Name, Expr: ref(0, f, x.n.Pos), Pos: x.n.Pos})
			fs = append(fs, f)
		}
	} else if len(s.Drop) > 0 {
		x.errorf(diag.InvalidOption, s.Drop[0].Range, "Drop without keep", "drop removes input fields kept with keep: true; without keep only the selected columns are output.")
	}
	for i, c := range selCols {
		if !used[c.Name] {
			cols = append(cols, c)
			fs = append(fs, selFields[i])
		}
	}
	if len(fs) == 0 {
		x.errorf(diag.InvalidOption, x.n.Pos, "Empty map", "Map %q outputs no columns; add select columns or keep: true.", x.n.Name)
	}
	// A column that failed keeps its field, typed invalid, so that
	// downstream reads of the other columns are still checked (and reads of
	// this one are not reported again); only valid columns are kept.
	for _, c := range cols {
		if c.Expr != nil {
			op.Columns = append(op.Columns, c)
		}
	}
	x.n.Out = rtype.RecordOf(fs...)
	x.n.EventTime = passThrough(cols, x.in(0).EventTime)
}

// passThrough returns the name under which column et of input 0 is passed
// through unchanged, or "".
func passThrough(cols []ir.Column, et string) string {
	if et == "" {
		return ""
	}
	for _, c := range cols {
		if c.Expr != nil && c.Expr.Kind == ir.Ref && c.Expr.Input == 0 && c.Expr.Var == "" && len(c.Expr.Path) == 1 && c.Expr.Path[0] == et {
			return c.Name
		}
	}
	return ""
}

func (x *inferer) aggregate(op *ir.Aggregate, s *spec.Aggregate) {
	keys, keyFields := x.keys(s.By, "Grouping key")
	op.Keys = keys
	op.Window = x.window(s.Window)
	if s.Window != nil {
		x.eventTime(0, orRange(s.Window.Range, x.n.Pos), "A windowed aggregate")
	}
	op.AllowedLateness = x.dur(s.AllowedLateness, "allowedLateness")
	if op.AllowedLateness < 0 {
		x.errorf(diag.InvalidWindow, s.AllowedLateness.Range, "Negative duration", "allowedLateness must be ≥ 0.")
	}
	if op.Late != 0 && op.Window == nil && s.Window == nil {
		x.errorf(diag.InvalidOption, s.LateOutput.Range, "Late output without window", "Only windowed aggregates drop late records; remove lateOutput or add a window.")
	}
	taken := map[string]diag.Range{}
	var fs []rtype.Field
	if s.Window != nil {
		fs = append(fs, windowFields...)
		taken[ir.WindowStart], taken[ir.WindowEnd] = diag.Range{}, diag.Range{}
	}
	for _, k := range keys {
		taken[k.Name] = k.Pos
	}
	fs = append(fs, keyFields...)
	cols, colFields := x.named(s.Select, x.single(true), taken)
	op.Columns = cols
	fs = append(fs, colFields...)
	keySet := map[string]bool{}
	for _, k := range keys {
		keySet[k.Name] = true
	}
	for _, c := range cols {
		x.grouped(c.Expr, keySet)
	}
	if len(cols) == 0 && len(s.Select) == 0 {
		x.errorf(diag.InvalidOption, x.n.Pos, "No aggregates", "Aggregate %q selects nothing; add select: {n: \"count()\"}.", x.n.Name)
	}
	out := rtype.RecordOf(fs...)
	x.n.Out = out
	if s.Window != nil {
		x.n.EventTime = ir.WindowEnd
	}
	if s.Having != nil && x.n.Out.Kind == rtype.Record {
		sc := &expr.Scope{Inputs: []expr.Input{{Type: out, Desc: fmt.Sprintf("the output of %q", x.n.Name)}}, Bare: 0}
		op.Having = x.cond(*s.Having, sc, "having condition")
	}
}

// grouped reports field reads outside aggregate calls that are not keys.
func (x *inferer) grouped(e *ir.Expr, keys map[string]bool) {
	e.Walk(func(y *ir.Expr) bool {
		if y.Kind == ir.Call && y.Fn.IsAggregate() {
			return false
		}
		if y.Kind == ir.Ref && !keys[y.Field()] {
			var ks []string
			for k := range keys {
				ks = append(ks, k)
			}
			x.errorf(diag.UngroupedField, y.Pos, "Ungrouped field",
				"%q is read outside an aggregate but is not a grouping key, so it has no single value per group. Aggregate it (last(%s), max(%s)) or add it to by.",
				y.Field(), y.Text, y.Text)
		}
		return true
	})
}

func (x *inferer) rolling(op *ir.Rolling, s *spec.Rolling) {
	in := x.in(0)
	keys, _ := x.keys(s.By, "Partition key")
	op.Keys = keys
	op.OrderBy = s.OrderBy.Value
	if op.OrderBy == "" {
		op.OrderBy = in.EventTime
	}
	op.Range = x.dur(s.Range, "range")
	if s.Rows.Set {
		op.Rows = int(s.Rows.Value)
	}
	switch {
	case s.Range.Value == "" && !s.Rows.Set:
		x.errorf(diag.InvalidWindow, x.n.Pos, "Invalid window", "A rolling aggregate needs range (a duration preceding each row) or rows (a count).")
	case s.Range.Value != "" && s.Rows.Set:
		x.errorf(diag.InvalidWindow, s.Rows.Range, "Invalid window", "Set range or rows, not both.")
	case s.Rows.Set && s.Rows.Value < 1:
		x.errorf(diag.InvalidWindow, s.Rows.Range, "Invalid window", "rows must be ≥ 1; got %d.", s.Rows.Value)
	case s.Range.Value != "" && op.Range <= 0:
		if _, err := duration.Parse(s.Range.Value); err == nil {
			x.errorf(diag.InvalidWindow, s.Range.Range, "Invalid window", "range must be positive; got %q.", s.Range.Value)
		}
	}
	if s.OrderBy.Value != "" {
		x.timeField(in.Out, s.OrderBy, "The order-by field", x.desc(0))
	} else if s.Range.Value != "" || s.Rows.Set {
		x.eventTime(0, x.n.Pos, "A rolling aggregate")
	}
	taken := map[string]diag.Range{}
	for _, f := range in.Out.Fields {
		taken[f.Name] = diag.Range{}
	}
	cols, fs := x.named(s.Select, x.single(true), taken)
	op.Columns = cols
	all := append(append([]rtype.Field(nil), in.Out.Fields...), fs...)
	x.n.Out = rtype.RecordOf(all...)
	x.n.EventTime = in.EventTime
}

var joinTypes = []string{"inner", "left", "right", "full", "semi", "anti"}

func (x *inferer) join(op *ir.Join, s *spec.Join) {
	l, r := x.in(0), x.in(1)
	op.Type = ir.JoinType(s.Type.Value)
	if op.Type == "" {
		op.Type = ir.Inner
	}
	if !contains(joinTypes, string(op.Type)) {
		x.errorf(diag.InvalidOption, s.Type.Range, "Invalid option", "Join type %q is not one of %s.%s", s.Type.Value, quoteList(joinTypes), diag.DidYouMean(s.Type.Value, joinTypes))
		op.Type = ir.Inner
	}
	op.LeftAs, op.RightAs = s.Left.As.Value, s.Right.As.Value
	if op.LeftAs == "" {
		op.LeftAs = "left"
	}
	if op.RightAs == "" {
		op.RightAs = "right"
	}
	for _, a := range []spec.String{s.Left.As, s.Right.As} {
		if a.Value != "" && (!expr.IsIdent(a.Value) || a.Value == "row") {
			x.errorf(diag.InvalidOption, a.Range, "Invalid alias", "The alias %q must be a CEL identifier (letters, digits, _), not a keyword or row.", a.Value)
		}
	}
	if op.LeftAs == op.RightAs {
		x.errorf(diag.DuplicateName, s.Right.As.Range, "Duplicate alias", "Both sides of the join are called %q; give them different aliases with as.", op.LeftAs)
		op.RightAs = op.LeftAs + "_2"
	}
	for _, k := range s.On {
		lf, lok := x.field(l.Out, k.Left, "Join key", fmt.Sprintf("the left input %q", l.Name))
		rf, rok := x.field(r.Out, k.Right, "Join key", fmt.Sprintf("the right input %q", r.Name))
		if lok && rok && !KeyCompatible(lf.Type, rf.Type) {
			d := diag.Errorf(diag.MismatchedKeyTypes, orRange(k.Left.Range, x.n.Pos), "Mismatched key types",
				"Join key %q is %s in %q but %q is %s in %q; keys must have the same type. Convert one side in a #Map upstream.",
				k.Left.Value, lf.Type, l.Name, k.Right.Value, rf.Type, r.Name)
			d.Related = []diag.Related{{Message: "right key", Range: k.Right.Range}}
			x.u.Diags = append(x.u.Diags, d)
		}
		op.On = append(op.On, ir.KeyPair{Left: k.Left.Value, Right: k.Right.Value})
	}
	if s.Window != nil {
		op.Window = x.window(s.Window)
		x.eventTime(0, s.Window.Range, "A window join (left side)")
		x.eventTime(1, s.Window.Range, "A window join (right side)")
		if s.Lower.Value != "" || s.Upper.Value != "" {
			x.errorf(diag.InvalidOption, orRange(s.Lower.Range, s.Upper.Range), "Window and interval", "A join is either windowed or an interval join: remove lower/upper or the window.")
		}
	} else {
		op.Lower = x.dur(s.Lower, "lower")
		op.Upper = x.dur(s.Upper, "upper")
		if s.Lower.Value == "" && s.Upper.Value == "" {
			x.errorf(diag.InvalidWindow, x.n.Pos, "Unbounded join",
				"A stream join needs a time bound: lower and upper (right.time − left.time ∈ [lower, upper], e.g. lower: \"-5s\", upper: \"0s\") or a window, so its state can expire.")
		}
		x.eventTime(0, x.n.Pos, "An interval join (left side)")
		x.eventTime(1, x.n.Pos, "An interval join (right side)")
		if op.Lower > op.Upper {
			x.errorf(diag.InvalidWindow, s.Lower.Range, "Invalid window", "lower (%s) is after upper (%s).", s.Lower.Value, s.Upper.Value)
		}
	}
	lNull := op.Type == ir.Right || op.Type == ir.Full
	rNull := op.Type == ir.Left || op.Type == ir.Full
	sc := &expr.Scope{Bare: -1, Inputs: []expr.Input{
		{Alias: op.LeftAs, Type: l.Out, Nullable: lNull, Desc: fmt.Sprintf("%q", l.Name)},
		{Alias: op.RightAs, Type: r.Out, Nullable: rNull, Desc: fmt.Sprintf("%q", r.Name)}}}
	if s.Where != nil {
		op.Where = x.cond(*s.Where, sc, "join condition")
	}
	if op.Type == ir.Semi || op.Type == ir.Anti {
		if len(s.Select) > 0 {
			x.errorf(diag.InvalidOption, orRange(s.Select[0].NameRange, x.n.Pos), "Select in semi/anti join", "A %s join outputs the left records unchanged; remove select.", op.Type)
		}
		x.n.Out, x.n.EventTime = l.Out, l.EventTime
		return
	}
	var fs []rtype.Field
	if len(s.Select) > 0 {
		op.Columns, fs = x.named(s.Select, sc, map[string]diag.Range{})
	} else {
		have := map[string]bool{}
		for _, f := range l.Out.Fields {
			have[f.Name] = true
			f.Nullable = f.Nullable || lNull
			op.Columns = append(op.Columns, ir.Column{Name: f.Name, Expr: ref(0, f, x.n.Pos), Pos: x.n.Pos})
			fs = append(fs, f)
		}
		for _, f := range r.Out.Fields {
			if have[f.Name] {
				continue
			}
			f.Nullable = f.Nullable || rNull
			op.Columns = append(op.Columns, ir.Column{Name: f.Name, Expr: ref(1, f, x.n.Pos), Pos: x.n.Pos})
			fs = append(fs, f)
		}
	}
	for _, c := range op.Columns {
		c.Expr.Text = strings.TrimSpace(c.Expr.Text)
	}
	x.n.Out = rtype.RecordOf(fs...)
	x.n.EventTime = passThrough(op.Columns, l.EventTime)
}

func (x *inferer) lookup(op *ir.Lookup, s *spec.Lookup) {
	st := x.in(0)
	op.Type = ir.JoinType(s.Type.Value)
	if op.Type == "" {
		op.Type = ir.Inner
	}
	if op.Type != ir.Inner && op.Type != ir.Left {
		x.errorf(diag.InvalidOption, s.Type.Range, "Invalid option", "Lookup type %q is not inner or left.", s.Type.Value)
		op.Type = ir.Inner
	}
	op.Table = connector(s.Table)
	op.Schema = x.record(s.Schema)
	if s.Schema == nil {
		x.errorf(diag.IncompleteValue, x.n.Pos, "Missing schema", "Lookup %q needs the table's schema.", x.n.Name)
		x.n.Out = rtype.InvalidType
		return
	}
	for _, k := range s.On {
		lf, lok := x.field(st.Out, k.Left, "Lookup key", fmt.Sprintf("the stream %q", st.Name))
		rf, rok := x.field(op.Schema, k.Right, "Lookup key", "the table")
		if lok && rok && !KeyCompatible(lf.Type, rf.Type) {
			x.errorf(diag.MismatchedKeyTypes, k.Left.Range, "Mismatched key types",
				"Lookup key %q is %s in %q but table column %q is %s.", k.Left.Value, lf.Type, st.Name, k.Right.Value, rf.Type)
		}
		op.On = append(op.On, ir.KeyPair{Left: k.Left.Value, Right: k.Right.Value})
	}
	if len(s.On) == 0 {
		x.errorf(diag.InvalidOption, x.n.Pos, "Lookup without key", "A lookup needs on: [{left: stream field, right: table column}].")
	}
	if s.AsOf.Value != "" && x.timeField(st.Out, s.AsOf, "The as-of field", fmt.Sprintf("%q", st.Name)) {
		op.AsOf = s.AsOf.Value
	}
	op.CacheTTL = x.dur(s.CacheTTL, "cacheTTL")
	if s.CacheRows.Set {
		op.CacheRows = int(s.CacheRows.Value)
	}
	rNull := op.Type == ir.Left
	sc := &expr.Scope{Bare: 0, Inputs: []expr.Input{
		{Alias: "left", Type: st.Out, Desc: fmt.Sprintf("the input %q", st.Name)},
		{Alias: "right", Type: op.Schema, Nullable: rNull, Desc: "the table"}}}
	var fs []rtype.Field
	if len(s.Select) > 0 {
		op.Columns, fs = x.named(s.Select, sc, map[string]diag.Range{})
	} else {
		have := map[string]bool{}
		for _, f := range st.Out.Fields {
			have[f.Name] = true
			op.Columns = append(op.Columns, ir.Column{Name: f.Name, Expr: ref(0, f, x.n.Pos), Pos: x.n.Pos})
			fs = append(fs, f)
		}
		for _, f := range op.Schema.Fields {
			if have[f.Name] {
				continue
			}
			f.Nullable = f.Nullable || rNull
			op.Columns = append(op.Columns, ir.Column{Name: f.Name, Expr: ref(1, f, x.n.Pos), Pos: x.n.Pos})
			fs = append(fs, f)
		}
	}
	x.n.Out = rtype.RecordOf(fs...)
	x.n.EventTime = passThrough(op.Columns, st.EventTime)
}

func (x *inferer) pattern(op *ir.Pattern, s *spec.Pattern) {
	in := x.in(0)
	keys, keyFields := x.keys(s.PartitionBy, "Partition key")
	op.PartitionBy = keys
	op.OrderBy = s.OrderBy.Value
	if op.OrderBy == "" {
		if x.eventTime(0, x.n.Pos, "A pattern") {
			op.OrderBy = in.EventTime
		}
	} else {
		x.timeField(in.Out, s.OrderBy, "The order-by field", x.desc(0))
	}
	op.Text = s.Pattern.Text
	terms, ok := parsePattern(s.Pattern, func(off, n int, format string, args ...any) {
		x.errorf(diag.BadPattern, s.Pattern.RangeAt(off, n), "Bad pattern", format, args...)
	})
	op.Terms = terms
	vars := map[string]bool{}
	var varList []string
	for _, t := range terms {
		if !vars[t.Var] {
			varList = append(varList, t.Var)
		}
		vars[t.Var] = true
	}
	op.Within = x.dur(s.Within, "within")
	switch s.AfterMatch.Value {
	case "", string(ir.SkipPastLastRow):
		op.Skip = ir.SkipPastLastRow
	case string(ir.SkipToNextRow), string(ir.SkipToFirst), string(ir.SkipToLast):
		op.Skip = ir.SkipStrategy(s.AfterMatch.Value)
	default:
		opts := []string{"skip_past_last_row", "skip_to_next_row", "skip_to_first", "skip_to_last"}
		x.errorf(diag.InvalidOption, s.AfterMatch.Range, "Invalid option", "afterMatch %q is not one of %s.%s", s.AfterMatch.Value, quoteList(opts), diag.DidYouMean(s.AfterMatch.Value, opts))
	}
	if op.Skip == ir.SkipToFirst || op.Skip == ir.SkipToLast {
		if !vars[s.To.Value] {
			x.errorf(diag.BadPattern, orRange(s.To.Range, s.AfterMatch.Range), "Bad pattern", "%s needs to: a variable of the pattern (%s); got %q.", op.Skip, quoteList(varList), s.To.Value)
		}
		op.SkipTo = s.To.Value
	}
	if !ok {
		x.n.Out = rtype.InvalidType
		return
	}
	sc := &expr.Scope{Inputs: []expr.Input{{Type: in.Out, Desc: "the input " + x.desc(0)}}, Bare: 0, Vars: varList, Aggregates: true}
	defined := map[string]bool{}
	for _, d := range s.Define {
		at := orRange(d.NameRange, d.Expr.Range)
		if !vars[d.Name] {
			x.errorf(diag.BadPattern, at, "Bad pattern", "Variable %q is defined but not used in the pattern %q.%s", d.Name, s.Pattern.Text, diag.DidYouMean(d.Name, varList))
			continue
		}
		if defined[d.Name] {
			x.errorf(diag.DuplicateName, at, "Duplicate define", "Variable %q is defined twice.", d.Name)
			continue
		}
		defined[d.Name] = true
		if v := x.cond(d.Expr, sc, "definition of "+d.Name); v != nil {
			op.Define = append(op.Define, ir.Column{Name: d.Name, Expr: v, Pos: at})
		}
	}
	taken := map[string]diag.Range{}
	for _, k := range keys {
		taken[k.Name] = k.Pos
	}
	cols, fs := x.named(s.Measures, sc, taken)
	op.Measures = cols
	if len(s.Measures) == 0 {
		x.errorf(diag.InvalidOption, x.n.Pos, "No measures", "A pattern outputs one row per match with its measures; add measures: {start: \"first(A.price)\"}.")
	}
	all := append(append([]rtype.Field(nil), keyFields...), fs...)
	x.n.Out = rtype.RecordOf(all...)
}

func (x *inferer) dedupe(op *ir.Dedupe, s *spec.Dedupe) {
	in := x.in(0)
	op.Keys, _ = x.keys(s.By, "Dedupe key")
	if len(s.By) == 0 {
		x.errorf(diag.InvalidOption, x.n.Pos, "Dedupe without key", "A dedupe needs by: the fields that identify a duplicate.")
	}
	switch s.Keep.Value {
	case "", "first":
	case "last":
		op.KeepLast = true
	default:
		x.errorf(diag.InvalidOption, s.Keep.Range, "Invalid option", "keep %q is not first or last.", s.Keep.Value)
	}
	switch s.OrderBy.Value {
	case "proctime":
		op.ProcTime = true
	case "":
		if in.EventTime == "" {
			op.ProcTime = true
		} else {
			op.OrderBy = in.EventTime
		}
	default:
		if x.timeField(in.Out, s.OrderBy, "The order-by field", x.desc(0)) {
			op.OrderBy = s.OrderBy.Value
		}
	}
	op.Within = x.dur(s.Within, "within")
	x.n.Out, x.n.EventTime = in.Out, in.EventTime
}

func (x *inferer) topN(op *ir.TopN, s *spec.TopN) {
	in := x.in(0)
	op.Keys, _ = x.keys(s.By, "Partition key")
	for _, o := range s.OrderBy {
		if _, ok := x.field(in.Out, o.Field, "Order-by field", x.desc(0)); ok {
			op.OrderBy = append(op.OrderBy, ir.Order{Field: o.Field.Value, Desc: o.Desc})
		}
	}
	if len(s.OrderBy) == 0 {
		x.errorf(diag.InvalidOption, x.n.Pos, "Top-N without order", "A top-N needs orderBy: the fields that rank records.")
	}
	op.N = int(s.N.Value)
	if op.N < 1 {
		x.errorf(diag.InvalidOption, orRange(s.N.Range, x.n.Pos), "Invalid option", "n must be ≥ 1; got %d.", s.N.Value)
	}
	var fs []rtype.Field
	// A windowed top-N over a windowed aggregate ranks within the
	// aggregate's windows (Flink's window top-N after a window
	// aggregation): the input's window columns are reused, not added twice.
	reuse := hasWindowColumns(in.Out)
	if s.Window != nil {
		op.Window = x.window(s.Window)
		x.eventTime(0, s.Window.Range, "A windowed top-N")
		if !reuse {
			fs = append(fs, windowFields...)
		}
		x.n.EventTime = ir.WindowEnd
	} else {
		x.n.EventTime = in.EventTime
	}
	for _, f := range in.Out.Fields {
		if s.Window != nil && !reuse && (f.Name == ir.WindowStart || f.Name == ir.WindowEnd) {
			x.errorf(diag.DuplicateName, s.Window.Range, "Duplicate column", "The input already has a column %q; a windowed top-N adds window_start and window_end. Rename it upstream.", f.Name)
			continue
		}
		fs = append(fs, f)
	}
	op.RankField = s.RankField.Value
	if op.RankField != "" {
		if _, dup := in.Out.Field(op.RankField); dup {
			x.errorf(diag.DuplicateName, s.RankField.Range, "Duplicate column", "The input already has a column %q; choose another rankField.", op.RankField)
		} else {
			fs = append(fs, rtype.Field{Name: op.RankField, Type: rtype.Int64Type})
		}
	}
	x.n.Out = rtype.RecordOf(fs...)
}

// windowing assigns windows row by row: tumble, hop and cumulate windows
// are fixed by the record's own time; a session window is not (it grows
// with later records), so it needs an #Aggregate.
func (x *inferer) windowing(op *ir.Windowing, s *spec.Windowing) {
	in := x.in(0)
	x.n.Out, x.n.EventTime = in.Out, in.EventTime
	if s.Window == nil {
		x.errorf(diag.InvalidWindow, x.n.Pos, "Invalid window", "A windowing needs window: tumble, hop or cumulate, e.g. window: tumble: size: \"1m\".")
		return
	}
	op.Window = x.window(s.Window)
	if op.Window == nil {
		return
	}
	if op.Window.Kind == ir.Session {
		x.errorf(diag.InvalidWindow, orRange(s.Window.Kind.Range, s.Window.Range), "Invalid window",
			"A session window cannot be assigned record by record: its bounds depend on the records that follow. Use an #Aggregate with window: session, or tumble, hop or cumulate here.")
	}
	x.eventTime(0, orRange(s.Window.Range, x.n.Pos), "A windowing")
	fs := append([]rtype.Field(nil), in.Out.Fields...)
	for _, f := range in.Out.Fields {
		if f.Name == ir.WindowStart || f.Name == ir.WindowEnd {
			x.errorf(diag.DuplicateName, s.Window.Range, "Duplicate column",
				"The input already has a column %q; a windowing adds window_start and window_end. Rename it upstream with a #Map.", f.Name)
			return
		}
	}
	x.n.Out = rtype.RecordOf(append(fs, windowFields...)...)
}

func (x *inferer) sink(op *ir.Sink, s *spec.Sink) {
	in := x.in(0)
	op.Connector = connector(s.Connector)
	for _, k := range s.Key {
		op.Key = append(op.Key, k.Value)
	}
	if s.Schema != nil {
		op.Schema = x.record(s.Schema)
	}
	x.n.Out, x.n.EventTime = in.Out, in.EventTime
}

// connector converts connector options, sorted by key.
func connector(c spec.Connector) ir.Connector {
	out := ir.Connector{Kind: c.Kind.Value, Format: c.Format.Value}
	out.Options = Options(c.Options)
	return out
}

// Options converts spec options (connectors, environment connections and
// targets) to IR options sorted by key; secrets stay references.
func Options(os []spec.Option) []ir.Option {
	var out []ir.Option
	for _, o := range os {
		out = append(out, ir.Option{Key: o.Key, Value: optionValue(o.Value), Pos: o.Range})
	}
	sortOptions(out)
	return out
}

func optionValue(v any) any {
	switch v := v.(type) {
	case *spec.Secret:
		if v == nil {
			return nil
		}
		return &ir.Secret{Name: v.Name.Value, Key: v.Key.Value, Env: v.Env.Value}
	case spec.Secret:
		return &ir.Secret{Name: v.Name.Value, Key: v.Key.Value, Env: v.Env.Value}
	case []spec.Option:
		return Options(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = optionValue(x)
		}
		return out
	case int:
		return int64(v)
	case spec.String:
		return v.Value
	}
	return v
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// hasWindowColumns reports whether t starts with window_start and
// window_end timestamps (the output of a windowed operator).
func hasWindowColumns(t *rtype.Type) bool {
	return len(t.Fields) >= 2 && t.Fields[0].Name == ir.WindowStart && t.Fields[1].Name == ir.WindowEnd &&
		t.Fields[0].Type.Kind == rtype.Timestamp && t.Fields[1].Type.Kind == rtype.Timestamp
}

// KeyCompatible reports whether values of a and b can be equal join keys:
// the same kind, where integers of any width, floats of any width,
// decimals of any precision and timestamps of any precision count as one
// kind each. An integer never matches a decimal or a string: convert
// explicitly upstream so the engine hashes both sides alike.
func KeyCompatible(a, b *rtype.Type) bool {
	fam := func(t *rtype.Type) rtype.Kind {
		switch t.Kind {
		case rtype.Int32:
			return rtype.Int64
		case rtype.Float32:
			return rtype.Float64
		}
		return t.Kind
	}
	if a.Kind == rtype.Invalid || b.Kind == rtype.Invalid {
		return true
	}
	if fam(a) != fam(b) {
		return false
	}
	switch a.Kind {
	case rtype.List, rtype.Map:
		return KeyCompatible(a.Elem, b.Elem)
	case rtype.Record:
		return rtype.Identical(a, b)
	}
	return true
}
