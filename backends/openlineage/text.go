package openlineage

import (
	"fmt"
	"strconv"
	"strings"

	"rtsap.dev/rtsapc/backends/openlineage/ol"
)

// Text renders the column lineage of a job event for people (reviews,
// goldens): one line per output column and input field, then the
// dataset-level dependencies. Names that are not plain are Go-quoted so a
// hostile name cannot break the layout.
func Text(ev *ol.JobEvent) []byte {
	var b strings.Builder
	pt := ""
	if ev.Job.Facets != nil && ev.Job.Facets.JobType != nil {
		pt = " (" + ev.Job.Facets.JobType.ProcessingType + ")"
	}
	fmt.Fprintf(&b, "job %s %s%s\n", q(ev.Job.Namespace), q(ev.Job.Name), pt)
	for _, in := range ev.Inputs {
		fmt.Fprintf(&b, "input %s %s\n", q(in.Namespace), q(in.Name))
	}
	for _, out := range ev.Outputs {
		fmt.Fprintf(&b, "output %s %s\n", q(out.Namespace), q(out.Name))
		if out.Facets == nil || out.Facets.ColumnLineage == nil {
			continue
		}
		cl := out.Facets.ColumnLineage
		for _, col := range sortedKeys(cl.Fields) {
			for _, f := range cl.Fields[col].InputFields {
				fmt.Fprintf(&b, "  %s <- %s %s\n", q(col), fieldRef(f), transforms(f.Transformations))
			}
		}
		for _, f := range cl.Dataset {
			fmt.Fprintf(&b, "  * <- %s %s\n", fieldRef(f), transforms(f.Transformations))
		}
	}
	return []byte(b.String())
}

func fieldRef(f ol.InputField) string {
	return q(f.Namespace) + " " + q(f.Name) + " " + q(f.Field)
}

func transforms(ts []ol.Transform) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Type + "/" + t.Subtype
		if t.Masking {
			parts[i] += "/masked"
		}
	}
	return strings.Join(parts, ",")
}

// q quotes s unless it is non-empty and made of printable non-space bytes
// other than quotes.
func q(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '\\' || r >= 0x7f {
			return strconv.Quote(s)
		}
	}
	return s
}
