package ol_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
)

const producer = "https://rtsap.dev/rtsapc/v0.1.0-test"

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 123e6, time.UTC)

func fullDataset() ol.Dataset {
	return ol.Dataset{Namespace: "kafka://broker-1:9092", Name: "md.trades", Facets: &ol.DatasetFacets{
		Schema: ol.NewSchema(producer, []ol.SchemaField{
			{Name: "symbol", Type: "string", OrdinalPosition: 1},
			{Name: "quote", Type: "record", OrdinalPosition: 2, Fields: []ol.SchemaField{{Name: "bid", Type: "decimal(18,6)", OrdinalPosition: 1}}},
		}),
		DataSource: ol.NewDatasource(producer, "kafka://broker-1:9092", "kafka://broker-1:9092"),
		ColumnLineage: ol.NewColumnLineage(producer, map[string]ol.ColumnLineageField{
			"vwap": {InputFields: []ol.InputField{{Namespace: "kafka://broker-1:9092", Name: "md.trades", Field: "price",
				Transformations: []ol.Transform{{Type: ol.Direct, Subtype: ol.Aggregation}}}}},
		}, []ol.InputField{{Namespace: "kafka://broker-1:9092", Name: "md.trades", Field: "symbol",
			Transformations: []ol.Transform{{Type: ol.Indirect, Subtype: ol.GroupBy}}}}),
		Symlinks:      ol.NewSymlinks(producer, []ol.SymlinkIdentifier{{Namespace: "kafka://broker-2:9092", Name: "md.trades", Type: "TOPIC"}}),
		DatasetType:   ol.NewDatasetType(producer, "TOPIC", ""),
		Ownership:     ol.NewDatasetOwnership(producer, []ol.Owner{{Name: "team:market-data"}}),
		Documentation: ol.NewDatasetDoc(producer, "trades"),
	}}
}

func fullJob() ol.Job {
	return ol.Job{Namespace: "rtsapc", Name: "equities-vwap", Facets: &ol.JobFacets{
		JobType:            ol.NewJobType(producer, ol.Streaming, "RTSAPC", "JOB"),
		SQL:                ol.NewSQL(producer, "INSERT INTO t SELECT 1", "flink"),
		SourceCodeLocation: ol.NewSourceCodeLocation(producer, "git", "https://example.com/repo/blob/abc/p.cue"),
		Ownership:          ol.NewJobOwnership(producer, []ol.Owner{{Name: "team:market-data", Type: "MAINTAINER"}}),
		Documentation:      ol.NewJobDoc(producer, "VWAP bars"),
	}}
}

func TestEventsValidate(t *testing.T) {
	v := oltest.New(t)
	d := fullDataset()
	in := ol.InputDataset{Namespace: d.Namespace, Name: d.Name, Facets: d.Facets,
		InputFacets: &ol.InputDatasetFacets{InputStatistics: ol.NewInputStatistics(producer, 10, 100)}}
	out := ol.OutputDataset{Namespace: d.Namespace, Name: d.Name, Facets: d.Facets,
		OutputFacets: &ol.OutputDatasetFacets{OutputStatistics: ol.NewOutputStatistics(producer, 5, 0)}}
	job := fullJob()
	job.Facets.JobType.EmissionPattern = &ol.EmissionPattern{EventTrigger: ol.Periodic, EventContentMode: ol.Accumulative, WindowDuration: 60}
	runID := ol.DerivedRunID(t0, "rtsapc/equities-vwap")
	events := map[string]any{
		"run": ol.RunEvent{EventTime: t0, Producer: producer, SchemaURL: ol.RunEventSchemaURL, EventType: ol.Fail,
			Run: ol.Run{RunID: runID, Facets: &ol.RunFacets{
				Parent:           ol.NewParent(producer, ol.DerivedRunID(t0, "wf"), "rtsapc", "nightly"),
				ProcessingEngine: ol.NewProcessingEngine(producer, "beam", "2.77.0", "v0.1.0"),
				NominalTime:      ol.NewNominalTime(producer, "2026-11-26T00:00:00Z", ""),
				ErrorMessage:     ol.NewErrorMessage(producer, "boom", ""),
			}},
			Job: job, Inputs: []ol.InputDataset{in}, Outputs: []ol.OutputDataset{out}},
		"job":     ol.JobEvent{EventTime: t0, Producer: producer, SchemaURL: ol.JobEventSchemaURL, Job: job, Inputs: []ol.InputDataset{in}, Outputs: []ol.OutputDataset{out}},
		"dataset": ol.DatasetEvent{EventTime: t0, Producer: producer, SchemaURL: ol.DatasetEventSchemaURL, Dataset: d},
	}
	for name, e := range events {
		if err := v.Validate(oltest.MustJSON(t, e)); err != nil {
			t.Errorf("%s event: %v", name, err)
		}
	}
}

// TestValidatorRejects proves the validator can fail: format assertions are
// on and facets are checked against their own schemas.
func TestValidatorRejects(t *testing.T) {
	v := oltest.New(t)
	good := oltest.MustJSON(t, ol.RunEvent{EventTime: t0, Producer: producer, SchemaURL: ol.RunEventSchemaURL,
		EventType: ol.Start, Run: ol.Run{RunID: ol.DerivedRunID(t0, "x")}, Job: fullJob(),
		Outputs: []ol.OutputDataset{{Namespace: "n", Name: "d", Facets: fullDataset().Facets}}})
	if err := v.Validate(good); err != nil {
		t.Fatalf("good event rejected: %v", err)
	}
	cases := []struct{ name, old, new string }{
		{"bad eventType", `"eventType":"START"`, `"eventType":"BEGIN"`},
		{"non-uuid runId", `"runId":"`, `"runId":"x`},
		{"bad date-time", `"eventTime":"2026-11-26T12:00:00.123Z"`, `"eventTime":"yesterday"`},
		{"relative producer", `"producer":"https://rtsap.dev/rtsapc/v0.1.0-test"`, `"producer":"rtsapc"`},
		{"missing job namespace", `"namespace":"rtsapc",`, ``},
		{"facet without field", `"field":"price",`, ``},
		{"jobType without integration", `"integration":"RTSAPC",`, ``},
		{"unknown facet key", `"dataSource":`, `"dataSauce":`},
		{"schema field ordinal not integer", `"ordinal_position":1}`, `"ordinal_position":"1"}`},
	}
	for _, c := range cases {
		bad := strings.Replace(string(good), c.old, c.new, 1)
		if bad == string(good) {
			t.Fatalf("%s: replacement %q not found in %s", c.name, c.old, good)
		}
		if err := v.Validate([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// TestUpstreamFacetExamples runs the validator over the upstream facet test
// files, each {"<facetKey>": {...}} for facets/<Facet>.json.
func TestUpstreamFacetExamples(t *testing.T) {
	oltest.New(t)
	dir := oltest.Dir()
	files, _ := filepath.Glob(filepath.Join(dir, "tests", "*", "*.json"))
	if len(files) < 40 {
		t.Fatalf("expected the upstream facet tests, found %d", len(files))
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	all, _ := filepath.Glob(filepath.Join(dir, "facets", "*.json"))
	all = append(all, filepath.Join(dir, "OpenLineage.json"))
	for _, f := range all {
		doc := mustRead(t, f)
		if err := c.AddResource(doc.(map[string]any)["$id"].(string), doc); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		facet := filepath.Base(filepath.Dir(f))
		doc := mustRead(t, filepath.Join(dir, "facets", facet+".json"))
		s, err := c.Compile(doc.(map[string]any)["$id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(mustRead(t, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func mustRead(t *testing.T, path string) any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDerivedRunID(t *testing.T) {
	a := ol.DerivedRunID(t0, "ns/job")
	if a != ol.DerivedRunID(t0, "ns/job") {
		t.Fatal("not deterministic")
	}
	if a == ol.DerivedRunID(t0, "ns/job2") || a == ol.DerivedRunID(t0.Add(time.Millisecond), "ns/job") {
		t.Fatal("not distinct")
	}
	if a[14] != '7' {
		t.Fatalf("not version 7: %s", a)
	}
	if ms := fmt.Sprintf("%012x", t0.UnixMilli()); strings.ReplaceAll(a, "-", "")[:12] != ms {
		t.Fatalf("timestamp not in the leading bits: %s", a)
	}
	var ev ol.RunEvent
	if err := json.Unmarshal(oltest.MustJSON(t, ol.RunEvent{EventTime: t0, Run: ol.Run{RunID: a}}), &ev); err != nil || ev.Run.RunID != a || !ev.EventTime.Equal(t0) {
		t.Fatalf("round trip: %v %+v", err, ev)
	}
}
