package rtype

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseError is a type string that does not follow the grammar. Offset is
// the byte offset in the string of the first bad token, so front-ends can
// point at it.
type ParseError struct {
	Offset int
	Msg    string
}

func (e *ParseError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// Grammar is the type grammar, for messages and docs.
const Grammar = "string | bool | int32 | int64 | float32 | float64 | decimal(p,s) | timestamp(p) | date | bytes | list<T> | map<string,T>"

// Parse parses a column type of the spec grammar:
//
//	type = "string" | "bool" | "int32" | "int64" | "float32" | "float64"
//	     | "decimal(" p "," s ")" | "timestamp(" p ")" | "timestamp" | "date" | "bytes"
//	     | "list<" type ">" | "map<string," type ">"
//
// Spaces are allowed between tokens. "timestamp" alone is timestamp(3).
// Nested records are not written as strings: the front-end builds them from
// nested struct values with [RecordOf].
func Parse(s string) (*Type, error) {
	p := &parser{s: s}
	t := p.typ()
	if p.err != nil {
		return nil, p.err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, &ParseError{p.i, fmt.Sprintf("unexpected %q after type", p.s[p.i:])}
	}
	return t, nil
}

type parser struct {
	s   string
	i   int
	err *ParseError
}

func (p *parser) fail(off int, format string, args ...any) *Type {
	if p.err == nil {
		p.err = &ParseError{off, fmt.Sprintf(format, args...)}
	}
	return InvalidType
}

func (p *parser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) word() (string, int) {
	p.space()
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], start
}

func (p *parser) expect(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	got := "end of string"
	if p.i < len(p.s) {
		got = strconv.Quote(p.s[p.i : p.i+1])
	}
	p.fail(p.i, "expected %q, found %s", string(c), got)
	return false
}

func (p *parser) int(lo, hi int, what string) int {
	p.space()
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	if start == p.i {
		p.fail(start, "expected %s (a number)", what)
		return 0
	}
	n, err := strconv.Atoi(p.s[start:p.i])
	if err != nil || n < lo || n > hi {
		p.fail(start, "%s must be between %d and %d, not %s", what, lo, hi, p.s[start:p.i])
		return 0
	}
	return n
}

func (p *parser) typ() *Type {
	w, at := p.word()
	switch w {
	case "string":
		return StringType
	case "bool":
		return BoolType
	case "int32":
		return Int32Type
	case "int64":
		return Int64Type
	case "float32":
		return Float32Type
	case "float64":
		return Float64Type
	case "date":
		return DateType
	case "bytes":
		return BytesType
	case "decimal":
		if !p.expect('(') {
			return InvalidType
		}
		prec := p.int(1, 38, "decimal precision")
		if !p.expect(',') {
			return InvalidType
		}
		sAt := p.i
		scale := p.int(0, 38, "decimal scale")
		if p.err == nil && scale > prec {
			return p.fail(sAt, "decimal scale %d exceeds precision %d", scale, prec)
		}
		if !p.expect(')') {
			return InvalidType
		}
		return DecimalOf(prec, scale)
	case "timestamp":
		p.space()
		if p.i < len(p.s) && p.s[p.i] == '(' {
			p.i++
			prec := p.int(0, 9, "timestamp precision")
			if !p.expect(')') {
				return InvalidType
			}
			return TimestampOf(prec)
		}
		return TimestampMillis
	case "list":
		if !p.expect('<') {
			return InvalidType
		}
		e := p.typ()
		if !p.expect('>') {
			return InvalidType
		}
		return ListOf(e)
	case "map":
		if !p.expect('<') {
			return InvalidType
		}
		k, kAt := p.word()
		if k != "string" {
			return p.fail(kAt, "map keys must be string, not %q", k)
		}
		if !p.expect(',') {
			return InvalidType
		}
		e := p.typ()
		if !p.expect('>') {
			return InvalidType
		}
		return MapOf(e)
	case "":
		if at >= len(p.s) {
			return p.fail(at, "missing type; expected one of %s", Grammar)
		}
		return p.fail(at, "unexpected %q; expected one of %s", p.s[at:at+1], Grammar)
	}
	msg := fmt.Sprintf("unknown type %q; expected one of %s", w, Grammar)
	if s := suggestKind(w); s != "" {
		msg = fmt.Sprintf("unknown type %q (did you mean %q?); expected one of %s", w, s, Grammar)
	}
	p.fail(at, "%s", msg)
	return InvalidType
}

func suggestKind(w string) string {
	lw := strings.ToLower(w)
	for _, k := range []string{"string", "bool", "int32", "int64", "float32", "float64", "decimal", "timestamp", "date", "bytes", "list", "map"} {
		if lw == k {
			return k
		}
	}
	switch lw {
	case "int", "integer", "long", "bigint":
		return "int64"
	case "float", "double", "real":
		return "float64"
	case "boolean":
		return "bool"
	case "str", "text", "varchar":
		return "string"
	case "datetime", "time":
		return "timestamp(3)"
	}
	return ""
}
