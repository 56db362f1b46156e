package nifi

import "strings"

// Literal returns s as a NiFi property value that NiFi reads back as exactly
// s: neither a parameter reference nor Expression Language.
//
// NiFi parses "#{name}" as a parameter reference in every property, and
// "${…}" as Expression Language in properties that support it. Both are
// escaped by doubling the run of '#' or '$' right before the '{' (NiFi user
// guide, "Parameter Reference Syntax"; Expression Language guide, "Escaping
// Expression Language": "$${abc}" is "${abc}", "$$$${abc}" is "$${abc}").
// NiFi unescapes only when a closing '}' follows, so a run with no '}' after
// it is left alone ("Unescaped $$${5 because no closing brace").
//
// el says whether the property supports Expression Language: in one that
// does not, "$" is never special and doubling it would change the value.
func Literal(s string, el bool) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '#' && !(el && c == '$') {
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == c {
			j++
		}
		run := s[i:j]
		b.WriteString(run)
		if j < len(s) && s[j] == '{' && strings.IndexByte(s[j+1:], '}') >= 0 {
			b.WriteString(run) // double the run: every pair reads back as one
		}
		i = j
	}
	return b.String()
}

// Unliteral inverts Literal the way NiFi reads a property value (tests use it
// to check that every value round-trips).
func Unliteral(s string, el bool) string {
	if !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '#' && !(el && c == '$') {
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == c {
			j++
		}
		n := j - i
		if j < len(s) && s[j] == '{' && strings.IndexByte(s[j+1:], '}') >= 0 {
			if n%2 == 1 {
				// An odd run starts a reference: not something Literal makes.
				b.WriteString(strings.Repeat(string(c), n/2))
				b.WriteString("\x00REF")
			} else {
				b.WriteString(strings.Repeat(string(c), n/2))
			}
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

// HasReference reports whether a property value, as NiFi reads it, contains
// a parameter reference or (when el) an Expression Language expression.
func HasReference(s string, el bool) bool {
	return strings.Contains(Unliteral(s, el), "\x00REF")
}
