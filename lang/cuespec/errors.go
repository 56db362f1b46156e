package cuespec

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/stdlib"
)

// typeMarker is a piece of the type grammar's regexp (stdlib/types.cue) by
// which a failed #Type constraint is recognised in CUE's message.
const typeMarker = "(?:string|bool|int32|int64|float32|float64|date|bytes|decimal"

// durationMarker likewise recognises a failed #Duration constraint.
const durationMarker = "(?:ns|us|µs|ms|s|m|h|d))+$"

// errGroup is the CUE errors of one path.
type errGroup struct {
	path []string
	errs []cueerrors.Error
}

// convertErr turns a CUE error (a list) into diagnostics. root is the
// evaluated package, used to list stream names for suggestions; def is the
// code of errors nothing more specific fits.
func (l *loader) convertErr(err error, pm *posMap, root cue.Value, def diag.Code) diag.Diagnostics {
	l.names = map[string][]string{} // of this root
	defer func() { l.names = nil }()
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
	var live []*errGroup
	for _, g := range groups {
		if visible == 0 || !hiddenPath(g.path) {
			live = append(live, g)
		}
	}
	// Recognised problems first; their ancestors (disjunction headers, the
	// struct of a failed alternative) only repeat them.
	out := make([]*diag.Diagnostic, len(live))
	handled := make([]bool, len(live))
	for i, g := range live {
		msgs, positions := l.collect(g, pm)
		d, echo := l.special(g, pm, root, msgs, positions)
		if d != nil || echo {
			out[i], handled[i] = d, true
		}
	}
	for i, g := range live {
		if handled[i] || !isWindowPath(g.path) {
			continue
		}
		if anyHandledBelow(live, handled, g.path) {
			continue
		}
		out[i], handled[i] = l.badWindow(g, live, pm), true
		for j, h := range live {
			if j != i && hasPrefix(h.path, g.path) {
				handled[j] = true
			}
		}
	}
	for i, g := range live {
		if handled[i] {
			continue
		}
		if anyHandledBelow(live, handled, g.path) {
			continue
		}
		msgs, positions := l.collect(g, pm)
		out[i] = l.generic(g, pm, root, def, msgs, positions)
	}
	var ds diag.Diagnostics
	for _, d := range out {
		if d != nil {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 && len(live) > 0 {
		// Every error was an echo; report the first one plainly.
		msgs, positions := l.collect(live[0], pm)
		ds = append(ds, l.generic(live[0], pm, root, def, msgs, positions))
	}
	return ds
}

// hasPrefix reports whether path starts with prefix (or equals it).
func hasPrefix(path, prefix []string) bool {
	if len(path) < len(prefix) {
		return false
	}
	for i := range prefix {
		if path[i] != prefix[i] {
			return false
		}
	}
	return true
}

// anyHandledBelow reports whether a handled group lies strictly below path.
func anyHandledBelow(groups []*errGroup, handled []bool, path []string) bool {
	for j, h := range groups {
		if handled[j] && len(h.path) > len(path) && hasPrefix(h.path, path) {
			return true
		}
	}
	return false
}

func isWindowPath(path []string) bool {
	return len(path) > 0 && path[len(path)-1] == "window"
}

// badWindow reports a window that matches none of the window kinds, at
// the first user position of it or its fields.
func (l *loader) badWindow(g *errGroup, groups []*errGroup, pm *posMap) *diag.Diagnostic {
	var positions []token.Pos
	for _, h := range groups {
		if hasPrefix(h.path, g.path) {
			_, p := l.collect(h, pm)
			positions = append(positions, p...)
		}
	}
	r := l.firstUser(pm, positions, g.path)
	d := diag.Errorf(diag.ConflictingValues, r, "Invalid window",
		"A window is exactly one of tumble: {size, offset?}, hop: {size, slide, offset?}, session: {gap} or cumulate: {step, size, offset?}, with durations such as \"5m\".")
	d.Path = g.path
	return d
}

// firstUser picks the subject of an error: the user's label of the
// deepest field on the error's path that the user wrote, or better, the
// first position CUE gives on that label's line after it (the value); else
// the first user position; else the first position.
func (l *loader) firstUser(pm *posMap, positions []token.Pos, path []string) diag.Range {
	for n := len(path); n > 0; n-- {
		key := "\x00" + strings.Join(path[:n], "\x00")
		lp, ok := pm.byPath[key]
		if !ok {
			continue
		}
		best := token.NoPos
		for _, p := range positions {
			if pm.isUser(p) && p.Filename() == lp.Filename() && p.Line() == lp.Line() && p.Offset() > lp.Offset() &&
				(!best.IsValid() || p.Offset() < best.Offset()) {
				best = p
			}
		}
		if best.IsValid() {
			return pm.rng(best)
		}
		return pm.labelRange(lp, labelLen(pm, lp, path[n-1]))
	}
	for _, p := range positions {
		if pm.isUser(p) {
			return pm.rng(p)
		}
	}
	if len(positions) > 0 {
		return pm.rng(positions[0])
	}
	return diag.Range{}
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

// special recognises the problems reported in rtsapc's own words; echo
// means the group only repeats a problem reported elsewhere.
func (l *loader) special(g *errGroup, pm *posMap, root cue.Value, msgs []string, positions []token.Pos) (*diag.Diagnostic, bool) {
	if d, echo := l.danglingRef(g, pm, root, positions); d != nil || echo {
		return d, echo
	}
	if d := l.badType(g, pm, msgs, positions); d != nil {
		return d, false
	}
	if d := l.badDuration(g, pm, msgs, positions); d != nil {
		return d, false
	}
	return nil, false
}

// collect returns the distinct messages and positions of a group, user
// positions first.
func (l *loader) collect(g *errGroup, pm *posMap) ([]string, []token.Pos) {
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
			if pm.isUser(p) {
				pm.loader.addSource(pm, p.Filename())
			}
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

func (l *loader) generic(g *errGroup, pm *posMap, root cue.Value, def diag.Code, msgs []string, positions []token.Pos) *diag.Diagnostic {
	// Drop disjunction headers and the failures of alternatives that were
	// never meant (a list where the schema also allows a string), keeping
	// at least one message; shorten regexp dumps.
	var body []string
	for _, m := range msgs {
		if isNoise(m) {
			continue
		}
		body = append(body, shortenRegexps(m))
	}
	if len(body) == 0 && len(msgs) > 0 {
		body = []string{shortenRegexps(msgs[len(msgs)-1])}
	}
	code, summary := classify(body, def)
	r := l.firstUser(pm, positions, g.path)
	path := pathString(g.path)
	detail := strings.Join(body, "\n")
	switch {
	case code == diag.ConflictingValues && enumDetail(path, body) != "":
		detail = enumDetail(path, body)
	case code == diag.ConflictingValues && strings.Contains(detail, `kind:"secret"`):
		detail = path + ": a secret is a reference, never a value: write rtsap.#Secret & {name: \"<Kubernetes Secret>\", key: \"<key>\"}."
	case code == diag.UnknownSpecField && len(g.path) > 0:
		name := g.path[len(g.path)-1]
		allowed := allowedFields(root, g.path[:len(g.path)-1], name)
		detail = fmt.Sprintf("%s: the schema has no field %q here.%s", path, name, diag.DidYouMean(name, allowed))
	case strings.Contains(detail, "does not satisfy matchN") && len(g.path) > 0 &&
		(g.path[len(g.path)-1] == "onExit" || len(g.path) > 1 && g.path[len(g.path)-2] == "steps"):
		detail = path + ": a step runs either a pipeline (pipeline: \"name\") or a container (container: {image: …}), not both."
	case strings.Contains(detail, "does not satisfy matchN"):
		detail = path + ": the value matches none or several of the allowed shapes."
	case importDetail(detail) != "":
		detail = importDetail(detail)
	case code == diag.IncompleteValue && (strings.Contains(detail, "field is required but not present") || strings.HasPrefix(detail, "incomplete value")):
		detail = path + " is required: set it."
	default:
		if path != "" {
			detail = path + ": " + detail
		}
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

var posPrefix = regexp.MustCompile(`\S+\.cue:\d+:\d+: `)

func errMsg(e cueerrors.Error) string {
	format, args := e.Msg()
	if format == "" || format == "import failed" {
		// The cause is in the wrapped error's text.
		return posPrefix.ReplaceAllString(e.Error(), "")
	}
	return fmt.Sprintf(format, args...)
}

var missingPkg = regexp.MustCompile(`cannot find package "(` + regexp.QuoteMeta(stdlib.Module) + `[^"]*)"`)

// importDetail explains an import of a stdlib package that does not exist.
func importDetail(msg string) string {
	m := missingPkg.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	pkgs := stdlibPackages()
	return fmt.Sprintf("No package %q in the rtsap schema.%s Packages: %s.", m[1], diag.DidYouMean(m[1], pkgs), strings.Join(pkgs, ", "))
}

// stdlibPackages lists the import paths of the embedded schema.
func stdlibPackages() []string {
	set := map[string]bool{}
	_ = fs.WalkDir(stdlib.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".cue") && !strings.HasPrefix(p, "cue.mod/") {
			dir := path.Dir(p)
			if dir == "." {
				set[stdlib.Module] = true
			} else {
				set[stdlib.Module+"/"+dir] = true
			}
		}
		return nil
	})
	return sortedKeys(set)
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
	names, ok := l.names[pipeline]
	if !ok {
		// Once per pipeline: with a source in error, every reference of a
		// 1,000-node pipeline fails and comes here.
		names = streamNames(root.LookupPath(cue.MakePath(cue.Str("pipelines"), cue.Str(pipeline))))
		l.names[pipeline] = names
	}
	for _, p := range positions {
		if !pm.isUser(p) {
			continue
		}
		r := pm.rng(p)
		src := l.file.Sources[r.Filename]
		n := literalLen(src, r.Start.Byte)
		if n == 0 {
			continue
		}
		name, err := unquoteCUE(string(src[r.Start.Byte : r.Start.Byte+n]))
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
			if it.Selector().LabelType() != cue.StringLabel {
				continue
			}
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
	r, text, ok := l.userLiteral(pm, positions)
	if !ok {
		// Not a string at all (size: 64): point at the literal, not at a
		// reference to the record.
		r := l.firstUser(pm, positions, g.path)
		for _, p := range positions {
			if pm.isUser(p) && isValueLiteral(l.file.Sources[pm.display(p.Filename())], pm.off(p)) {
				r = pm.rng(p)
				break
			}
		}
		d := diag.Errorf(diag.BadTypeString, r, "Bad type string",
			"A record field is a type string or a nested record struct. Types: %s.", rtype.Grammar)
		d.Path = g.path
		return d
	}
	p := positionAt(positions, pm, r)
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

func wordLen(s string) int {
	n := 0
	for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z' || s[n] >= '0' && s[n] <= '9') {
		n++
	}
	return max(n, 1)
}

// badDuration recognises a duration string outside the #Duration grammar.
func (l *loader) badDuration(g *errGroup, pm *posMap, msgs []string, positions []token.Pos) *diag.Diagnostic {
	hit := false
	for _, m := range msgs {
		if strings.Contains(m, durationMarker) && strings.Contains(m, "out of bound") {
			hit = true
			break
		}
	}
	if !hit {
		return nil
	}
	r, text, ok := l.userLiteral(pm, positions)
	if !ok {
		return nil
	}
	d := diag.Errorf(diag.BadDuration, r, "Bad duration",
		"%q is not a duration: write numbers with units ns, us, ms, s, m, h, d, such as \"250ms\", \"5m\" or \"1h30m\".", text)
	d.Path = g.path
	return d
}

// userLiteral returns the first string literal among the user positions.
func (l *loader) userLiteral(pm *posMap, positions []token.Pos) (diag.Range, string, bool) {
	for _, p := range positions {
		if !pm.isUser(p) {
			continue
		}
		r := pm.rng(p)
		src := l.file.Sources[r.Filename]
		n := literalLen(src, r.Start.Byte)
		if n == 0 {
			continue
		}
		text, err := unquoteCUE(string(src[r.Start.Byte : r.Start.Byte+n]))
		if err != nil {
			continue
		}
		return r, text, true
	}
	return diag.Range{}, "", false
}

var conflictRE = regexp.MustCompile(`^conflicting values ("(?:[^"\\]|\\.)*") and ("(?:[^"\\]|\\.)*")$`)

// enumDetail rewrites the dump of a string outside an enumeration
// (conflicting values "beam" and "flinkk", …) as the list of allowed
// values with a suggestion, or returns "".
func enumDetail(path string, msgs []string) string {
	var allowed []string
	bad := ""
	for _, m := range msgs {
		sm := conflictRE.FindStringSubmatch(m)
		if sm == nil {
			return ""
		}
		a, err1 := strconv.Unquote(sm[1])
		b, err2 := strconv.Unquote(sm[2])
		if err1 != nil || err2 != nil || (bad != "" && b != bad) {
			return ""
		}
		bad = b
		allowed = append(allowed, a)
	}
	if len(allowed) < 2 {
		return ""
	}
	sort.Strings(allowed)
	return fmt.Sprintf("%q is not allowed: %s is one of %s.%s", bad, path, quoteList(allowed), diag.DidYouMean(bad, allowed))
}

// allowedFields lists the fields the schema defines at path (required and
// optional ones too), other than bad.
func allowedFields(root cue.Value, path []string, bad string) []string {
	if !root.Exists() {
		return nil
	}
	sels := make([]cue.Selector, len(path))
	for i, p := range path {
		if strings.HasPrefix(p, "#") {
			sels[i] = cue.Def(p)
		} else if n, err := strconv.Atoi(p); err == nil {
			sels[i] = cue.Index(n)
		} else {
			sels[i] = cue.Str(p)
		}
	}
	v := root.LookupPath(cue.MakePath(sels...))
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var out []string
	for it.Next() {
		if it.Selector().LabelType() != cue.StringLabel {
			continue
		}
		if n := it.Selector().Unquoted(); n != bad {
			out = append(out, n)
		}
	}
	return out
}

// isNoise reports messages that only echo the failed alternatives of a
// disjunction.
func isNoise(m string) bool {
	return strings.Contains(m, "errors in empty disjunction") ||
		strings.Contains(m, "_|_(cycle error)") ||
		strings.Contains(m, "(mismatched types list and string)") ||
		strings.Contains(m, "(mismatched types string and list)")
}

var longRegexp = regexp.MustCompile(`=~"(?:[^"\\]|\\.){100,}"`)

// shortenRegexps replaces regexps of more than 100 bytes (the type
// grammar, the stream names of a pipeline) by an ellipsis.
func shortenRegexps(m string) string {
	return longRegexp.ReplaceAllString(m, `=~"…"`)
}

// positionAt returns the position among positions that r starts at.
func positionAt(positions []token.Pos, pm *posMap, r diag.Range) token.Pos {
	for _, p := range positions {
		if pm.isUser(p) && pm.display(p.Filename()) == r.Filename && pm.off(p) == r.Start.Byte {
			return p
		}
	}
	return token.NoPos
}

// isValueLiteral reports whether a number, list, bool or null literal
// starts at off.
func isValueLiteral(src []byte, off int) bool {
	if off < 0 || off >= len(src) {
		return false
	}
	c := src[off]
	if c >= '0' && c <= '9' || c == '-' || c == '[' || c == '.' {
		return true
	}
	for _, w := range []string{"true", "false", "null"} {
		if strings.HasPrefix(string(src[off:min(len(src), off+len(w)+1)]), w) {
			end := off + len(w)
			if end >= len(src) || !(src[end] == '_' || src[end] >= 'a' && src[end] <= 'z' || src[end] >= 'A' && src[end] <= 'Z' || src[end] >= '0' && src[end] <= '9') {
				return true
			}
		}
	}
	return false
}

// pathString renders a CUE path for messages; labels that are not plain
// identifiers are quoted, so user names never reach a terminal raw.
func pathString(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = quoteName(p)
	}
	return strings.Join(parts, ".")
}
