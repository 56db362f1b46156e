package sink

import (
	"context"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/internal/golden"
	"rtsap.dev/rtsapc/runtime/row"
	"rtsap.dev/rtsapc/runtime/sink/mongosink"
)

// No MongoDB server can run here (none is packaged for Debian): the
// documents the sink would send are checked instead, as canonical
// Extended JSON (golden), plus a BSON round trip.
func TestMongoDocuments(t *testing.T) {
	d, err := mongosink.NewDocuments(allType, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, r := range twoRows(t) {
		r[6] = dec(t, "-1234567890123456789012.0123456789") // Decimal128 holds 34 digits
		id, doc, err := d.Build(r)
		if err != nil {
			t.Fatal(err)
		}
		if id != r[0] {
			t.Errorf("_id = %v, want %v", id, r[0])
		}
		js, err := bson.MarshalExtJSON(doc, true, false)
		if err != nil {
			t.Fatal(err)
		}
		out = append(append(out, js...), '\n')
		// The document survives BSON encoding and decoding.
		raw, err := bson.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		var back bson.D
		if err := bson.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		if back[0].Key != "_id" || len(back) != len(r)+1 {
			t.Errorf("decoded %v", back)
		}
	}
	golden.File(t, "testdata/all.mongo.json", out)

	// A composite key becomes an _id document.
	d, _ = mongosink.NewDocuments(barType, []string{"symbol", "window_start"})
	id, _, err := d.Build(bars(t, 1, "5")[0])
	if err != nil {
		t.Fatal(err)
	}
	js, _ := bson.MarshalExtJSON(bson.D{{Key: "_id", Value: id}}, true, false)
	if want := `{"_id":{"symbol":"AAPL","window_start":{"$date":{"$numberLong":"1795685400000"}}}}`; string(js) != want {
		t.Errorf("_id = %s, want %s", js, want)
	}
}

func TestMongoRefusals(t *testing.T) {
	big := rtype.RecordOf(rtype.Field{Name: "x", Type: rtype.DecimalOf(38, 0)})
	d, _ := mongosink.NewDocuments(big, nil)
	if _, _, err := d.Build(row.Row{dec(t, "12345678901234567890123456789012345678")}); err == nil || !strings.Contains(err.Error(), "Decimal128") {
		t.Errorf("38-digit decimal: %v", err)
	}
	nul := rtype.RecordOf(rtype.Field{Name: "a\x00b", Type: rtype.StringType})
	if _, err := mongosink.NewDocuments(nul, nil); err == nil {
		t.Error("NUL in a field name accepted")
	}
	for _, tc := range []struct {
		opts map[string]any
		want string
	}{
		{map[string]any{"database": "d", "collection": "c"}, "uri option (a secret) is required"},
		{map[string]any{"database": "d", "collection": "c", "uri": "mongodb://u:p@h"}, "must be a secret"},
		{map[string]any{"database": "d", "collection": "c", "uri": &ir.Secret{Name: "m", Key: "uri"}, "writeConcern": "most"}, "writeConcern"},
	} {
		_, err := New(sinkNode("mongodb", "", barType, nil, tc.opts), Options{LookupEnv: func(k string) (string, bool) { return "mongodb://h", true }})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.opts, err, tc.want)
		}
	}
}

// Within a batch the last row of a key is the one written (bulk writes are
// unordered): the queue holds one replacement per _id.
func TestMongoBatchKeepsLastPerKey(t *testing.T) {
	w, err := mongosink.New(mongosink.Config{URI: "mongodb://127.0.0.1:1", Database: "d", Collection: "c",
		Record: barType, Key: []string{"symbol", "window_start"}, BatchRows: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rows := bars(t, 6, "1")
	rows = append(rows, bars(t, 6, "2")...)
	if err := w.Write(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	if got := w.Pending(); got != 6 {
		t.Fatalf("%d queued writes, want 6", got)
	}
}
