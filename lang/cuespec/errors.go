package cuespec

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// typeMarker is a piece of the type grammar's regexp (stdlib/types.cue) by
// which a failed #Type constraint is recognised in CUE's message.
const typeMarker = "(?:string|bool|int32|int64|float32|float64|date|bytes|decimal"

// errGroup is the CUE errors of one path.
type errGroup struct {
	path []string
	errs []cueerrors.Error
}

// convertErr turns a CUE error (a list) into diagnostics. root is the
// evaluated package, used to list stream names for suggestions; def is the
// code of errors nothing more specific fits.
func (l *loader) convertErr(err error, pm *posMap, root cue.Value, def diag.Code) diag.Diagnostics {
	var groups []*errGroup
	byPath := map[string]*errGroup{}
	for _, e := range cueerrors.Errors(err) {
		path := unquotePath(e.Path())
		k := strings.Join(path, "\x00")
		g := byPath[k]
		if g == nil {
			g = &errGroup{path: path}
			byPath[k] = g
			groups = append(groups, g)
		}
		g.errs = append(g.errs, e)
	}
	// Errors at hidden fields (the schema's _streams) repeat a problem
	// reported at a user's field.
	visible := 0
	for _, g := range groups {
		if !hiddenPath(g.path) {
			visible++
		}
	}
	var ds diag.Diagnostics
	for _, g := range groups {
		if visible > 0 && hiddenPath(g.path) {
			continue
		}
		if d := l.convertGroup(g, pm, root, def); d != nil {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 && len(groups) > 0 {
		// Every error was an echo; report the first one plainly.
		ds = append(ds, l.plain(groups[0], pm, def))
	}
	return ds
}

func hiddenPath(path []string) bool {
	for _, p := range path {
		if strings.HasPrefix(p, "_") {
			return true
		}
	}
	return false
}

func unquotePath(path []string) []string {
	out := make([]string, len(path))
	for i, p := range path {
		if strings.HasPrefix(p, `"`) {
			if s, err := strconv.Unquote(p); err == nil {
				p = s
			}
		}
		out[i] = p
	}
	return out
}

func (l *loader) convertGroup(g *errGroup, pm *posMap, root cue.Value, def diag.Code) *diag.Diagnostic {
	msgs, positions := collect(g, pm)
	if d, echo := l.danglingRef(g, pm, root, positions); d != nil || echo {
		return d
	}
	if d := l.badType(g, pm, msgs, positions); d != nil {
		return d
	}
	return generic(g, pm, def, msgs, positions)
}

// plain converts a group without recognising special cases.
func (l *loader) plain(g *errGroup, pm *posMap, def diag.Code) *diag.Diagnostic {
	msgs, positions := collect(g, pm)
	return generic(g, pm, def, msgs, positions)
}

// collect returns the distinct messages and positions of a group, user
// positions first.
func collect(g *errGroup, pm *posMap) ([]string, []token.Pos) {
	var msgs []string
	seen := map[string]bool{}
	var positions []token.Pos
	seenPos := map[token.Pos]bool{}
	for _, e := range g.errs {
		m := errMsg(e)
		if !seen[m] {
			seen[m] = true
			msgs = append(msgs, m)
		}
		for _, p := range cueerrors.Positions(e) {
			if p.IsValid() && !seenPos[p] {
				seenPos[p] = true
				positions = append(positions, p)
			}
		}
	}
	// User positions first, in file order; then the schema's.
	sort.SliceStable(positions, func(i, j int) bool {
		ui, uj := pm.isUser(positions[i]), pm.isUser(positions[j])
		if ui != uj {
			return ui
		}
		return false
	})
	return msgs, positions
}

func generic(g *errGroup, pm *posMap, def diag.Code, msgs []string, positions []token.Pos) *diag.Diagnostic {
	// Drop disjunction headers when the alternatives are listed.
	var body []string
	for _, m := range msgs {
		if strings.Contains(m, "errors in empty disjunction") && len(msgs) > 1 {
			continue
		}
		body = append(body, m)
	}
	code, summary := classify(body, def)
	var r diag.Range
	if len(positions) > 0 {
		r = pm.rng(positions[0])
	}
	path := strings.Join(g.path, ".")
	detail := strings.Join(body, "\n")
	if path != "" {
		detail = path + ": " + detail
	}
	if code == diag.IncompleteValue {
		detail += "\nSet the field to a concrete value (the schema requires it)."
	}
	d := diag.Errorf(code, r, summary, "%s", detail)
	d.Path = g.path
	for _, p := range positions[min(1, len(positions)):] {
		if len(d.Related) >= 4 {
			break
		}
		d.Related = append(d.Related, diag.Related{Message: "constrained here", Range: pm.rng(p)})
	}
	return d
}

func errMsg(e cueerrors.Error) string {
	format, args := e.Msg()
	if format == "" {
		return e.Error()
	}
	return fmt.Sprintf(format, args...)
}

func classify(msgs []string, def diag.Code) (diag.Code, string) {
	all := strings.Join(msgs, "\n")
	switch {
	case strings.Contains(all, "field not allowed"):
		return diag.UnknownSpecField, "Field not allowed by the schema"
	case strings.Contains(all, "field is required but not present"),
		strings.Contains(all, "incomplete value"),
		strings.Contains(all, "non-concrete value"):
		return diag.IncompleteValue, "Missing or incomplete value"
	case strings.Contains(all, "expected "), strings.Contains(all, "illegal"), strings.Contains(all, "missing ',' "):
		if def == diag.FailedLoad {
			return diag.BadSpecSyntax, "Syntax error"
		}
	case strings.Contains(all, "conflicting values"), strings.Contains(all, "out of bound"),
		strings.Contains(all, "invalid value"), strings.Contains(all, "empty disjunction"):
		return diag.ConflictingValues, "Value not allowed by the schema"
	}
	if def == diag.FailedLoad {
		return def, "Cannot load the spec"
	}
	return def, "Invalid spec"
}

// isRefPath reports whether path is a reference that the schema constrains
// to stream names: pipelines.P.(transforms|sinks).N.(from[.i]|left.from|
// right.from).
func isRefPath(path []string) (pipeline string, ok bool) {
	if len(path) < 5 || path[0] != "pipelines" || (path[2] != "transforms" && path[2] != "sinks") {
		return "", false
	}
	rest := path[4:]
	switch {
	case len(rest) == 1 && rest[0] == "from":
	case len(rest) == 2 && rest[0] == "from":
		if _, err := strconv.Atoi(rest[1]); err != nil {
			return "", false
		}
	case len(rest) == 2 && (rest[0] == "left" || rest[0] == "right") && rest[1] == "from":
	default:
		return "", false
	}
	return path[1], true
}

// danglingRef recognises the disjunction dump of a `from` that names no
// stream and reports UnknownNode at the user's string.
//
// A reference to a name that does exist also fails when some other part of
// the pipeline is in error (CUE cannot list the names then): echo is true
// and the group is dropped, the cause being reported on its own.
func (l *loader) danglingRef(g *errGroup, pm *posMap, root cue.Value, positions []token.Pos) (d *diag.Diagnostic, echo bool) {
	pipeline, ok := isRefPath(g.path)
	if !ok || !root.Exists() {
		return nil, false
	}
	names := streamNames(root.LookupPath(cue.MakePath(cue.Str("pipelines"), cue.Str(pipeline))))
	for _, p := range positions {
		if !pm.isUser(p) {
			continue
		}
		r := pm.rng(p)
		src := l.file.Sources[r.Filename]
		n := literalLen(src, p.Offset())
		if n == 0 {
			continue
		}
		name, err := unquoteCUE(string(src[p.Offset() : p.Offset()+n]))
		if err != nil {
			continue
		}
		if contains(names, name) {
			return nil, true
		}
		detail := fmt.Sprintf("No node named %q in pipeline %q.", name, pipeline)
		if s := diag.DidYouMean(name, names); s != "" {
			detail += s
		} else if len(names) > 0 {
			detail += fmt.Sprintf(" Streams: %s.", quoteList(names))
		}
		d := diag.Errorf(diag.UnknownNode, r, "Unknown node", "%s", detail)
		d.Path = g.path
		return d, false
	}
	return nil, false
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// streamNames lists what a reference in pipeline p may name: sources,
// transforms, dead-letter streams and late outputs, sorted.
func streamNames(p cue.Value) []string {
	set := map[string]bool{}
	for _, sect := range []string{"sources", "transforms"} {
		it, err := p.LookupPath(cue.MakePath(cue.Str(sect))).Fields()
		if err != nil {
			continue
		}
		for it.Next() {
			set[it.Selector().Unquoted()] = true
			for _, ref := range []cue.Path{
				cue.MakePath(cue.Str("onError"), cue.Str("deadLetter")),
				cue.MakePath(cue.Str("lateOutput")),
			} {
				if s, err := it.Value().LookupPath(ref).String(); err == nil {
					set[s] = true
				}
			}
		}
	}
	return sortedKeys(set)
}

// badType recognises a record field whose type string is outside the
// grammar and reports BadTypeString at the offending byte.
func (l *loader) badType(g *errGroup, pm *posMap, msgs []string, positions []token.Pos) *diag.Diagnostic {
	hit := false
	for _, m := range msgs {
		if strings.Contains(m, typeMarker) {
			hit = true
			break
		}
	}
	if !hit {
		return nil
	}
	for _, p := range positions {
		if !pm.isUser(p) {
			continue
		}
		r := pm.rng(p)
		src := l.file.Sources[r.Filename]
		n := literalLen(src, p.Offset())
		if n == 0 {
			continue
		}
		text, err := unquoteCUE(string(src[p.Offset() : p.Offset()+n]))
		if err != nil {
			continue
		}
		e := pm.exprAt(text, p)
		detail := fmt.Sprintf("%q is not a type. Types: %s; nested records are structs.", text, rtype.Grammar)
		var pe *rtype.ParseError
		if _, err := rtype.Parse(text); err != nil && errors.As(err, &pe) {
			detail = fmt.Sprintf("%s.\nTypes: %s; nested records are structs.", strings.TrimSuffix(pe.Msg, "; expected one of "+rtype.Grammar), rtype.Grammar)
			r = e.RangeAt(pe.Offset, max(1, min(len(text)-pe.Offset, wordLen(text[min(pe.Offset, len(text)):]))))
		}
		d := diag.Errorf(diag.BadTypeString, r, "Bad type string", "%s", detail)
		d.Path = g.path
		return d
	}
	return nil
}

func wordLen(s string) int {
	n := 0
	for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= '0' && s[n] <= '9') {
		n++
	}
	return max(n, 1)
}
