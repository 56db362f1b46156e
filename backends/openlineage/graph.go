package openlineage

import (
	"fmt"
	"html"
	"strings"

	"rtsap.dev/rtsapc/backends/openlineage/ol"
)

// The lineage graph of several jobs: datasets (with their columns) and
// jobs, dataset → job → dataset edges, and column → column edges from the
// columnLineage facets (DIRECT solid, INDIRECT dashed; dataset-level
// dependencies point at the output dataset's title row). A dataset read by
// one job and written by another is one node.

type graph struct {
	datasets []*gDataset
	byKey    map[[2]string]*gDataset
	jobs     []*gJob
	colEdges []gColEdge
}

type gDataset struct {
	id       string
	ns, name string
	cols     []string
	colIdx   map[string]int
}

type gJob struct {
	id, name string
	ins      []*gDataset
	outs     []*gDataset
}

type gColEdge struct {
	from     *gDataset
	fromCol  int
	to       *gDataset
	toCol    int // -1: the dataset as a whole
	indirect bool
	label    string
}

func (g *graph) dataset(ns, name string) *gDataset {
	k := [2]string{ns, name}
	if d := g.byKey[k]; d != nil {
		return d
	}
	d := &gDataset{id: fmt.Sprintf("d%d", len(g.datasets)), ns: ns, name: name, colIdx: map[string]int{}}
	g.byKey[k] = d
	g.datasets = append(g.datasets, d)
	return d
}

func (d *gDataset) col(name string) int {
	if i, ok := d.colIdx[name]; ok {
		return i
	}
	d.colIdx[name] = len(d.cols)
	d.cols = append(d.cols, name)
	return len(d.cols) - 1
}

func (d *gDataset) schema(f *ol.DatasetFacets) {
	if f != nil && f.Schema != nil {
		for _, sf := range f.Schema.Fields {
			d.col(sf.Name)
		}
	}
}

func buildGraph(jobs []*ol.JobEvent) *graph {
	g := &graph{byKey: map[[2]string]*gDataset{}}
	for i, ev := range jobs {
		j := &gJob{id: fmt.Sprintf("j%d", i), name: ev.Job.Namespace + "/" + ev.Job.Name}
		for _, in := range ev.Inputs {
			d := g.dataset(in.Namespace, in.Name)
			d.schema(in.Facets)
			j.ins = append(j.ins, d)
		}
		for _, out := range ev.Outputs {
			d := g.dataset(out.Namespace, out.Name)
			d.schema(out.Facets)
			j.outs = append(j.outs, d)
			if out.Facets == nil || out.Facets.ColumnLineage == nil {
				continue
			}
			cl := out.Facets.ColumnLineage
			for _, c := range sortedKeys(cl.Fields) {
				to := d.col(c)
				for _, f := range cl.Fields[c].InputFields {
					g.edges(f, d, to)
				}
			}
			for _, f := range cl.Dataset {
				g.edges(f, d, -1)
			}
		}
		g.jobs = append(g.jobs, j)
	}
	return g
}

// edges adds one edge per transformation kind (direct, indirect) of f.
func (g *graph) edges(f ol.InputField, to *gDataset, toCol int) {
	from := g.dataset(f.Namespace, f.Name)
	fc := from.col(f.Field)
	var direct, indirect []string
	for _, t := range f.Transformations {
		if t.Type == ol.Indirect {
			indirect = append(indirect, t.Subtype)
		} else {
			direct = append(direct, t.Subtype)
		}
	}
	if len(direct) > 0 {
		g.colEdges = append(g.colEdges, gColEdge{from: from, fromCol: fc, to: to, toCol: toCol, label: strings.Join(direct, ",")})
	}
	if len(indirect) > 0 {
		g.colEdges = append(g.colEdges, gColEdge{from: from, fromCol: fc, to: to, toCol: toCol, indirect: true, label: strings.Join(indirect, ",")})
	}
}

// DOT renders the lineage graph of jobs in Graphviz DOT. Every user string
// is in an HTML-like label, escaped; identifiers are generated.
func DOT(jobs []*ol.JobEvent) []byte {
	g := buildGraph(jobs)
	var b strings.Builder
	b.WriteString("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8];\n")
	for _, d := range g.datasets {
		fmt.Fprintf(&b, "  %s [shape=plaintext, label=<<table border=\"0\" cellborder=\"1\" cellspacing=\"0\">", d.id)
		fmt.Fprintf(&b, "<tr><td port=\"t\" bgcolor=\"lightblue\"><b>%s</b><br/>%s</td></tr>", dotText(d.name), dotText(d.ns))
		for i, c := range d.cols {
			fmt.Fprintf(&b, "<tr><td port=\"c%d\" align=\"left\">%s</td></tr>", i, dotText(c))
		}
		b.WriteString("</table>>];\n")
	}
	for _, j := range g.jobs {
		fmt.Fprintf(&b, "  %s [shape=box, style=\"rounded,filled\", fillcolor=\"lightyellow\", label=<%s>];\n", j.id, dotText(j.name))
		for _, d := range j.ins {
			fmt.Fprintf(&b, "  %s:t -> %s [penwidth=2];\n", d.id, j.id)
		}
		for _, d := range j.outs {
			fmt.Fprintf(&b, "  %s -> %s:t [penwidth=2];\n", j.id, d.id)
		}
	}
	for _, e := range g.colEdges {
		to := e.to.id + ":t"
		if e.toCol >= 0 {
			to = fmt.Sprintf("%s:c%d", e.to.id, e.toCol)
		}
		style := "solid"
		if e.indirect {
			style = "dashed"
		}
		fmt.Fprintf(&b, "  %s:c%d -> %s [style=%s, color=gray40, label=<%s>];\n", e.from.id, e.fromCol, to, style, dotText(e.label))
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// Mermaid renders the lineage graph of jobs as a Mermaid flowchart: a
// subgraph per dataset with a node per column. Every user string is
// entity-escaped (#NN;) so it cannot close a label or start a directive.
func Mermaid(jobs []*ol.JobEvent) []byte {
	g := buildGraph(jobs)
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, d := range g.datasets {
		fmt.Fprintf(&b, "  subgraph %s[\"%s<br/>%s\"]\n", d.id, mermaidText(d.name), mermaidText(d.ns))
		fmt.Fprintf(&b, "    %st[\"#42;\"]\n", d.id)
		for i, c := range d.cols {
			fmt.Fprintf(&b, "    %sc%d[\"%s\"]\n", d.id, i, mermaidText(c))
		}
		b.WriteString("  end\n")
	}
	for _, j := range g.jobs {
		fmt.Fprintf(&b, "  %s{{\"%s\"}}\n", j.id, mermaidText(j.name))
		for _, d := range j.ins {
			fmt.Fprintf(&b, "  %s ==> %s\n", d.id, j.id)
		}
		for _, d := range j.outs {
			fmt.Fprintf(&b, "  %s ==> %s\n", j.id, d.id)
		}
	}
	for _, e := range g.colEdges {
		to := e.to.id + "t"
		if e.toCol >= 0 {
			to = fmt.Sprintf("%sc%d", e.to.id, e.toCol)
		}
		arrow := "-->"
		if e.indirect {
			arrow = "-.->"
		}
		fmt.Fprintf(&b, "  %sc%d %s|\"%s\"| %s\n", e.from.id, e.fromCol, arrow, mermaidText(e.label), to)
	}
	return []byte(b.String())
}

// mermaidText keeps letters, digits, space and . _ : / - and writes every
// other character as a Mermaid entity code.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ' ', r == '.', r == '_', r == ':', r == '/', r == '-':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "#%d;", r)
		}
	}
	return b.String()
}

// dotText escapes s for an HTML-like DOT label; control characters become
// numeric references.
func dotText(s string) string {
	var b strings.Builder
	for _, r := range html.EscapeString(s) {
		if r < 0x20 || r == 0x7f {
			fmt.Fprintf(&b, "&#%d;", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
