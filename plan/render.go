package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// HumanOptions control the human view.
type HumanOptions struct {
	// Color adds ANSI colours (stdout is a terminal and NO_COLOR is unset).
	Color bool
}

// WriteJSON writes the -json view: the redacted plan, without the desired
// bodies (which only plan files carry).
func WriteJSON(w io.Writer, p *Plan) error {
	q := p.Redacted()
	q.Settings = nil
	for i, c := range q.Changes {
		cc := *c
		cc.After = nil
		q.Changes[i] = &cc
	}
	for i, r := range q.Records {
		rr := *r
		rr.After = nil
		q.Records[i] = &rr
	}
	q.Jobs = make([]*JobChange, len(p.Jobs))
	for i, j := range p.Jobs {
		jj := *j
		jj.Graph = nil
		q.Jobs[i] = &jj
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(q)
}

// WriteHuman renders the plan for people. It renders from the -json view's
// structure (encoded, then decoded), so it can show nothing the JSON lacks.
func WriteHuman(w io.Writer, p *Plan, opts HumanOptions) error {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, p); err != nil {
		return err
	}
	var v Plan
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	h := &human{opts: opts}
	h.plan(&v)
	_, err := w.Write(h.b.Bytes())
	return err
}

type human struct {
	b    bytes.Buffer
	opts HumanOptions
}

const (
	green   = "\x1b[32m"
	yellow  = "\x1b[33m"
	red     = "\x1b[31m"
	magenta = "\x1b[35m"
	bold    = "\x1b[1m"
	dim     = "\x1b[2m"
	reset   = "\x1b[0m"
)

func (h *human) color(c, s string) string {
	if !h.opts.Color {
		return s
	}
	return c + s + reset
}

func (h *human) sym(a Action) string {
	switch a {
	case Create:
		return h.color(green, "+")
	case Update:
		return h.color(yellow, "~")
	case Replace:
		return h.color(magenta, "±")
	case Delete:
		return h.color(red, "-")
	}
	return " "
}

func (h *human) printf(format string, args ...any) { fmt.Fprintf(&h.b, format, args...) }

func (h *human) plan(p *Plan) {
	if len(p.Drift) > 0 {
		h.printf("%s\n", h.color(bold, "Drift: these resources changed outside rtsapc since the last apply:"))
		for _, d := range p.Drift {
			if d.Action == Delete {
				h.printf("  %s %s %s\n", h.sym(Delete), d.Addr, h.color(dim, "# deleted outside rtsapc"))
				continue
			}
			h.printf("  %s %s\n", h.sym(Update), d.Addr)
			h.fields(d.Fields, "      ", false)
		}
		h.printf("\n")
	}
	if !p.HasChanges() {
		if p.Operation == "destroy" {
			h.printf("No changes. Nothing to destroy.\n")
		} else {
			h.printf("No changes. The live targets match the spec.\n")
		}
		h.records(p)
		return
	}
	if p.Operation == "destroy" {
		h.printf("rtsapc will destroy:\n\n")
	} else {
		h.printf("rtsapc will perform these actions:\n\n")
	}
	for _, c := range p.Changes {
		note := ""
		if c.Reason != "" {
			note = " " + h.color(dim, "# "+c.Reason)
		}
		h.printf("  %s %s%s\n", h.sym(c.Action), c.Addr, note)
		if c.Action != Delete {
			h.fields(c.Fields, "      ", c.Action == Create)
		}
	}
	if len(p.Jobs) > 0 {
		h.printf("\n%s\n", h.color(bold, "Streaming jobs:"))
		for _, j := range p.Jobs {
			eng := ""
			if j.Engine != "" {
				eng = " (" + j.Engine + ")"
			}
			h.printf("  %s %s%s: %s\n", h.sym(j.Action), quoteName(j.Pipeline), eng, h.verdict(j))
			for _, r := range j.Reasons {
				h.printf("      %s\n", r)
			}
		}
	}
	h.records(p)
	verb := "Plan"
	h.printf("\n%s: %s.\n", h.color(bold, verb), p.Summary)
}

func (h *human) verdict(j *JobChange) string {
	if j.Action == Delete {
		return h.color(red, "removed")
	}
	switch j.Verdict {
	case Stateless:
		return h.color(green, "stateless change")
	case Savepoint:
		if j.UpgradeHandles {
			return h.color(yellow, "needs a savepoint (the operator takes it)")
		}
		return h.color(yellow, "needs a savepoint (take it by hand)")
	case Incompatible:
		return h.color(red, "state-incompatible")
	}
	if j.Action == Create {
		return "new job"
	}
	return string(j.Verdict)
}

func (h *human) records(p *Plan) {
	if len(p.Records) == 0 {
		return
	}
	h.printf("\nState bookkeeping (nothing changes live):\n")
	for _, r := range p.Records {
		h.printf("    %s %s: %s\n", r.Action, r.Addr, r.Reason)
	}
}

// fields renders field changes; for a new resource, multi-line text (a
// file's content) is summarised rather than printed whole.
func (h *human) fields(fs []FieldChange, indent string, created bool) {
	for _, f := range fs {
		path := RenderPath(f.Path)
		if path == "" {
			path = "(whole value)"
		}
		bs, as := isMultiline(f.Before), isMultiline(f.After)
		if created && as && !f.Sensitive {
			n := len(splitLines(str(f.After)))
			unit := "lines"
			if n == 1 {
				unit = "line"
			}
			h.printf("%s%s %s: (%d %s)\n", indent, h.sym(Create), path, n, unit)
			continue
		}
		if (bs || as) && !f.Sensitive {
			h.printf("%s%s %s:\n", indent, h.sym(f.Action), path)
			h.lines(str(f.Before), str(f.After), indent+"    ")
			continue
		}
		switch f.Action {
		case Create:
			h.printf("%s%s %s: %s\n", indent, h.sym(Create), path, h.value(f.After, f.Sensitive))
		case Delete:
			h.printf("%s%s %s: %s\n", indent, h.sym(Delete), path, h.value(f.Before, f.Sensitive))
		default:
			h.printf("%s%s %s: %s → %s\n", indent, h.sym(Update), path, h.value(f.Before, f.Sensitive), h.value(f.After, f.Sensitive))
		}
	}
}

func (h *human) value(v any, sensitive bool) string {
	if sensitive {
		return "(sensitive value)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	s := string(b)
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

func isMultiline(v any) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, "\n")
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// lines renders a line diff of a and b with two lines of context.
func (h *human) lines(a, b, indent string) {
	ops := lineDiff(splitLines(a), splitLines(b))
	const ctx = 2
	show := make([]bool, len(ops))
	for i, o := range ops {
		if o.kind != ' ' {
			for j := max(0, i-ctx); j <= min(len(ops)-1, i+ctx); j++ {
				show[j] = true
			}
		}
	}
	skipped := false
	for i, o := range ops {
		if !show[i] {
			skipped = true
			continue
		}
		if skipped {
			h.printf("%s%s\n", indent, h.color(dim, "..."))
			skipped = false
		}
		line := sanitize(o.text)
		switch o.kind {
		case '+':
			h.printf("%s%s\n", indent, h.color(green, "+ "+line))
		case '-':
			h.printf("%s%s\n", indent, h.color(red, "- "+line))
		default:
			h.printf("%s  %s\n", indent, line)
		}
	}
	if skipped {
		h.printf("%s%s\n", indent, h.color(dim, "..."))
	}
}

// sanitize escapes control characters, so file contents cannot drive the
// terminal.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r != '\t' && (unicode.IsControl(r) || r == unicode.ReplacementChar) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

type lineOp struct {
	kind byte // ' ', '+', '-'
	text string
}

// lineDiff is an LCS line diff; inputs beyond a size bound fall back to
// "all removed, all added" rather than spending quadratic time.
func lineDiff(a, b []string) []lineOp {
	// Trim the common prefix and suffix first: most edits are local.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var out []lineOp
	for _, l := range a[:pre] {
		out = append(out, lineOp{' ', l})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	if len(ma)*len(mb) > 4_000_000 {
		for _, l := range ma {
			out = append(out, lineOp{'-', l})
		}
		for _, l := range mb {
			out = append(out, lineOp{'+', l})
		}
	} else {
		n, m := len(ma), len(mb)
		lcs := make([][]int32, n+1)
		for i := range lcs {
			lcs[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && ma[i] == mb[j]:
				out = append(out, lineOp{' ', ma[i]})
				i++
				j++
			case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
				out = append(out, lineOp{'-', ma[i]})
				i++
			default:
				out = append(out, lineOp{'+', mb[j]})
				j++
			}
		}
	}
	for _, l := range a[len(a)-suf:] {
		out = append(out, lineOp{' ', l})
	}
	return out
}

// quoteName quotes a user-given name when it is not a plain identifier.
func quoteName(s string) string {
	if isIdent(s) {
		return s
	}
	b, _ := json.Marshal(s)
	return string(b)
}
