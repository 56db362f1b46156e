package diag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Sources maps a file name, as it appears in ranges, to its bytes, so that
// writers can show the offending line. Front-ends fill it while loading.
type Sources map[string][]byte

// TextWriter renders diagnostics for people:
//
//	p/pipeline.cue:14:9: error[RTS2000]: Unknown node
//	   14 |     from: "tradez"
//	      |           ^^^^^^^^
//	  No node named "tradez" in pipeline "vwap". Did you mean "trades"?
type TextWriter struct {
	W       io.Writer
	Sources Sources
	Color   bool
}

// Write renders ds (already sorted by the caller) and a final count line.
func (tw *TextWriter) Write(ds Diagnostics) error {
	var b bytes.Buffer
	for _, d := range ds {
		tw.one(&b, d)
	}
	_, err := tw.W.Write(b.Bytes())
	return err
}

func (tw *TextWriter) one(b *bytes.Buffer, d *Diagnostic) {
	sev := d.Severity.String()
	if tw.Color {
		if d.Severity == Error {
			sev = "\x1b[1;31m" + sev + "\x1b[0m"
		} else {
			sev = "\x1b[1;33m" + sev + "\x1b[0m"
		}
	}
	if d.Subject != nil {
		fmt.Fprintf(b, "%s: ", d.Subject)
	}
	fmt.Fprintf(b, "%s[%s]: %s\n", sev, d.Code, d.Summary)
	if d.Subject != nil && d.Subject.IsValid() {
		if line, ok := tw.line(d.Subject.Filename, d.Subject.Start.Line); ok {
			num := fmt.Sprint(d.Subject.Start.Line)
			fmt.Fprintf(b, "  %s | %s\n", num, expandTabs(line))
			width := 1
			if d.Subject.End.Line == d.Subject.Start.Line && d.Subject.End.Column > d.Subject.Start.Column {
				width = d.Subject.End.Column - d.Subject.Start.Column
			}
			pad := visualCol(line, d.Subject.Start.Column-1)
			fmt.Fprintf(b, "  %s | %s%s\n", strings.Repeat(" ", len(num)), strings.Repeat(" ", pad), strings.Repeat("^", width))
		}
	}
	if d.Detail != "" {
		for _, l := range strings.Split(d.Detail, "\n") {
			fmt.Fprintf(b, "  %s\n", l)
		}
	}
	for _, r := range d.Related {
		fmt.Fprintf(b, "  %s: %s\n", r.Range, r.Message)
	}
}

func (tw *TextWriter) line(file string, n int) (string, bool) {
	src, ok := tw.Sources[file]
	if !ok || n < 1 {
		return "", false
	}
	lines := bytes.Split(src, []byte("\n"))
	if n > len(lines) {
		return "", false
	}
	return strings.TrimRight(string(lines[n-1]), "\r"), true
}

func expandTabs(s string) string { return strings.ReplaceAll(s, "\t", "    ") }

// visualCol is the width of the first n bytes of line with tabs expanded.
func visualCol(line string, n int) int {
	if n > len(line) {
		n = len(line)
	}
	w := 0
	for _, r := range line[:n] {
		if r == '\t' {
			w += 4
		} else {
			w++
		}
	}
	return w
}

// JSON is the machine-readable shape of a diagnostic (after Terraform's
// views/json.Diagnostic), stable for tools and editors.
type JSON struct {
	Severity string      `json:"severity"`
	Code     string      `json:"code"`
	Name     string      `json:"name,omitempty"`
	Summary  string      `json:"summary"`
	Detail   string      `json:"detail,omitempty"`
	Range    *JSONRange  `json:"range,omitempty"`
	Path     []string    `json:"path,omitempty"`
	Snippet  *JSONSnip   `json:"snippet,omitempty"`
	Related  []JSONRelat `json:"related,omitempty"`
}

// JSONRange is a range with 1-based line/column and 0-based byte offsets.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONPos is Pos in JSON.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONSnip is the source line of the subject.
type JSONSnip struct {
	Code           string `json:"code"`
	StartLine      int    `json:"start_line"`
	HighlightStart int    `json:"highlight_start_offset"`
	HighlightEnd   int    `json:"highlight_end_offset"`
}

// JSONRelat is a related position.
type JSONRelat struct {
	Message string    `json:"message"`
	Range   JSONRange `json:"range"`
}

func jsonRange(r Range) JSONRange {
	return JSONRange{Filename: r.Filename,
		Start: JSONPos{r.Start.Line, r.Start.Column, r.Start.Byte},
		End:   JSONPos{r.End.Line, r.End.Column, r.End.Byte}}
}

// ToJSON converts ds to their JSON shape, with snippets from src.
func ToJSON(ds Diagnostics, src Sources) []JSON {
	tw := &TextWriter{Sources: src}
	out := make([]JSON, 0, len(ds))
	for _, d := range ds {
		j := JSON{Severity: d.Severity.String(), Code: d.Code.String(), Name: d.Code.Name(),
			Summary: d.Summary, Detail: d.Detail, Path: d.Path}
		if d.Subject != nil {
			r := jsonRange(*d.Subject)
			j.Range = &r
			if line, ok := tw.line(d.Subject.Filename, d.Subject.Start.Line); ok {
				end := d.Subject.Start.Column
				if d.Subject.End.Line == d.Subject.Start.Line && d.Subject.End.Column > end {
					end = d.Subject.End.Column
				}
				j.Snippet = &JSONSnip{Code: line, StartLine: d.Subject.Start.Line,
					HighlightStart: d.Subject.Start.Column - 1, HighlightEnd: end - 1}
			}
		}
		for _, r := range d.Related {
			j.Related = append(j.Related, JSONRelat{Message: r.Message, Range: jsonRange(r.Range)})
		}
		out = append(out, j)
	}
	return out
}

// WriteJSON writes {"diagnostics":[...],"errors":N,"warnings":M}.
func WriteJSON(w io.Writer, ds Diagnostics, src Sources) error {
	nerr, nwarn := 0, 0
	for _, d := range ds {
		if d.Severity == Error {
			nerr++
		} else {
			nwarn++
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Diagnostics []JSON `json:"diagnostics"`
		Errors      int    `json:"errors"`
		Warnings    int    `json:"warnings"`
	}{ToJSON(ds, src), nerr, nwarn})
}
