package ir

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// Fprint writes p in the stable text form used by out/ir goldens: one block
// per pipeline, one entry per node in ID order with its payload, output
// type and spec position, then workflows and environments. Expressions print
// as typed prefix trees: (fn:type arg…), $field:type for references
// ($1.field for the second input, $A.field for a pattern variable).
// The spec digest is not printed, so goldens do not churn on spec edits.
func Fprint(w io.Writer, p *Program) error {
	bw := bufio.NewWriter(w)
	pr := &printer{w: bw}
	if p != nil {
		for _, pl := range p.Pipelines {
			pr.pipeline(pl)
		}
		for _, wf := range p.Workflows {
			pr.workflow(wf)
		}
		for _, env := range p.Environments {
			pr.environment(env)
		}
	}
	return bw.Flush()
}

// Sprint returns [Fprint]'s output as a string.
func Sprint(p *Program) string {
	var b strings.Builder
	_ = Fprint(&b, p)
	return b.String()
}

type printer struct {
	w *bufio.Writer
}

func (pr *printer) line(indent int, format string, args ...any) {
	pr.w.WriteString(strings.Repeat("  ", indent))
	fmt.Fprintf(pr.w, format, args...)
	pr.w.WriteByte('\n')
}

func pos(r diag.Range) string {
	if !r.IsValid() {
		return ""
	}
	return "  @" + r.String()
}

// Dur renders a duration in the spec's notation (1h30m, 250ms, 1d).
func Dur(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond}, {"ns", time.Nanosecond}} {
		if d >= u.d {
			fmt.Fprintf(&b, "%d%s", d/u.d, u.name)
			d %= u.d
		}
	}
	return b.String()
}

func (pr *printer) pipeline(pl *Pipeline) {
	hdr := fmt.Sprintf("pipeline %s mode=%s engine=%s", strconv.Quote(pl.Name), pl.Mode, pl.Engine)
	if pl.Owner != "" {
		hdr += " owner=" + strconv.Quote(pl.Owner)
	}
	pr.line(0, "%s%s", hdr, pos(pl.Pos))
	if pl.Description != "" {
		pr.line(1, "description %s", strconv.Quote(pl.Description))
	}
	for _, kv := range pl.Labels {
		pr.line(1, "label %s=%s", strconv.Quote(kv.Key), strconv.Quote(kv.Value))
	}
	pr.deploy(pl.Deploy)
	for _, n := range pl.Nodes {
		pr.node(n)
	}
}

func (pr *printer) deploy(d Deploy) {
	var parts []string
	add := func(k string, v any, set bool) {
		if set {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	add("parallelism", d.Parallelism, d.Parallelism != 0)
	add("maxParallelism", d.MaxParallelism, d.MaxParallelism != 0)
	add("cpu", d.CPU, d.CPU != 0)
	add("memory", strconv.Quote(d.Memory), d.Memory != "")
	add("replicas", d.Replicas, d.Replicas != 0)
	add("image", strconv.Quote(d.Image), d.Image != "")
	c := d.Checkpoint
	add("checkpoint", Dur(c.Interval), c.Interval != 0)
	add("checkpointDir", strconv.Quote(c.Dir), c.Dir != "")
	add("savepointDir", strconv.Quote(c.SavepointDir), c.SavepointDir != "")
	add("mode", c.Mode, c.Mode != "")
	add("stateBackend", c.StateBackend, c.StateBackend != "")
	add("upgradeMode", c.UpgradeMode, c.UpgradeMode != "")
	for _, kv := range d.Config {
		parts = append(parts, strconv.Quote(kv.Key)+"="+strconv.Quote(kv.Value))
	}
	if len(parts) > 0 {
		pr.line(1, "deploy %s", strings.Join(parts, " "))
	}
}

func opName(op Op) string {
	switch op.(type) {
	case *Source:
		return "source"
	case *DeadLetter:
		return "deadletter"
	case *Filter:
		return "filter"
	case *Map:
		return "map"
	case *Aggregate:
		return "aggregate"
	case *LateOutput:
		return "late"
	case *Rolling:
		return "rolling"
	case *Join:
		return "join"
	case *Lookup:
		return "lookup"
	case *Pattern:
		return "pattern"
	case *Dedupe:
		return "dedupe"
	case *TopN:
		return "topn"
	case *Union:
		return "union"
	case *Windowing:
		return "windowing"
	case *Sink:
		return "sink"
	case nil:
		return "<nil>"
	}
	return fmt.Sprintf("%T", op)
}

// OpName is the operator's name as printed (source, filter, …).
func OpName(op Op) string { return opName(op) }

func ids(in []NodeID) string {
	s := make([]string, len(in))
	for i, id := range in {
		s[i] = fmt.Sprintf("n%d", id)
	}
	return strings.Join(s, ", ")
}

func (pr *printer) node(n *Node) {
	hdr := fmt.Sprintf("n%d %s %s", n.ID, opName(n.Op), strconv.Quote(n.Name))
	if len(n.Inputs) > 0 {
		hdr += " <- " + ids(n.Inputs)
	}
	pr.line(1, "%s%s", hdr, pos(n.Pos))
	if n.Doc != "" {
		pr.line(2, "doc %s", strconv.Quote(n.Doc))
	}
	switch op := n.Op.(type) {
	case *Source:
		pr.connector(op.Connector)
		if op.OnError != "" && op.OnError != FailOnError {
			if op.DeadLetter != 0 {
				pr.line(2, "on error %s -> n%d", op.OnError, op.DeadLetter)
			} else {
				pr.line(2, "on error %s", op.OnError)
			}
		}
		if op.Bounded {
			pr.line(2, "bounded")
		}
		if op.Schema != nil && !rtype.Identical(op.Schema, n.Out) {
			pr.line(2, "schema %s", op.Schema)
		}
	case *DeadLetter:
		pr.line(2, "of n%d", op.Source)
	case *Filter:
		pr.line(2, "where %s", ExprString(op.Where))
	case *Map:
		pr.columns("column", op.Columns)
	case *Aggregate:
		pr.columns("key", op.Keys)
		pr.window(op.Window)
		pr.columns("column", op.Columns)
		if op.Having != nil {
			pr.line(2, "having %s", ExprString(op.Having))
		}
		if op.AllowedLateness != 0 {
			pr.line(2, "allowed lateness %s", Dur(op.AllowedLateness))
		}
		if op.Late != 0 {
			pr.line(2, "late -> n%d", op.Late)
		}
	case *LateOutput:
		pr.line(2, "of n%d", op.Of)
	case *Rolling:
		pr.columns("key", op.Keys)
		pr.line(2, "order by %s", quoteField(op.OrderBy))
		if op.Range != 0 {
			pr.line(2, "range %s preceding", Dur(op.Range))
		}
		if op.Rows != 0 {
			pr.line(2, "rows %d preceding", op.Rows)
		}
		pr.columns("column", op.Columns)
	case *Join:
		pr.line(2, "type %s left as %s right as %s", op.Type, quoteField(op.LeftAs), quoteField(op.RightAs))
		for _, k := range op.On {
			pr.line(2, "on %s = %s", quoteField(k.Left), quoteField(k.Right))
		}
		if op.Window == nil {
			pr.line(2, "interval [%s, %s]", Dur(op.Lower), Dur(op.Upper))
		}
		pr.window(op.Window)
		if op.Where != nil {
			pr.line(2, "where %s", ExprString(op.Where))
		}
		pr.columns("column", op.Columns)
	case *Lookup:
		pr.line(2, "type %s", op.Type)
		pr.connector(op.Table)
		if op.Schema != nil {
			pr.line(2, "table schema %s", op.Schema)
		}
		for _, k := range op.On {
			pr.line(2, "on %s = %s", quoteField(k.Left), quoteField(k.Right))
		}
		if op.AsOf != "" {
			pr.line(2, "as of %s", quoteField(op.AsOf))
		}
		if op.CacheTTL != 0 || op.CacheRows != 0 {
			pr.line(2, "cache ttl %s rows %d", Dur(op.CacheTTL), op.CacheRows)
		}
		pr.columns("column", op.Columns)
	case *Pattern:
		pr.columns("partition", op.PartitionBy)
		pr.line(2, "order by %s", quoteField(op.OrderBy))
		var terms []string
		for _, t := range op.Terms {
			terms = append(terms, t.String())
		}
		pr.line(2, "pattern %s (%s)", strings.Join(terms, " "), strconv.Quote(op.Text))
		pr.columns("define", op.Define)
		pr.columns("measure", op.Measures)
		if op.Within != 0 {
			pr.line(2, "within %s", Dur(op.Within))
		}
		if op.SkipTo != "" {
			pr.line(2, "after match %s %s", op.Skip, op.SkipTo)
		} else {
			pr.line(2, "after match %s", op.Skip)
		}
	case *Dedupe:
		pr.columns("key", op.Keys)
		keep := "first"
		if op.KeepLast {
			keep = "last"
		}
		order := quoteField(op.OrderBy)
		if op.ProcTime {
			order = "proctime"
		}
		pr.line(2, "keep %s order by %s", keep, order)
		if op.Within != 0 {
			pr.line(2, "within %s", Dur(op.Within))
		}
	case *TopN:
		pr.columns("key", op.Keys)
		var ord []string
		for _, o := range op.OrderBy {
			d := "asc"
			if o.Desc {
				d = "desc"
			}
			ord = append(ord, quoteField(o.Field)+" "+d)
		}
		pr.line(2, "top %d order by %s", op.N, strings.Join(ord, ", "))
		pr.window(op.Window)
		if op.RankField != "" {
			pr.line(2, "rank %s", quoteField(op.RankField))
		}
	case *Union:
	case *Windowing:
		pr.window(op.Window)
	case *Sink:
		pr.connector(op.Connector)
		if len(op.Key) > 0 {
			var k []string
			for _, f := range op.Key {
				k = append(k, quoteField(f))
			}
			pr.line(2, "key %s", strings.Join(k, ", "))
		}
		if op.Schema != nil {
			pr.line(2, "schema %s", op.Schema)
		}
	}
	if n.EventTime != "" {
		pr.line(2, "event time %s watermark delay %s", quoteField(n.EventTime), Dur(n.MaxOutOfOrderness))
	}
	if n.Out != nil {
		pr.line(2, "out %s", n.Out)
	} else {
		pr.line(2, "out <nil>")
	}
}

// String renders a pattern term: A, B+, C{2,3}?, D*.
func (t PatternTerm) String() string {
	q := t.Quant
	var s string
	switch {
	case q.Min == 1 && q.Max == 1:
		s = ""
	case q.Min == 1 && q.Max == -1:
		s = "+"
	case q.Min == 0 && q.Max == -1:
		s = "*"
	case q.Min == 0 && q.Max == 1:
		s = "?"
	case q.Max == -1:
		s = fmt.Sprintf("{%d,}", q.Min)
	case q.Min == q.Max:
		s = fmt.Sprintf("{%d}", q.Min)
	default:
		s = fmt.Sprintf("{%d,%d}", q.Min, q.Max)
	}
	if !q.Greedy && s != "" {
		s += "?"
	}
	return t.Var + s
}

func (pr *printer) window(w *Window) {
	if w == nil {
		return
	}
	s := "window " + string(w.Kind)
	switch w.Kind {
	case Tumble:
		s += " size " + Dur(w.Size)
	case Hop:
		s += " size " + Dur(w.Size) + " slide " + Dur(w.Slide)
	case Session:
		s += " gap " + Dur(w.Gap)
	case Cumulate:
		s += " size " + Dur(w.Size) + " step " + Dur(w.Step)
	}
	if w.Offset != 0 {
		s += " offset " + Dur(w.Offset)
	}
	if w.Panes != 0 {
		s += " panes " + Dur(w.Panes)
	}
	pr.line(2, "%s", s)
}

func (pr *printer) columns(what string, cs []Column) {
	for _, c := range cs {
		pr.line(2, "%s %s = %s", what, quoteField(c.Name), ExprString(c.Expr))
	}
}

func (pr *printer) connector(c Connector) {
	s := "connector " + c.Kind
	if c.Format != "" {
		s += " format " + c.Format
	}
	pr.line(2, "%s", s)
	for _, o := range c.Options {
		pr.line(3, "%s = %s", quoteField(o.Key), optionString(o.Value))
	}
}

func optionString(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case *Secret:
		s := fmt.Sprintf("secret(%s, %s", strconv.Quote(v.Name), strconv.Quote(v.Key))
		if v.Env != "" {
			s += ", env " + strconv.Quote(v.Env)
		}
		return s + ")"
	case []Option:
		var parts []string
		for _, o := range v {
			parts = append(parts, quoteField(o.Key)+": "+optionString(o.Value))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, optionString(x))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

func quoteField(s string) string {
	if s == "" {
		return `""`
	}
	for i, r := range s {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.')) {
			continue
		}
		return strconv.Quote(s)
	}
	return s
}

// ExprString renders e as a typed prefix tree, the golden form.
func ExprString(e *Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func writeExpr(b *strings.Builder, e *Expr) {
	if e == nil {
		b.WriteString("<nil>")
		return
	}
	switch e.Kind {
	case Lit:
		switch v := e.Value.(type) {
		case nil:
			b.WriteString("null:" + e.Type.String())
		case string:
			b.WriteString(strconv.Quote(v))
		case []byte:
			b.WriteString("b" + strconv.Quote(string(v)))
		case Decimal:
			b.WriteString(string(v) + ":" + e.Type.String())
		case time.Duration:
			b.WriteString(Dur(v))
		case float64:
			f := strconv.FormatFloat(v, 'g', -1, 64)
			if !strings.ContainsAny(f, ".eIN") {
				f += ".0"
			}
			b.WriteString(f + ":float64")
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		default:
			fmt.Fprint(b, v)
		}
	case Ref:
		b.WriteByte('$')
		switch {
		case e.Var != "":
			b.WriteString(e.Var + ".")
		case e.Input != 0:
			fmt.Fprintf(b, "%d.", e.Input)
		}
		for i, p := range e.Path {
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(quoteField(p))
		}
		b.WriteString(":" + e.Type.String())
	case Call, ListExpr:
		name := string(e.Fn)
		if e.Kind == ListExpr {
			name = "list"
		}
		b.WriteString("(" + name + ":" + e.Type.String())
		for _, a := range e.Args {
			b.WriteByte(' ')
			writeExpr(b, a)
		}
		b.WriteByte(')')
	default:
		fmt.Fprintf(b, "<kind %d>", e.Kind)
	}
}

func (pr *printer) workflow(wf *Workflow) {
	pr.line(0, "workflow %s%s", strconv.Quote(wf.Name), pos(wf.Pos))
	if wf.Description != "" {
		pr.line(1, "description %s", strconv.Quote(wf.Description))
	}
	if s := wf.Schedule; s != nil {
		line := "schedule " + strconv.Quote(s.Cron)
		if s.Timezone != "" {
			line += " tz " + strconv.Quote(s.Timezone)
		}
		if s.ConcurrencyPolicy != "" {
			line += " concurrency " + s.ConcurrencyPolicy
		}
		if s.StartingDeadline != 0 {
			line += " starting deadline " + Dur(s.StartingDeadline)
		}
		if s.Suspend {
			line += " suspended"
		}
		pr.line(1, "%s", line)
	}
	for _, kv := range wf.Params {
		pr.line(1, "param %s=%s", strconv.Quote(kv.Key), strconv.Quote(kv.Value))
	}
	if wf.ActiveDeadline != 0 {
		pr.line(1, "active deadline %s", Dur(wf.ActiveDeadline))
	}
	for _, st := range wf.Steps {
		pr.step("step", st)
	}
	if wf.OnExit != nil {
		pr.step("on exit", wf.OnExit)
	}
}

func (pr *printer) step(what string, st *Step) {
	s := what + " " + strconv.Quote(st.Name)
	if st.Pipeline != nil {
		s += " pipeline " + strconv.Quote(st.Pipeline.Name)
	}
	if len(st.DependsOn) > 0 {
		var d []string
		for _, x := range st.DependsOn {
			d = append(d, strconv.Quote(x))
		}
		s += " after " + strings.Join(d, ", ")
	}
	pr.line(1, "%s%s", s, pos(st.Pos))
	if c := st.Container; c != nil {
		line := "container " + strconv.Quote(c.Image)
		if len(c.Command) > 0 {
			line += fmt.Sprintf(" command %q", c.Command)
		}
		if len(c.Args) > 0 {
			line += fmt.Sprintf(" args %q", c.Args)
		}
		pr.line(2, "%s", line)
		for _, kv := range c.Env {
			pr.line(3, "env %s=%s", kv.Key, strconv.Quote(kv.Value))
		}
	}
	if r := st.Retry; r != nil {
		pr.line(2, "retry limit %d policy %s backoff %s factor %g max %s", r.Limit, r.Policy, Dur(r.Backoff), r.Factor, Dur(r.MaxDuration))
	}
	if st.Timeout != 0 {
		pr.line(2, "timeout %s", Dur(st.Timeout))
	}
	for _, kv := range st.Params {
		pr.line(2, "param %s=%s", strconv.Quote(kv.Key), strconv.Quote(kv.Value))
	}
}

func (pr *printer) environment(env *Environment) {
	s := "environment " + strconv.Quote(env.Name)
	if env.Namespace != "" {
		s += " namespace " + strconv.Quote(env.Namespace)
	}
	if env.Scale != 0 {
		s += fmt.Sprintf(" scale %g", env.Scale)
	}
	pr.line(0, "%s", s)
	for _, kv := range env.Labels {
		pr.line(1, "label %s=%s", strconv.Quote(kv.Key), strconv.Quote(kv.Value))
	}
	conns := append([]Connection(nil), env.Connections...)
	sort.SliceStable(conns, func(i, j int) bool { return conns[i].Name < conns[j].Name })
	for _, c := range conns {
		pr.line(1, "connection %s kind %s", strconv.Quote(c.Name), c.Kind)
		for _, o := range c.Options {
			pr.line(2, "%s = %s", quoteField(o.Key), optionString(o.Value))
		}
	}
	for _, o := range env.Targets {
		pr.line(1, "target %s = %s", quoteField(o.Key), optionString(o.Value))
	}
}
