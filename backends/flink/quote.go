package flink

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// ident quotes a Flink SQL identifier: backticks, with a backtick doubled.
// Every identifier is quoted, keywords or not, so user names can never be
// read as SQL.
func ident(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// path quotes a dotted reference: `a`.`b`.
func path(parts ...string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = ident(p)
	}
	return strings.Join(q, ".")
}

// runnerUnsafe explains why a name cannot pass through the SQL runner, or
// returns "". The runner (flink-sql-runner-example's SqlRunner) removes
// `--…` and `/*…*/` anywhere in the script before parsing — quoted or not —
// trims every line, and ends a statement at a line whose trimmed text ends
// with ";". Literals are escaped around all of this (see lit); a quoted
// identifier cannot hold escapes, so these names are rejected.
func runnerUnsafe(s string) string {
	switch {
	case strings.Contains(s, "--"):
		return `it contains "--", which the SQL runner removes as a comment`
	case strings.Contains(s, "/*"):
		return `it contains "/*", which the SQL runner removes as a comment`
	}
	lines := strings.Split(s, "\n")
	if len(lines) == 1 {
		return ""
	}
	for i, l := range lines {
		if i < len(lines)-1 && (strings.HasSuffix(strings.TrimRightFunc(l, javaSpace), ";") || (l != "" && javaSpace(rune(l[len(l)-1])))) {
			return "it has a line break after \";\" or whitespace, which the SQL runner splits or trims"
		}
		if i > 0 && l != "" && javaSpace(rune(l[0])) {
			return "it has whitespace after a line break, which the SQL runner trims"
		}
		if i > 0 && strings.HasPrefix(strings.TrimSpace(l), "EXECUTE STATEMENT SET") {
			return "a line of it starts with EXECUTE STATEMENT SET, which the SQL runner treats as a statement set"
		}
	}
	return ""
}

// javaSpace is Java's String.trim() notion of whitespace: chars <= U+0020.
func javaSpace(r rune) bool { return r <= ' ' }

// lit quotes a string literal. Plain printable text is written '…' with
// quotes doubled. Anything the SQL runner or a line-based reader could
// mangle (control characters, line breaks, "--", "/*", "*/", backslashes,
// non-ASCII) is written as a Unicode literal U&'…' in which every such
// character is a \XXXX escape (UTF-16 code units), so the script text never
// contains it.
func lit(s string) string {
	plain := true
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '\\' {
			plain = false
			break
		}
	}
	if plain && !strings.Contains(s, "--") && !strings.Contains(s, "/*") && !strings.Contains(s, "*/") {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	var b strings.Builder
	b.WriteString("U&'")
	for _, r := range s {
		switch {
		case r == '\'':
			b.WriteString("''")
		case (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == ' ' || r == '.' || r == '_' || r == ':' || r == ',' || r == '=':
			b.WriteRune(r)
		default:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, "\\%04X", u)
			}
		}
	}
	b.WriteString("'")
	return b.String()
}

// interval writes a duration as a Flink SQL interval literal with the
// largest unit that divides it exactly; the leading precision is widened
// when the value has more than two digits (Calcite's default).
func interval(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var v, unit string
	switch {
	case d == 0:
		v, unit = "0", "SECOND"
	case d%(24*time.Hour) == 0:
		v, unit = strconv.FormatInt(int64(d/(24*time.Hour)), 10), "DAY"
	case d%time.Hour == 0:
		v, unit = strconv.FormatInt(int64(d/time.Hour), 10), "HOUR"
	case d%time.Minute == 0:
		v, unit = strconv.FormatInt(int64(d/time.Minute), 10), "MINUTE"
	case d%time.Second == 0:
		v, unit = strconv.FormatInt(int64(d/time.Second), 10), "SECOND"
	default:
		secs := int64(d / time.Second)
		frac := int64(d % time.Second)
		digits := 9
		for frac%10 == 0 {
			frac /= 10
			digits--
		}
		v = fmt.Sprintf("%d.%0*d", secs, digits, frac)
		unit = "SECOND"
		if len(strconv.FormatInt(secs, 10)) > 2 || digits > 6 {
			unit = fmt.Sprintf("SECOND(%d, %d)", max(2, len(strconv.FormatInt(secs, 10))), digits)
		}
		if neg {
			v = "-" + v
		}
		return "INTERVAL '" + v + "' " + unit
	}
	if n := len(v); n > 2 {
		unit = fmt.Sprintf("%s(%d)", unit, n)
	}
	if neg {
		v = "-" + v
	}
	return "INTERVAL '" + v + "' " + unit
}

// durationOption writes a duration for a connector or configuration option
// ("5 s" style is accepted by Flink's duration parser; "5s" too).
func durationOption(d time.Duration) string {
	switch {
	case d == 0:
		return "0 ms"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%d s", d/time.Second)
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%d ms", d/time.Millisecond)
	}
	return fmt.Sprintf("%d us", d/time.Microsecond)
}
