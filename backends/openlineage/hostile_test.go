package openlineage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
)

func hostileNames(t *testing.T) []string {
	t.Helper()
	dir := oltest.Dir()
	if dir == "" {
		t.Skip("SKIP: ../shared not found; hostile names NOT tested")
	}
	data, err := os.ReadFile(filepath.Join(dir, "..", "..", "hostile", "names.json"))
	if err != nil {
		t.Skipf("SKIP: hostile names not found: %v", err)
	}
	var names []string
	if err := json.Unmarshal(data, &names); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestHostileNames puts every hostile name in every user-named place (the
// pipeline, nodes, fields, topic, description) and checks that the events
// validate and round-trip, paths stay inside the output, and the text, DOT
// and Mermaid renderings keep their line structure and never carry a raw
// quote or angle bracket from a name.
func TestHostileNames(t *testing.T) {
	v := oltest.New(t)
	for _, name := range hostileNames(t) {
		rec := rtype.RecordOf(rtype.Field{Name: name, Type: rtype.StringType}, rtype.Field{Name: "n", Type: rtype.Int64Type})
		conn := ir.Connector{Kind: "kafka", Options: []ir.Option{{Key: "brokers", Value: []any{"k:9092"}}, {Key: "topic", Value: name}}}
		out := ir.Connector{Kind: "file", Options: []ir.Option{{Key: "path", Value: name}}}
		outT := rtype.RecordOf(rtype.Field{Name: name, Type: rtype.StringType}, rtype.Field{Name: "c", Type: rtype.Int64Type})
		p := &ir.Pipeline{Name: name, Mode: ir.Batch, Engine: "beam", Owner: name, Description: name, SpecFile: name + ".cue", Nodes: []*ir.Node{
			{ID: 1, Name: name, Doc: name, Op: &ir.Source{Connector: conn, Schema: rec}, Out: rec},
			{ID: 2, Name: name + "2", Op: &ir.Aggregate{Keys: []ir.Column{col(name, ref(name))},
				Columns: []ir.Column{col("c", call(ir.FnCount))}}, Inputs: []ir.NodeID{1}, Out: outT},
			{ID: 3, Name: name + "3", Op: &ir.Sink{Connector: out}, Inputs: []ir.NodeID{2}, Out: outT},
		}}
		prog := &ir.Program{Pipelines: []*ir.Pipeline{p}}
		set, ds := Backend.Generate(&backends.Gen{Program: prog, Pipelines: prog.Pipelines, Options: &backends.Options{}})
		if ds.HasErrors() {
			t.Errorf("%q: %v", name, ds)
			continue
		}
		if err := set.Validate(); err != nil {
			t.Errorf("%q: %v", name, err)
		}
		for _, f := range set.Files {
			if strings.Contains(f.Path, "..") && !strings.Contains(f.Path, "%2E") {
				t.Errorf("%q: path %q", name, f.Path)
			}
			if err := v.Validate(f.Data); err != nil {
				t.Errorf("%q: %s: %v", name, f.Path, err)
			}
		}
		var ev ol.JobEvent
		if err := json.Unmarshal(set.Get(artifact.PathSegment(name)+"/openlineage/job.json").Data, &ev); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if ev.Job.Name != name || ev.Inputs[0].Name != name || ev.Outputs[0].Name != name ||
			ev.Outputs[0].Facets.ColumnLineage.Fields[name].InputFields[0].Field != name {
			t.Errorf("%q: names changed in the JSON round trip: %+v", name, ev.Job)
		}
		if lines := strings.Count(string(Text(&ev)), "\n"); lines != 5 {
			t.Errorf("%q: text has %d lines, want 5:\n%s", name, lines, Text(&ev))
		}
		dot := string(DOT([]*ol.JobEvent{&ev}))
		wantDot := 4 + 2 + 1 + 2 + 2 + 1 // header, 2 datasets, job, 2 job edges, 2 column edges (identity, group by), }
		if lines := strings.Count(dot, "\n"); lines != wantDot {
			t.Errorf("%q: DOT has %d lines, want %d:\n%s", name, lines, wantDot, dot)
		}
		labels := regexp.MustCompile(`<b>(.*?)</b>`).FindAllStringSubmatch(dot, -1)
		for _, l := range labels {
			if strings.ContainsAny(l[1], "<>\"\n") {
				t.Errorf("%q: raw markup in DOT label %q", name, l[1])
			}
		}
		mm := string(Mermaid([]*ol.JobEvent{&ev}))
		for _, line := range strings.Split(strings.TrimSuffix(mm, "\n"), "\n") {
			if !mermaidLine.MatchString(line) {
				t.Errorf("%q: unexpected Mermaid line %q", name, line)
			}
		}
	}
}

var mermaidLine = regexp.MustCompile(`^(flowchart LR|  end|  subgraph d\d+\["[^"]*"\]|    d\d+(t|c\d+)\["[^"]*"\]|  j\d+\{\{"[^"]*"\}\}|  (d|j)\d+ ==> (d|j)\d+|  d\d+c\d+ (-->|-\.->)\|"[^"]*"\| d\d+(t|c\d+))$`)

// TestHostileStrings: descriptions, docs, owners, labels and connector
// values from the hostile corpus survive the JSON round trip unchanged and
// the events still validate.
func TestHostileStrings(t *testing.T) {
	v := oltest.New(t)
	data, err := os.ReadFile(filepath.Join(oltest.Dir(), "..", "..", "hostile", "strings.json"))
	if err != nil {
		t.Skipf("SKIP: hostile strings not found: %v", err)
	}
	var strs []string
	if err := json.Unmarshal(data, &strs); err != nil {
		t.Fatal(err)
	}
	for _, s := range strs {
		p := vwapPipeline()
		p.Description, p.Owner, p.SpecFile = s, s, s
		p.Labels = []ir.KV{{Key: s, Value: s}}
		p.Nodes[0].Doc = s
		p.Nodes[0].Op.(*ir.Source).Connector.Options[1].Value = s // the topic
		st, _ := Build(&ir.Program{SpecDigest: s}, p, &backends.Options{Version: s, Settings: map[string]string{"openlineage.repoURL": "https://git.example.com/" + s}})
		for _, ev := range []any{st.Job, st.Run, st.Datasets[0]} {
			b, err := Marshal(ev)
			if err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			if err := v.Validate(b); err != nil {
				t.Errorf("%q: %v", s, err)
			}
		}
		b, _ := Marshal(st.Job)
		var back ol.JobEvent
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		f := back.Job.Facets
		if f.Documentation.Description != s || back.Inputs[0].Name != s || back.Inputs[0].Facets.Documentation.Description != s ||
			f.Tags.Tags[0].Key != s || f.SourceCodeLocation.Path == "" {
			t.Errorf("%q changed in the round trip: %+v", s, f)
		}
	}
}
