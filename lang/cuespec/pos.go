package cuespec

import (
	"path/filepath"
	"strings"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"

	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
	"rtsap.dev/rtsapc/stdlib"
)

// posMap turns CUE positions into diagnostic ranges and finds the labels of
// fields. CUE reports the position of a value (for a string, its literal;
// for a struct, often the schema's), so labels are found from the user's
// syntax trees: by static path (pipelines.vwap.transforms.bars) and by the
// offset of a field's value (for fields reached through a definition such
// as #Trade).
type posMap struct {
	loader *loader
	root   string
	// byPath: "\x00"-joined static label path → label position.
	byPath map[string]token.Pos
	// byValue: filename + value offset → label position.
	byValue map[valueKey]token.Pos
	// lines caches lineStarts by file name.
	lines map[string]lineIndex
}

type valueKey struct {
	file string
	off  int
}

// display is the name of a file in ranges: user files relative to the
// working directory, schema files as rtsap.dev/rtsap/….
func (pm *posMap) display(filename string) string {
	if filename == "" {
		return ""
	}
	slash := filepath.ToSlash(filename)
	if i := strings.Index(slash, "/"+schemaPkgDir+"/"); i >= 0 {
		return stdlib.Module + "/" + slash[i+len("/"+schemaPkgDir+"/"):]
	}
	// Relative to the working directory when inside it, else absolute.
	if rel, err := filepath.Rel(pm.loader.cfg.Dir, filename); err == nil {
		if rel = filepath.ToSlash(rel); rel != ".." && !strings.HasPrefix(rel, "../") {
			return rel
		}
	}
	return slash
}

// isUser reports whether a position is in a user file.
func (pm *posMap) isUser(p token.Pos) bool {
	if !p.IsValid() || p.Filename() == "" {
		return false
	}
	return !strings.Contains(filepath.ToSlash(p.Filename()), "/cue.mod/")
}

// pos converts a CUE position.
func (pm *posMap) pos(p token.Pos) diag.Pos {
	if !p.IsValid() {
		return diag.Pos{}
	}
	if src, starts := pm.lineStarts(p.Filename()); starts != nil {
		// The byte offset from CUE's line and column: after an invalid
		// UTF-8 byte CUE's offsets count it as the three bytes of U+FFFD
		// and drift from the file's, while its lines and columns do not.
		line, col := p.Line(), p.Column()
		if line < 1 || line > len(starts) {
			return endPos(src, starts)
		}
		end := len(src)
		if line < len(starts) {
			end = starts[line] - 1 // the newline
		}
		b := min(max(starts[line-1]+col-1, starts[line-1]), end)
		return diag.Pos{Line: line, Column: b - starts[line-1] + 1, Byte: b}
	}
	return diag.Pos{Line: p.Line(), Column: p.Column(), Byte: p.Offset()}
}

// off is the byte offset of p in its file (see pos).
func (pm *posMap) off(p token.Pos) int { return pm.pos(p).Byte }

// endPos is the position just past the last byte.
func endPos(src []byte, starts []int) diag.Pos {
	last := starts[len(starts)-1]
	return diag.Pos{Line: len(starts), Column: len(src) - last + 1, Byte: len(src)}
}

// lineStarts returns the bytes of a user file and the offsets at which
// its lines start; nil when its bytes are unknown. Cached by CUE's file
// name: it is asked for every position.
func (pm *posMap) lineStarts(filename string) ([]byte, []int) {
	if li, ok := pm.lines[filename]; ok {
		return li.src, li.starts
	}
	var li lineIndex
	name := pm.display(filename)
	if strings.HasPrefix(name, stdlib.Module+"/") {
		// Schema files have no bytes here, ever.
		if pm.lines == nil {
			pm.lines = map[string]lineIndex{}
		}
		pm.lines[filename] = li
		return nil, nil
	}
	if src, ok := pm.loader.file.Sources[name]; ok {
		li.src, li.starts = src, []int{0}
		for i, c := range src {
			if c == '\n' {
				li.starts = append(li.starts, i+1)
			}
		}
		// Only a known file is cached: its bytes may be added later.
		if pm.lines == nil {
			pm.lines = map[string]lineIndex{}
		}
		pm.lines[filename] = li
	}
	return li.src, li.starts
}

// lineIndex is the bytes of a user file and where its lines start.
type lineIndex struct {
	src    []byte
	starts []int
}

// rng is the range starting at p; for a string literal in a user file it
// spans the literal.
func (pm *posMap) rng(p token.Pos) diag.Range {
	if !p.IsValid() {
		return diag.Range{}
	}
	r := diag.Range{Filename: pm.display(p.Filename()), Start: pm.pos(p)}
	r.End = r.Start
	if src, ok := pm.loader.file.Sources[r.Filename]; ok {
		if r.Start.Byte > len(src) {
			// CUE places errors at end of input one past the last byte.
			r.Start = advance(src, diag.Pos{Line: 1, Column: 1}, len(src))
			r.End = r.Start
			return r
		}
		if n := literalLen(src, r.Start.Byte); n > 0 {
			r.End = advance(src, r.Start, n)
		} else if n := tokenLen(src, r.Start.Byte); n > 0 {
			r.End = advance(src, r.Start, n)
		}
	}
	return r
}

// tokenLen is the length of the number or identifier at off (0 if none).
func tokenLen(src []byte, off int) int {
	i := off
	if i < len(src) && src[i] == '-' {
		i++
	}
	for i < len(src) {
		c := src[i]
		if c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			i++
			continue
		}
		break
	}
	if i == off+1 && src[off] == '-' {
		return 0
	}
	return i - off
}

// labelRange is the range of a label; n is its length.
func (pm *posMap) labelRange(p token.Pos, n int) diag.Range {
	r := diag.Range{Filename: pm.display(p.Filename()), Start: pm.pos(p)}
	r.End = r.Start
	r.End.Column += n
	r.End.Byte += n
	return r
}

// index records the labels of f.
func (pm *posMap) index(f *ast.File) {
	if pm.byPath == nil {
		pm.byPath = map[string]token.Pos{}
		pm.byValue = map[valueKey]token.Pos{}
	}
	pm.walkDecls(f.Decls, "")
}

func (pm *posMap) walkDecls(decls []ast.Decl, prefix string) {
	for _, d := range decls {
		switch x := d.(type) {
		case *ast.Field:
			name, ok := labelName(x.Label)
			if !ok {
				continue
			}
			key := prefix + "\x00" + name
			if _, dup := pm.byPath[key]; !dup {
				pm.byPath[key] = x.Label.Pos()
			}
			if x.Value != nil {
				vp := x.Value.Pos()
				if vp.IsValid() {
					pm.byValue[valueKey{vp.Filename(), vp.Offset()}] = x.Label.Pos()
				}
				pm.walkExpr(x.Value, key)
			}
		case *ast.EmbedDecl:
			pm.walkExpr(x.Expr, prefix)
		}
	}
}

func (pm *posMap) walkExpr(e ast.Expr, prefix string) {
	switch x := e.(type) {
	case *ast.StructLit:
		pm.walkDecls(x.Elts, prefix)
	case *ast.BinaryExpr:
		if x.Op == token.AND {
			pm.walkExpr(x.X, prefix)
			pm.walkExpr(x.Y, prefix)
		}
	case *ast.ParenExpr:
		pm.walkExpr(x.X, prefix)
	case *ast.ListLit:
		for i, el := range x.Elts {
			pm.walkExpr(el, prefix+"\x00"+itoa(i))
		}
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// labelName is the name of a static label.
func labelName(l ast.Label) (string, bool) {
	switch x := l.(type) {
	case *ast.Ident:
		return x.Name, true
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := unquoteCUE(x.Value)
		if err != nil {
			return "", false
		}
		return s, true
	}
	return "", false
}

// pathKey is the byPath key of a value's path.
func pathKey(v cue.Value) string {
	var b strings.Builder
	for _, s := range v.Path().Selectors() {
		b.WriteByte(0)
		switch {
		case s.LabelType() == cue.StringLabel:
			b.WriteString(s.Unquoted())
		case s.Type() == cue.IndexLabel:
			b.WriteString(itoa(s.Index()))
		default:
			b.WriteString(s.String())
		}
	}
	return b.String()
}

// labelOf returns the range of the label of the field holding v: from the
// user's syntax by path, then by the value's position; else the value's
// own position.
func (pm *posMap) labelOf(v cue.Value, name string) diag.Range {
	if p, ok := pm.byPath[pathKey(v)]; ok {
		return pm.labelRange(p, labelLen(pm, p, name))
	}
	vp := v.Pos()
	if vp.IsValid() {
		if p, ok := pm.byValue[valueKey{vp.Filename(), vp.Offset()}]; ok {
			return pm.labelRange(p, labelLen(pm, p, name))
		}
	}
	return pm.rng(vp)
}

// labelLen is the length of the label at p: a quoted label spans its quotes.
func labelLen(pm *posMap, p token.Pos, name string) int {
	if src, ok := pm.loader.file.Sources[pm.display(p.Filename())]; ok {
		if n := literalLen(src, pm.off(p)); n > 0 {
			return n
		}
	}
	return len(name)
}

// advance moves pos over n bytes of src starting at pos.Byte.
func advance(src []byte, p diag.Pos, n int) diag.Pos {
	for i := 0; i < n && p.Byte < len(src); i++ {
		if src[p.Byte] == '\n' {
			p.Line++
			p.Column = 1
		} else {
			p.Column++
		}
		p.Byte++
	}
	return p
}

// literalLen returns the length of the CUE string literal starting at off in
// src ("…", """…""", #"…"#, '…'), or 0 if none starts there.
func literalLen(src []byte, off int) int {
	if off < 0 || off >= len(src) {
		return 0
	}
	i := off
	hashes := 0
	for i < len(src) && src[i] == '#' {
		hashes++
		i++
	}
	if i >= len(src) || (src[i] != '"' && src[i] != '\'') {
		return 0
	}
	q := src[i]
	multi := i+2 < len(src) && src[i+1] == q && src[i+2] == q
	closing := string(q)
	if multi {
		closing = strings.Repeat(string(q), 3)
		i += 3
	} else {
		i++
	}
	closing += strings.Repeat("#", hashes)
	esc := "\\" + strings.Repeat("#", hashes)
	for i < len(src) {
		if strings.HasPrefix(string(src[i:min(len(src), i+len(esc))]), esc) {
			i += len(esc) + 1
			continue
		}
		if !multi && src[i] == '\n' {
			return 0
		}
		if strings.HasPrefix(string(src[i:min(len(src), i+len(closing))]), closing) {
			return i + len(closing) - off
		}
		i++
	}
	return 0
}

// exprAt builds the spec.Expr of a string value whose literal starts at p,
// with spans when the literal's bytes are not one-to-one with the text.
func (pm *posMap) exprAt(text string, p token.Pos) spec.Expr {
	e := spec.Expr{Text: text}
	if !p.IsValid() {
		return e
	}
	e.Range = pm.rng(p)
	src, ok := pm.loader.file.Sources[e.Range.Filename]
	if !ok {
		// A schema literal (finance expansion): no bytes to map.
		e.QuoteLen = 1
		return e
	}
	n := literalLen(src, e.Range.Start.Byte)
	if n == 0 {
		e.QuoteLen = 1
		return e
	}
	lit := string(src[e.Range.Start.Byte : e.Range.Start.Byte+n])
	spans, quoteLen, decoded, ok := mapLiteral(lit, e.Range.Start)
	e.QuoteLen = quoteLen
	if !ok || decoded != text {
		// An interpolation or a literal we cannot map: every byte points at
		// the opening quote rather than at a wrong column.
		e.Spans = make([]spec.Span, len(text))
		for i := range e.Spans {
			e.Spans[i] = spec.Span{Off: i, Pos: e.Range.Start}
		}
		return e
	}
	if spans != nil {
		e.Spans = spans
	}
	return e
}

// mapLiteral decodes a CUE string literal starting at start and returns the
// spans mapping offsets of the decoded text to file positions (nil when
// the text sits one-to-one after the opening quote), the opening delimiter
// length, and the decoded text.
func mapLiteral(lit string, start diag.Pos) (spans []spec.Span, quoteLen int, text string, ok bool) {
	hashes := 0
	for hashes < len(lit) && lit[hashes] == '#' {
		hashes++
	}
	if hashes >= len(lit) {
		return nil, 0, "", false
	}
	q := lit[hashes]
	multi := strings.HasPrefix(lit[hashes:], strings.Repeat(string(q), 3))
	qn := 1
	if multi {
		qn = 3
	}
	quoteLen = hashes + qn
	body := lit[quoteLen : len(lit)-qn-hashes]
	bodyStart := start
	bodyStart.Column += quoteLen
	bodyStart.Byte += quoteLen
	esc := "\\" + strings.Repeat("#", hashes)

	// For multi-line strings: the body starts after a newline, and every
	// line loses the closing line's indentation.
	indent := ""
	if multi {
		nl := strings.IndexByte(body, '\n')
		last := strings.LastIndexByte(body, '\n')
		if nl < 0 || last < 0 {
			return nil, quoteLen, "", false
		}
		indent = body[last+1:]
		if strings.Trim(indent, " \t") != "" {
			return nil, quoteLen, "", false
		}
		body = body[:last]
	}

	var out strings.Builder
	pos := bodyStart
	// bump moves the file position over raw bytes.
	bump := func(raw string) {
		for i := 0; i < len(raw); i++ {
			if raw[i] == '\n' {
				pos.Line++
				pos.Column = 1
			} else {
				pos.Column++
			}
			pos.Byte++
		}
	}
	needSpans := multi
	addSpan := func() {
		spans = append(spans, spec.Span{Off: out.Len(), Pos: pos})
	}
	i := 0
	if multi {
		// skip the first newline and the indentation of the first line
		nl := strings.IndexByte(body, '\n')
		bump(body[:nl+1])
		i = nl + 1
		if !strings.HasPrefix(body[i:], indent) && i < len(body) {
			return nil, quoteLen, "", false
		}
		bump(indent)
		i += len(indent)
		addSpan()
	}
	for i < len(body) {
		if multi && body[i] == '\n' {
			out.WriteByte('\n')
			bump("\n")
			i++
			if strings.HasPrefix(body[i:], indent) {
				bump(indent)
				i += len(indent)
			} else if rest := strings.TrimLeft(body[i:], " \t"); !strings.HasPrefix(rest, "\n") && rest != "" {
				return nil, quoteLen, "", false
			}
			addSpan()
			continue
		}
		if strings.HasPrefix(body[i:], esc) && i+len(esc) < len(body) {
			r, n, ok := decodeEscape(body[i+len(esc):], q)
			if !ok {
				return nil, quoteLen, "", false
			}
			if body[i+len(esc)] == '\n' && multi {
				// line continuation: nothing is written
				bump(body[i : i+len(esc)+n])
				i += len(esc) + n
				addSpan()
				continue
			}
			needSpans = true
			// Every byte an escape produces maps to its backslash.
			if n := len(spans); n > 0 && spans[n-1].Off == out.Len() {
				spans = spans[:n-1]
			}
			for j := 0; j < len(r); j++ {
				spans = append(spans, spec.Span{Off: out.Len() + j, Pos: pos})
			}
			out.WriteString(r)
			bump(body[i : i+len(esc)+n])
			i += len(esc) + n
			addSpan()
			continue
		}
		_, size := utf8.DecodeRuneInString(body[i:])
		out.WriteString(body[i : i+size])
		bump(body[i : i+size])
		i += size
	}
	if !needSpans {
		spans = nil
	} else if len(spans) == 0 || spans[0].Off != 0 {
		spans = append([]spec.Span{{Off: 0, Pos: bodyStart}}, spans...)
	}
	return spans, quoteLen, out.String(), true
}

// decodeEscape decodes the escape after a backslash: it returns the
// decoded bytes and the number of bytes consumed after the backslash.
func decodeEscape(s string, q byte) (string, int, bool) {
	if s == "" {
		return "", 0, false
	}
	switch c := s[0]; c {
	case 'a':
		return "\a", 1, true
	case 'b':
		return "\b", 1, true
	case 'f':
		return "\f", 1, true
	case 'n':
		return "\n", 1, true
	case 'r':
		return "\r", 1, true
	case 't':
		return "\t", 1, true
	case 'v':
		return "\v", 1, true
	case '\\', '/':
		return string(c), 1, true
	case '"', '\'':
		return string(c), 1, true
	case '\n':
		return "", 1, true
	case 'u', 'U', 'x':
		n := map[byte]int{'u': 4, 'U': 8, 'x': 2}[c]
		if len(s) < 1+n {
			return "", 0, false
		}
		var r rune
		for _, h := range s[1 : 1+n] {
			d, ok := hexVal(byte(h))
			if !ok {
				return "", 0, false
			}
			r = r<<4 | rune(d)
		}
		if c == 'x' {
			return string([]byte{byte(r)}), 1 + n, true
		}
		if !utf8.ValidRune(r) {
			return "", 0, false
		}
		return string(r), 1 + n, true
	case '(':
		return "", 0, false // interpolation
	}
	if s[0] >= '0' && s[0] <= '7' && len(s) >= 3 {
		v := 0
		for _, d := range s[:3] {
			if d < '0' || d > '7' {
				return "", 0, false
			}
			v = v*8 + int(d-'0')
		}
		if v > 255 {
			return "", 0, false
		}
		return string([]byte{byte(v)}), 3, true
	}
	return "", 0, false
}

func hexVal(b byte) (int, bool) {
	switch {
	case b >= '0' && b <= '9':
		return int(b - '0'), true
	case b >= 'a' && b <= 'f':
		return int(b-'a') + 10, true
	case b >= 'A' && b <= 'F':
		return int(b-'A') + 10, true
	}
	return 0, false
}

// unquoteCUE decodes a string literal without positions.
func unquoteCUE(lit string) (string, error) {
	_, _, s, ok := mapLiteral(lit, diag.Pos{Line: 1, Column: 1})
	if !ok {
		return literal.Unquote(lit)
	}
	return s, nil
}

// atValue returns the position of the string literal of a field when p is
// its label instead (`where: "…"`): CUE gives the label's position for
// values unified with a definition after the fact (a pipeline written
// without rtsap.#Pipeline), and expression columns count from the literal.
// Any other p is returned as is.
func (pm *posMap) atValue(p token.Pos) token.Pos {
	if !pm.isUser(p) {
		return p
	}
	src, ok := pm.loader.file.Sources[pm.display(p.Filename())]
	off := pm.off(p)
	if !ok || off < 0 || off >= len(src) || literalLen(src, off) > 0 {
		return p
	}
	i := off
	for i < len(src) && (src[i] == '_' || src[i] == '$' || src[i] == '#' || src[i] >= '0' && src[i] <= '9' ||
		src[i] >= 'a' && src[i] <= 'z' || src[i] >= 'A' && src[i] <= 'Z') {
		i++
	}
	if i == off {
		return p
	}
	if i < len(src) && (src[i] == '?' || src[i] == '!') {
		i++
	}
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	if i >= len(src) || src[i] != ':' {
		return p
	}
	i++
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	if literalLen(src, i) == 0 {
		return p
	}
	return p.Add(i - off)
}
