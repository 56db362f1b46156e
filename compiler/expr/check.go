// Package expr type-checks the CEL expressions of a spec against the
// records they read and lowers them to the closed [ir.Expr] tree.
//
// # Conventions
//
//   - In a single-input operator the input's fields are variables (`price *
//     size`) when their names are CEL identifiers; every field is also
//     reachable as `row["any name"]` or `row.name`. A field named like an
//     alias, a pattern variable, `row` or a CEL keyword is reachable through
//     `row` only.
//   - Joins read `left.x` / `right.x` (or the aliases given with `as`); a
//     lookup reads the stream's fields bare (and as `left.x`) and the table's
//     as `right.x`.
//   - Patterns: unqualified names are the current row, `A.x` the last row
//     mapped to A, `last(A.x, 1)` the row before it.
//   - Types: int32/int64 check as CEL int, float32/float64 and decimal as
//     double (the IR keeps decimal precision: see [Arith]), timestamp and
//     date as google.protobuf.Timestamp, nullable scalars as wrapper types
//     (so `x == null` and `x != null` check), nested records as objects.
//     int and double mix in arithmetic and comparisons.
//   - Aggregate functions ([ir.Fn.IsAggregate]) are allowed only where the
//     scope says so, and never nested.
//
// Every ir.Expr node carries its exact rtype and its range inside the spec
// file, computed from CEL's per-expression offsets.
package expr

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// Input is one record an expression can read.
type Input struct {
	// Alias is the variable that qualifies the input's fields (`left`,
	// `right`, a user alias); "" for none.
	Alias string
	// Type is a record.
	Type *rtype.Type
	// Nullable marks every field nullable (the outer side of a join).
	Nullable bool
	// Desc names the input in messages: `"lit"`.
	Desc string
}

// Scope says what an expression may read and call.
type Scope struct {
	Inputs []Input
	// Bare is the input whose fields are variables and `row`; -1 for none.
	Bare int
	// Vars are pattern variables: records of input 0, as Ref{Var: v}.
	Vars []string
	// Aggregates allows aggregate functions.
	Aggregates bool
}

// Check parses, type-checks and lowers e under sc. It returns nil and
// diagnostics when the expression is wrong; nullable reports whether the
// result may be null.
func (c *Checker) Check(e spec.Expr, sc *Scope) (x *ir.Expr, nullable bool, ds diag.Diagnostics) {
	if c.err != nil {
		return nil, false, diag.Diagnostics{diag.Errorf(diag.InternalError, e.Range, "CEL environment", "%v", c.err)}
	}
	if strings.TrimSpace(e.Text) == "" {
		return nil, false, diag.Diagnostics{diag.Errorf(diag.BadExpression, e.Range, "Empty expression",
			"An expression is required here; write a CEL expression such as \"price > 0\".")}
	}
	env, err := c.env(sc)
	if err != nil {
		return nil, false, diag.Diagnostics{diag.Errorf(diag.InternalError, e.Range, "CEL environment", "%v", err)}
	}
	l := newLowerer(c, sc, e)
	parsed, iss := env.Parse(e.Text)
	if iss != nil && iss.Err() != nil {
		// The first syntax error is the one to fix; the parser's recovery
		// after it mostly restates it.
		return nil, false, l.celErrors(iss, nil, diag.BadExpression)[:1]
	}
	checked, iss := env.Check(parsed)
	if iss != nil && iss.Err() != nil {
		return nil, false, l.celErrors(iss, parsed.NativeRep().Expr(), diag.InvalidExpression)
	}
	l.si = checked.NativeRep().SourceInfo()
	l.ast = checked.NativeRep()
	root := l.ast.Expr()
	x, nullable = l.lower(root)
	if x != nil {
		x = l.value(x, root)
	}
	if len(l.ds) > 0 {
		return nil, false, l.ds
	}
	x.Text = e.Text
	return x, nullable, nil
}

// env returns the CEL environment declaring the scope's variables, cached
// by the scope's shape.
func (c *Checker) env(sc *Scope) (*cel.Env, error) {
	var key strings.Builder
	fmt.Fprintf(&key, "bare=%d agg=%v vars=%v", sc.Bare, sc.Aggregates, sc.Vars)
	for _, in := range sc.Inputs {
		fmt.Fprintf(&key, "|%s %v %s", in.Alias, in.Nullable, in.Type)
	}
	if env, ok := c.envs[key.String()]; ok {
		return env, nil
	}
	taken := map[string]bool{"row": true}
	var opts []cel.EnvOption
	for _, in := range sc.Inputs {
		if in.Alias != "" && !taken[in.Alias] {
			taken[in.Alias] = true
			opts = append(opts, cel.Variable(in.Alias, c.prov.object(nullableRecord(in.Type, in.Nullable))))
		}
	}
	for _, v := range sc.Vars {
		if !taken[v] && len(sc.Inputs) > 0 {
			taken[v] = true
			opts = append(opts, cel.Variable(v, c.prov.object(sc.Inputs[0].Type)))
		}
	}
	if sc.Bare >= 0 && sc.Bare < len(sc.Inputs) {
		in := sc.Inputs[sc.Bare]
		// row is a map so that row["any name"] checks; the lowering checks
		// the name against the record.
		opts = append(opts, cel.Variable("row", cel.MapType(cel.StringType, cel.DynType)))
		for _, f := range in.Type.Fields {
			if !IsIdent(f.Name) || taken[f.Name] {
				continue
			}
			taken[f.Name] = true
			opts = append(opts, cel.Variable(f.Name, c.prov.celType(f.Type, f.Nullable || in.Nullable)))
		}
	}
	env, err := c.base.Extend(opts...)
	if err != nil {
		return nil, err
	}
	c.envs[key.String()] = env
	return env, nil
}

func nullableRecord(t *rtype.Type, all bool) *rtype.Type {
	if !all || t.Kind != rtype.Record {
		return t
	}
	fs := make([]rtype.Field, len(t.Fields))
	for i, f := range t.Fields {
		f.Nullable = true
		fs[i] = f
	}
	return rtype.RecordOf(fs...)
}

var reserved = map[string]bool{
	"true": true, "false": true, "null": true, "in": true, "as": true, "break": true, "const": true,
	"continue": true, "else": true, "for": true, "function": true, "if": true, "import": true,
	"let": true, "loop": true, "package": true, "namespace": true, "return": true, "var": true,
	"void": true, "while": true,
}

// IsIdent reports whether name can be written bare in a CEL expression.
func IsIdent(name string) bool {
	if name == "" || reserved[name] {
		return false
	}
	for i, r := range name {
		if r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// lowerer turns one checked CEL AST into an ir.Expr.
type lowerer struct {
	c     *Checker
	sc    *Scope
	e     spec.Expr
	runes []int // rune index → byte offset in e.Text (len = runes+1)
	si    *ast.SourceInfo
	ast   *ast.AST
	ds    diag.Diagnostics
	agg   int // depth inside aggregate calls
	spans map[int64][2]int
}

func newLowerer(c *Checker, sc *Scope, e spec.Expr) *lowerer {
	l := &lowerer{c: c, sc: sc, e: e, spans: map[int64][2]int{}}
	for i := range e.Text {
		l.runes = append(l.runes, i)
	}
	l.runes = append(l.runes, len(e.Text))
	return l
}

// byteOff converts a CEL offset (code points) to a byte offset of the text.
func (l *lowerer) byteOff(r int) int {
	switch {
	case r < 0:
		return 0
	case r >= len(l.runes):
		return len(l.e.Text)
	}
	return l.runes[r]
}

// locOff converts a CEL line (1-based) and column (0-based, code points) to
// a byte offset of the text.
func (l *lowerer) locOff(line, col int) int {
	off := 0
	for ln := 1; ln < line && off < len(l.e.Text); ln++ {
		i := strings.IndexByte(l.e.Text[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	for ; col > 0 && off < len(l.e.Text); col-- {
		_, n := utf8.DecodeRuneInString(l.e.Text[off:])
		off += n
	}
	return off
}

// span returns the byte range [start, end) of the subtree rooted at x.
func (l *lowerer) span(x ast.Expr) (int, int) {
	if s, ok := l.spans[x.ID()]; ok {
		return s[0], s[1]
	}
	start, end := len(l.e.Text), 0
	if r, ok := l.si.GetOffsetRange(x.ID()); ok {
		start, end = l.byteOff(int(r.Start)), l.byteOff(int(r.Stop))
	}
	grow := func(c ast.Expr) {
		s, e := l.span(c)
		if s < e {
			start, end = min(start, s), max(end, e)
		}
	}
	switch x.Kind() {
	case ast.CallKind:
		call := x.AsCall()
		if call.IsMemberFunction() {
			grow(call.Target())
		} else if !strings.ContainsAny(call.FunctionName(), "_@!-") {
			// A global call's own offset is its '(': include the name.
			if n := len(call.FunctionName()); start >= n && l.e.Text[start-n:start] == call.FunctionName() {
				start -= n
			}
		}
		for _, a := range call.Args() {
			grow(a)
		}
		if !strings.HasPrefix(call.FunctionName(), "_") && !strings.HasPrefix(call.FunctionName(), "@") {
			end = closeParen(l.e.Text, end)
		} else if call.FunctionName() == operators.Index {
			end = closeBracket(l.e.Text, end)
		}
	case ast.SelectKind:
		sel := x.AsSelect()
		grow(sel.Operand())
		// The select's own offset is its '.': extend over the field name.
		if i := strings.Index(l.e.Text[min(end, len(l.e.Text)):], sel.FieldName()); i >= 0 && strings.TrimSpace(strings.TrimLeft(l.e.Text[end:end+i], " .")) == "" {
			end += i + len(sel.FieldName())
		}
	case ast.ListKind:
		for _, a := range x.AsList().Elements() {
			grow(a)
		}
		end = closeBracket(l.e.Text, end)
	case ast.ComprehensionKind:
		// A macro (all, exists, map…) sits at its '(': cover the range it
		// iterates and up to the matching ')'.
		own := start
		grow(x.AsComprehension().IterRange())
		if own < len(l.e.Text) && l.e.Text[own] == '(' {
			end = max(end, matchParen(l.e.Text, own))
		}
	}
	if start > end {
		start, end = 0, len(l.e.Text)
	}
	l.spans[x.ID()] = [2]int{start, end}
	return start, end
}

// matchParen returns the offset after the ')' matching the '(' at i.
func matchParen(s string, i int) int {
	depth := 0
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}

func closeParen(s string, end int) int   { return closeTok(s, end, ')') }
func closeBracket(s string, end int) int { return closeTok(s, end, ']') }

func closeTok(s string, end int, tok byte) int {
	i := end
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == ',') {
		i++
	}
	if i < len(s) && s[i] == tok {
		return i + 1
	}
	return end
}

func (l *lowerer) rangeOf(x ast.Expr) diag.Range {
	s, e := l.span(x)
	return l.e.RangeAt(s, e-s)
}

func (l *lowerer) textOf(x ast.Expr) string {
	s, e := l.span(x)
	return l.e.Text[s:e]
}

func (l *lowerer) errorf(code diag.Code, x ast.Expr, summary, format string, args ...any) {
	l.ds = append(l.ds, diag.Errorf(code, l.rangeOf(x), summary, format, args...))
}

// node fills the envelope of a lowered expression.
func (l *lowerer) node(x ast.Expr, e *ir.Expr) *ir.Expr {
	e.Pos = l.rangeOf(x)
	e.Text = l.textOf(x)
	return e
}

// value rejects a whole record where a value is needed.
func (l *lowerer) value(e *ir.Expr, x ast.Expr) *ir.Expr {
	if e != nil && e.Kind == ir.Ref && e.Type.Kind == rtype.Record && len(e.Path) == 0 {
		name := e.Var
		if name == "" {
			name = l.textOf(x)
		}
		l.errorf(diag.InvalidExpression, x, "Record used as a value",
			"%q is a whole record; select one of its fields, e.g. %s.%s.", name, name, firstField(e.Type))
		return nil
	}
	return e
}

func firstField(t *rtype.Type) string {
	for _, f := range t.Fields {
		if IsIdent(f.Name) {
			return f.Name
		}
	}
	return "field"
}

// lower lowers x; nil means an error was reported.
func (l *lowerer) lower(x ast.Expr) (*ir.Expr, bool) {
	switch x.Kind() {
	case ast.LiteralKind:
		return l.literal(x), x.AsLiteral().Type() == types.NullType
	case ast.IdentKind:
		return l.ident(x)
	case ast.SelectKind:
		return l.selectExpr(x)
	case ast.CallKind:
		return l.call(x)
	case ast.ListKind:
		var args []*ir.Expr
		var elem *rtype.Type
		null := false
		for _, a := range x.AsList().Elements() {
			ae, an := l.lower(a)
			ae = l.value(ae, a)
			if ae == nil {
				return nil, false
			}
			null = null || an
			if elem == nil {
				elem = ae.Type
			} else if ct := Common(elem, ae.Type); ct != nil {
				elem = ct
			} else {
				l.errorf(diag.InvalidExpression, a, "Mixed list elements",
					"List elements must share one type; %q is %s but earlier elements are %s.", l.textOf(a), ae.Type, elem)
				return nil, false
			}
			args = append(args, ae)
		}
		if elem == nil {
			elem = rtype.StringType
		}
		return l.node(x, &ir.Expr{Kind: ir.ListExpr, Type: rtype.ListOf(elem), Args: args}), false
	}
	l.errorf(diag.InvalidExpression, x, "Unsupported expression",
		"%q: map and message literals and comprehensions (all, exists, map, filter) have no equivalent on every engine; compute the value with the operators and functions of the vocabulary instead.", l.textOf(x))
	return nil, false
}

func (l *lowerer) literal(x ast.Expr) *ir.Expr {
	v := x.AsLiteral()
	e := &ir.Expr{Kind: ir.Lit}
	switch v.Type() {
	case types.IntType:
		e.Value, e.Type = v.Value().(int64), rtype.Int64Type
	case types.UintType:
		e.Value, e.Type = int64(v.Value().(uint64)), rtype.Int64Type
	case types.DoubleType:
		e.Value, e.Type = v.Value().(float64), rtype.Float64Type
	case types.StringType:
		e.Value, e.Type = v.Value().(string), rtype.StringType
	case types.BoolType:
		e.Value, e.Type = v.Value().(bool), rtype.BoolType
	case types.BytesType:
		e.Value, e.Type = v.Value().([]byte), rtype.BytesType
	default: // null: typed by its context (see nullAs)
		e.Value, e.Type = nil, rtype.StringType
	}
	return l.node(x, e)
}

func (l *lowerer) ident(x ast.Expr) (*ir.Expr, bool) {
	name := x.AsIdent()
	sc := l.sc
	for i, in := range sc.Inputs {
		if in.Alias == name {
			return l.node(x, &ir.Expr{Kind: ir.Ref, Input: i, Type: nullableRecord(in.Type, in.Nullable)}), in.Nullable
		}
	}
	for _, v := range sc.Vars {
		if v == name {
			return l.node(x, &ir.Expr{Kind: ir.Ref, Var: v, Type: sc.Inputs[0].Type}), false
		}
	}
	if sc.Bare >= 0 {
		in := sc.Inputs[sc.Bare]
		if name == "row" {
			return l.node(x, &ir.Expr{Kind: ir.Ref, Input: sc.Bare, Type: nullableRecord(in.Type, in.Nullable)}), in.Nullable
		}
		if f, ok := in.Type.Field(name); ok {
			return l.node(x, &ir.Expr{Kind: ir.Ref, Input: sc.Bare, Path: []string{name}, Type: f.Type}), f.Nullable || in.Nullable
		}
	}
	// The checker has accepted it, so this is a bug in the scope.
	l.errorf(diag.InvalidExpression, x, "Unknown name", "%q is not known here.", name)
	return nil, false
}

// field selects name from the record-or-map value base.
func (l *lowerer) field(x ast.Expr, base *ir.Expr, bnull bool, name string, where ast.Expr) (*ir.Expr, bool) {
	switch base.Type.Kind {
	case rtype.Record:
		f, ok := base.Type.Field(name)
		if !ok {
			names := base.Type.FieldNames()
			s, e := l.span(where)
			if x == where && e-len(name) >= s { // a.name: point at the name
				s = e - len(name)
			}
			l.ds = append(l.ds, diag.Errorf(diag.UnknownField, l.e.RangeAt(s, e-s), "Unknown field",
				"%q has no field %q.%s Known fields: %s.", base.Text, name, diag.DidYouMean(name, names), list(names)))
			return nil, false
		}
		if base.Kind == ir.Ref {
			path := append(append([]string(nil), base.Path...), name)
			return l.node(x, &ir.Expr{Kind: ir.Ref, Input: base.Input, Var: base.Var, Path: path, Type: f.Type}), bnull || f.Nullable
		}
	case rtype.Map:
		key := &ir.Expr{Kind: ir.Lit, Value: name, Type: rtype.StringType, Pos: l.rangeOf(x), Text: strconv.Quote(name)}
		return l.node(x, &ir.Expr{Kind: ir.Call, Fn: ir.FnIndex, Args: []*ir.Expr{base, key}, Type: base.Type.Elem}), true
	}
	l.errorf(diag.InvalidExpression, x, "Not a record", "%q is %s, which has no field %q.", base.Text, base.Type, name)
	return nil, false
}

func list(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func (l *lowerer) selectExpr(x ast.Expr) (*ir.Expr, bool) {
	s := x.AsSelect()
	base, bnull := l.lower(s.Operand())
	if base == nil {
		return nil, false
	}
	f, fnull := l.field(x, base, bnull, s.FieldName(), x)
	if f == nil {
		return nil, false
	}
	if s.IsTestOnly() {
		return l.node(x, &ir.Expr{Kind: ir.Call, Fn: ir.FnHas, Args: []*ir.Expr{f}, Type: rtype.BoolType}), false
	}
	return f, fnull
}

// celErrors converts CEL issues into diagnostics positioned at the bad token
// inside the string, with our codes and remedies.
func (l *lowerer) celErrors(iss *cel.Issues, parsed ast.Expr, code diag.Code) diag.Diagnostics {
	var ds diag.Diagnostics
	for _, e := range iss.Errors() {
		off := l.locOff(e.Location.Line(), e.Location.Column())
		r := l.e.RangeAt(off, tokenLen(l.e.Text, off))
		msg := e.Message
		col := off + 1
		switch {
		case code == diag.BadExpression:
			msg = strings.TrimPrefix(msg, "Syntax error: ")
			ds = append(ds, diag.Errorf(diag.BadExpression, r, "Expression does not parse",
				"%s at offset %d of %q. Expressions are CEL: compare with ==, combine with && and ||, quote strings with ' or \".", msg, col, l.e.Text))
		case strings.HasPrefix(msg, "undeclared reference to '"):
			name := between(msg, "'", "'")
			// CEL places an unknown call at its '(': point at the name.
			if off < len(l.e.Text) && l.e.Text[off] == '(' && strings.HasSuffix(l.e.Text[:off], name) {
				off -= len(name)
				r = l.e.RangeAt(off, len(name))
				ds = append(ds, diag.Errorf(diag.InvalidExpression, r, "Unknown function",
					"%s() is not in the expression vocabulary.%s Functions: %s.", name, diag.DidYouMean(name, vocabulary()), strings.Join(vocabulary(), ", ")))
				continue
			}
			ds = append(ds, l.undeclared(r, name))
		case strings.HasPrefix(msg, "undefined field '"):
			name := between(msg, "'", "'")
			// CEL places a select at its '.': point at the field name.
			if i := strings.Index(l.e.Text[off:], name); i >= 0 && strings.Trim(l.e.Text[off:off+i], " .\t\n") == "" {
				off += i
				r = l.e.RangeAt(off, len(name))
			}
			rec, text := l.recordAt(parsed, e.ExprID)
			if rec != nil {
				names := rec.FieldNames()
				ds = append(ds, diag.Errorf(diag.UnknownField, r, "Unknown field", "%q has no field %q.%s Known fields: %s.",
					text, name, diag.DidYouMean(name, names), list(names)))
			} else {
				ds = append(ds, diag.Errorf(diag.UnknownField, r, "Unknown field", "No field %q here.", name))
			}
		case strings.HasPrefix(msg, "found no matching overload for '"):
			fn := between(msg, "'", "'")
			argTypes := msg[strings.LastIndex(msg, "applied to '")+len("applied to '"):]
			argTypes = strings.TrimSuffix(argTypes, "'")
			ds = append(ds, diag.Errorf(diag.InvalidExpression, r, "Mismatched types",
				"%s cannot be applied to %s here. %s", displayFn(fn), celTypes(argTypes), remedy(fn)))
		default:
			ds = append(ds, diag.Errorf(diag.InvalidExpression, r, "Invalid expression", "%s.", strings.TrimSuffix(msg, ".")))
		}
	}
	return ds
}

func (l *lowerer) undeclared(r diag.Range, name string) *diag.Diagnostic {
	var names []string
	desc := "the expression"
	if l.sc.Bare >= 0 {
		in := l.sc.Inputs[l.sc.Bare]
		names = in.Type.FieldNames()
		if in.Desc != "" {
			desc = in.Desc
		}
	}
	var qualified []string
	for _, in := range l.sc.Inputs {
		if in.Alias != "" {
			names = append(names, in.Alias)
			if _, ok := in.Type.Field(name); ok {
				qualified = append(qualified, in.Alias+"."+name)
			}
		}
	}
	names = append(names, l.sc.Vars...)
	if fn := ir.Fn(name); fn.IsAggregate() || isScalarFn(name) {
		return diag.Errorf(diag.InvalidExpression, r, "Function used as a value", "%q is a function; call it: %s(...).", name, name)
	}
	if len(qualified) > 0 && l.sc.Bare < 0 {
		return diag.Errorf(diag.UnknownField, r, "Unknown field",
			"Fields of a join are qualified by their side: write %s.", strings.Join(qualified, " or "))
	}
	detail := fmt.Sprintf("%s has no field %q.%s Known names: %s.", desc, name, diag.DidYouMean(name, names), list(names))
	if l.sc.Bare >= 0 {
		detail += ` Names that are not identifiers are read as row["name"].`
	}
	return diag.Errorf(diag.UnknownField, r, "Unknown field", "%s", upperFirst(detail))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// recordAt finds the record whose field the select id reads, by its operand
// in the parsed AST (an alias, a pattern variable or row).
func (l *lowerer) recordAt(root ast.Expr, id int64) (*rtype.Type, string) {
	if root == nil {
		return nil, ""
	}
	var found ast.Expr
	var walk func(ast.Expr)
	walk = func(x ast.Expr) {
		if found != nil || x == nil {
			return
		}
		if x.ID() == id {
			found = x
			return
		}
		switch x.Kind() {
		case ast.CallKind:
			c := x.AsCall()
			if c.IsMemberFunction() {
				walk(c.Target())
			}
			for _, a := range c.Args() {
				walk(a)
			}
		case ast.SelectKind:
			walk(x.AsSelect().Operand())
		case ast.ListKind:
			for _, a := range x.AsList().Elements() {
				walk(a)
			}
		}
	}
	walk(root)
	if found == nil || found.Kind() != ast.SelectKind {
		return nil, ""
	}
	op := found.AsSelect().Operand()
	if op.Kind() != ast.IdentKind {
		return nil, ""
	}
	name := op.AsIdent()
	for _, in := range l.sc.Inputs {
		if in.Alias == name {
			return in.Type, name
		}
	}
	for _, v := range l.sc.Vars {
		if v == name {
			return l.sc.Inputs[0].Type, name
		}
	}
	if name == "row" && l.sc.Bare >= 0 {
		return l.sc.Inputs[l.sc.Bare].Type, name
	}
	return nil, ""
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	if j := strings.Index(s, b); j >= 0 {
		return s[:j]
	}
	return s
}

// tokenLen is the length of the token at off (an identifier, a number, or
// one character), for the diagnostic's range.
func tokenLen(s string, off int) int {
	if off >= len(s) {
		return 0
	}
	n := 0
	for off+n < len(s) {
		c := s[off+n]
		if c == '_' || c == '.' && n > 0 && isDigit(s[off]) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) {
			n++
			continue
		}
		break
	}
	if n == 0 {
		_, n = utf8.DecodeRuneInString(s[off:])
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

var fnDisplay = map[string]string{
	operators.Add: "+", operators.Subtract: "-", operators.Multiply: "*", operators.Divide: "/",
	operators.Modulo: "%", operators.Negate: "unary -", operators.Equals: "==", operators.NotEquals: "!=",
	operators.Less: "<", operators.LessEquals: "<=", operators.Greater: ">", operators.GreaterEquals: ">=",
	operators.LogicalAnd: "&&", operators.LogicalOr: "||", operators.LogicalNot: "!",
	operators.Conditional: "?:", operators.Index: "[]", operators.In: "in",
}

func displayFn(fn string) string {
	if d, ok := fnDisplay[fn]; ok {
		return "operator " + d
	}
	return "function " + fn + "()"
}

func celTypes(s string) string {
	r := strings.NewReplacer("google.protobuf.Timestamp", "timestamp", "google.protobuf.Duration", "duration",
		"wrapper(", "nullable(", "google.protobuf.StringValue", "nullable(string)", "google.protobuf.Int64Value", "nullable(int)",
		"google.protobuf.DoubleValue", "nullable(double)", "google.protobuf.BoolValue", "nullable(bool)")
	return r.Replace(s)
}

func remedy(fn string) string {
	switch fn {
	case operators.LogicalAnd, operators.LogicalOr, operators.LogicalNot:
		return "Both sides must be bool: compare values first, e.g. size > 0."
	case operators.Add, operators.Subtract, operators.Multiply, operators.Divide, operators.Modulo:
		return "Arithmetic needs numbers (decimal counts as double); timestamps take durations (ts + duration(\"5m\")); convert with int(), double() or string()."
	case operators.Equals, operators.NotEquals:
		return "== and != need the same type on both sides (CEL does not mix int and double here): write 100.0 for a decimal or double field, or convert with int(), double(), string()."
	case operators.Less, operators.LessEquals, operators.Greater, operators.GreaterEquals:
		return "Both sides must have comparable types; convert one side with int(), double(), string() or timestamp()."
	}
	if sig, ok := signatures[fn]; ok {
		return "Signature: " + sig + "."
	}
	return "Check the argument types against the function's signature."
}

var signatures = map[string]string{
	"sum": "sum(number)", "avg": "avg(number)", "count": "count() or count(x)", "min": "min(x)", "max": "max(x)",
	"first": "first(x)", "last": "last(x) or last(x, n)", "stddev": "stddev(number)", "variance": "variance(number)",
	"top": "top(x, n)", "bottom": "bottom(x, n)", "round": "round(x) or round(x, digits)", "pow": "pow(x, y)",
	"substring": "substring(s, start[, end])", "replace": "replace(s, old, new)", "date_trunc": `date_trunc("minute", ts)`,
	"decimal": "decimal(x, precision, scale)", "epoch_millis": "epoch_millis(timestamp)", "hour": "hour(timestamp)",
	"day_of_week": "day_of_week(timestamp)", "coalesce": "coalesce(a, b, ...) of one type",
	"greatest": "greatest(a, b, ...) of one type", "least": "least(a, b, ...) of one type",
	"lower": "lower(string)", "upper": "upper(string)", "trim": "trim(string)",
}

func isScalarFn(name string) bool { _, ok := scalarFns[name]; return ok }

// sortedNames is used for stable messages.
func sortedNames(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
