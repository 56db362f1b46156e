// Package diag holds the diagnostics every stage of rtsapc reports: source
// positions in spec files, severities, stable codes, and lists of problems.
//
// Diagnostics are data (after hcl.Diagnostic): stages collect them and return
// a partial result with them, never stopping at the first problem and never
// printing. Only the CLI renders them (see [TextWriter] and [WriteJSON]).
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a source file: 1-based line and column (columns count
// bytes, as go/token and hcl do), and a 0-based byte offset.
type Pos struct {
	Line, Column, Byte int
}

// IsValid reports whether p denotes a position (line 0 means "none").
func (p Pos) IsValid() bool { return p.Line > 0 }

// Range is a span in one file. End is exclusive; End == Start when only the
// start is known (CUE reports start positions only).
type Range struct {
	Filename   string
	Start, End Pos
}

// IsValid reports whether r has a position.
func (r Range) IsValid() bool { return r.Start.IsValid() }

// String renders r as file:line:col, the form editors jump to.
func (r Range) String() string {
	if !r.IsValid() {
		if r.Filename != "" {
			return r.Filename
		}
		return "-"
	}
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// Severity is Error or Warning; its value is the letter shown in summaries.
type Severity rune

const (
	Error   Severity = 'E'
	Warning Severity = 'W'
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "invalid"
}

// Related is a secondary position that explains a diagnostic ("first defined
// here").
type Related struct {
	Message string
	Range   Range
}

// Diagnostic is one problem found in a spec or while compiling it.
type Diagnostic struct {
	Severity Severity
	Code     Code
	// Summary is terse and has no final period: "Unknown node".
	Summary string
	// Detail is full sentences that say what is wrong and how to fix it.
	Detail string
	// Subject is the exact construct at fault. Nil only for problems that have
	// no place in a spec (a flag, an unreadable directory).
	Subject *Range
	// Path is the spec path of the construct (pipelines.vwap.transforms.bars).
	Path []string
	// Related lists secondary positions.
	Related []Related
}

// Error renders the diagnostic on one line, file:line:col first.
func (d *Diagnostic) Error() string {
	var b strings.Builder
	if d.Subject != nil {
		b.WriteString(d.Subject.String())
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s[%s]: %s", d.Severity, d.Code, d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(d.Detail)
	}
	return b.String()
}

// Diagnostics is a list of problems. The zero value is an empty list.
type Diagnostics []*Diagnostic

// Errorf builds an error diagnostic at r. Detail may be empty.
func Errorf(code Code, r Range, summary, detailFormat string, args ...any) *Diagnostic {
	return newDiag(Error, code, r, summary, detailFormat, args...)
}

// Warningf builds a warning diagnostic at r.
func Warningf(code Code, r Range, summary, detailFormat string, args ...any) *Diagnostic {
	return newDiag(Warning, code, r, summary, detailFormat, args...)
}

func newDiag(sev Severity, code Code, r Range, summary, detailFormat string, args ...any) *Diagnostic {
	d := &Diagnostic{Severity: sev, Code: code, Summary: summary}
	if len(args) > 0 {
		d.Detail = fmt.Sprintf(detailFormat, args...)
	} else {
		d.Detail = detailFormat
	}
	if r.IsValid() || r.Filename != "" {
		rr := r
		d.Subject = &rr
	}
	return d
}

// Append adds diagnostics to the list and returns it.
func (ds Diagnostics) Append(d ...*Diagnostic) Diagnostics {
	for _, x := range d {
		if x != nil {
			ds = append(ds, x)
		}
	}
	return ds
}

// Extend appends another list.
func (ds Diagnostics) Extend(other Diagnostics) Diagnostics { return append(ds, other...) }

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errs returns the error diagnostics only.
func (ds Diagnostics) Errs() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Err returns the list as an error, or nil when it holds no error.
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return ds
}

// Error joins the diagnostics, one per line.
func (ds Diagnostics) Error() string {
	var lines []string
	for _, d := range ds {
		lines = append(lines, d.Error())
	}
	return strings.Join(lines, "\n")
}

// Sort orders diagnostics by file, line, column, code, summary and removes
// exact duplicates (same position, code, summary and detail), as CUE's
// errors.Sanitize does. Diagnostics without a subject come first.
func (ds Diagnostics) Sort() Diagnostics {
	out := append(Diagnostics(nil), ds...)
	sort.SliceStable(out, func(i, j int) bool { return less(out[i], out[j]) })
	w := 0
	for i, d := range out {
		if i > 0 && same(out[w-1], d) {
			continue
		}
		out[w] = d
		w++
	}
	return out[:w]
}

func key(d *Diagnostic) (string, int, int) {
	if d.Subject == nil {
		return "", 0, 0
	}
	return d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column
}

func less(a, b *Diagnostic) bool {
	fa, la, ca := key(a)
	fb, lb, cb := key(b)
	switch {
	case fa != fb:
		return fa < fb
	case la != lb:
		return la < lb
	case ca != cb:
		return ca < cb
	case a.Code != b.Code:
		return a.Code < b.Code
	case a.Summary != b.Summary:
		return a.Summary < b.Summary
	}
	return a.Detail < b.Detail
}

func same(a, b *Diagnostic) bool {
	fa, la, ca := key(a)
	fb, lb, cb := key(b)
	return fa == fb && la == lb && ca == cb && a.Code == b.Code && a.Summary == b.Summary && a.Detail == b.Detail && a.Severity == b.Severity
}
