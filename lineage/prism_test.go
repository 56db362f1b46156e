package lineage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/backends/openlineage/oltest"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lineage"
	"rtsap.dev/rtsapc/runtime/beamrt"
)

// TestPrismRunPostsLineage runs a pipeline on Prism (Beam runtime, kfake)
// inside lineage.Track with the HTTP transport: the receiver gets START and
// COMPLETE for one run, with the static column lineage and the row counts
// of the run, and every event validates against the official schemas.
func TestPrismRunPostsLineage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prism")
	}
	rc := &receiver{t: t, v: oltest.New(t)}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "md.trades"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := 0; i < 40; i++ {
		recs = append(recs, &kgo.Record{Topic: "md.trades", Value: fmt.Appendf(nil, `{"symbol":"S%d","size":%d,"ts":%d}`, i%3, i%4, 1_700_000_000_000+int64(i)*1000)})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	rec := rtype.RecordOf(rtype.Field{Name: "symbol", Type: rtype.StringType}, rtype.Field{Name: "size", Type: rtype.Int64Type},
		rtype.Field{Name: "ts", Type: rtype.TimestampMillis})
	kafka := ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{{Key: "brokers", Value: []any{c.ListenAddrs()[0]}}, {Key: "topic", Value: "md.trades"}}}
	where := &ir.Expr{Kind: ir.Call, Fn: ir.FnGt, Type: rtype.BoolType, Text: "size > 0", Args: []*ir.Expr{
		{Kind: ir.Ref, Path: []string{"size"}, Type: rtype.Int64Type, Text: "size"},
		{Kind: ir.Lit, Value: int64(0), Type: rtype.Int64Type, Text: "0"}}}
	p := &ir.Pipeline{Name: "sized-trades", Mode: ir.Batch, Engine: "beam", Owner: "md", Nodes: []*ir.Node{
		{ID: 1, Name: "trades", Out: rec, EventTime: "ts", Op: &ir.Source{Connector: kafka, Schema: rec, EventTime: "ts", OnError: ir.SkipOnError}},
		{ID: 2, Name: "sized", Inputs: []ir.NodeID{1}, Out: rec, EventTime: "ts", Op: &ir.Filter{Where: where}},
		{ID: 3, Name: "out", Inputs: []ir.NodeID{2}, Out: rec, Op: &ir.Sink{Connector: ir.Connector{Kind: "file", Options: []ir.Option{{Key: "path", Value: "/tmp/sized.jsonl"}}}}},
	}}
	st, _ := openlineage.Build(&ir.Program{Pipelines: []*ir.Pipeline{p}}, p, &backends.Options{})
	job, err := json.Marshal(st.Job)
	if err != nil {
		t.Fatal(err)
	}
	in := openlineage.Dataset(&kafka, nil)
	outID := openlineage.Dataset(&p.Nodes[2].Op.(*ir.Sink).Connector, nil)
	stats := func() []lineage.Count {
		var cs []lineage.Count
		for _, np := range beamrt.Progress() {
			switch np.Node {
			case "trades":
				cs = append(cs, lineage.Count{Namespace: in.Namespace, Name: in.Name, Rows: np.Out})
			case "out":
				cs = append(cs, lineage.Count{Namespace: outID.Namespace, Name: outID.Name, Output: true, Rows: np.In})
			}
		}
		return cs
	}

	tr, err := lineage.HTTP(lineage.HTTPConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	em := lineage.NewEmitter(tr, lineage.EmitterOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	beamrt.ResetProgress()
	err = lineage.Track(ctx, em, lineage.RunConfig{Job: job, Stats: stats, EngineVersion: "2.77.0"}, func(ctx context.Context) error {
		return beamrt.Run(ctx, p, beamrt.Options{Bounded: true, OutDir: t.TempDir()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s := em.Stats(); s.Sent != 2 || s.Failed+s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
	var start, end ol.RunEvent
	json.Unmarshal(rc.events[0], &start)
	json.Unmarshal(rc.events[1], &end)
	if start.EventType != ol.Start || end.EventType != ol.Complete || start.Run.RunID != end.Run.RunID {
		t.Fatalf("events %s %s, run ids %s %s", start.EventType, end.EventType, start.Run.RunID, end.Run.RunID)
	}
	o := end.Outputs[0]
	if o.Facets.ColumnLineage == nil || o.OutputFacets == nil || o.OutputFacets.OutputStatistics.RowCount != 30 {
		t.Errorf("COMPLETE output: %+v", o.OutputFacets)
	}
}
