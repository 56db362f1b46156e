package nifi

import (
	"strings"
	"testing"
	"time"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// NiFi keeps no event-time state: a windowing is rejected with a
// positioned capability error at its node, naming what it is.
func TestWindowingIsRejectedAtTheNode(t *testing.T) {
	src := &ir.Source{Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{opt("brokers", "k:9092"), opt("topic", "t")}},
		Schema: tradeType, EventTime: "ts", OnError: ir.FailOnError}
	out := rtype.RecordOf(append(append([]rtype.Field{}, tradeType.Fields...),
		rtype.Field{Name: ir.WindowStart, Type: ts3}, rtype.Field{Name: ir.WindowEnd, Type: ts3})...)
	p := pipeline("tvf",
		node("trades", src, tradeType, 3),
		node("bars", &ir.Windowing{Window: &ir.Window{Kind: ir.Tumble, Size: time.Minute}}, out, 9, 1),
		node("out", &ir.Sink{Connector: ir.Connector{Kind: "kafka", Format: "json", Options: []ir.Option{opt("brokers", "k:9092"), opt("topic", "o")}}}, out, 12, 2),
	)
	var got []string
	for _, d := range Backend.Check(p, nil) {
		if d.Severity == diag.Error && d.Subject != nil {
			got = append(got, d.Subject.String()+" "+d.Code.String())
			if !strings.Contains(d.Detail, "window assignment") {
				t.Errorf("detail does not name the operator: %s", d.Detail)
			}
		}
	}
	if strings.Join(got, ",") != "spec.cue:9:3 "+diag.UnsupportedOperator.String() {
		t.Errorf("got %v, want one %s at spec.cue:9:3", got, diag.UnsupportedOperator)
	}
}
