package nifi

import (
	"regexp"
	"strings"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// Cursor paging: each poll sends back the cursor the previous response
// returned. InvokeHTTP keeps no state, so the flow keeps it in a stateful
// UpdateAttribute (state stored locally, on the primary node that polls):
//
//	GenerateFlowFile (every interval) ─► UpdateAttribute "cursor" ─► RouteOnAttribute
//	      ▲ (rtsap.next: the new cursor)        │ rtsap.cursor = state     │ poll (a tick)
//	      │                                     ▼                           ▼
//	EvaluateJsonPath "next" ◄──── Response ── InvokeHTTP (URL + cursor parameter)
//	      │ matched / unmatched: the response, to the consumers
//
// A response's cursor updates the state as its FlowFile passes the
// UpdateAttribute, and is then dropped by the router; a tick picks up the
// stored cursor on its way to InvokeHTTP. A response without a cursor keeps
// the previous one.

const (
	attrCursor = "rtsap.cursor"
	attrNext   = "rtsap.next"
)

var plainParam = regexp.MustCompile(`^[A-Za-z0-9_.~-]+$`)

func (b *builder) cursorPolling(n *ir.Node, op *ir.Source, http *Processor, cur ir.Option, u value, period string) {
	sub := &ir.Connector{}
	if kvs, ok := cur.Value.([]ir.Option); ok {
		sub.Options = kvs
	}
	field, param := option(sub, "field"), option(sub, "param")
	if !field.set || !param.set || !plainParam.MatchString(param.s) {
		b.errorf(diag.UnsupportedConnector, cur.Pos, "Cursor not supported by NiFi",
			"The cursor needs a response field and a query parameter made of letters, digits, '_', '.', '~' or '-'.")
		return
	}
	tick := b.processor(n, "tick", n.Name+" (tick)", "org.apache.nifi.processors.standard.GenerateFlowFile", narStandard, relSuccess)
	tick.SchedulingPeriod = period
	tick.ExecutionNode = "PRIMARY"
	b.setP(tick, prop{name: "File Size"}, lit("0B"))

	state := b.processor(n, "cursor", n.Name+" (cursor)", "org.apache.nifi.processors.attributes.UpdateAttribute", "nifi-update-attribute-nar", relSuccess, "set state fail")
	b.setP(state, prop{name: "Store State"}, lit("Store state locally"))
	b.setP(state, prop{name: "Stateful Variables Initial Value"}, lit(""))
	// Our own Expression Language (attribute names are fixed, no user text).
	state.Properties[attrCursor] = "${" + attrNext + ":isEmpty():ifElse(${getStateValue('" + attrCursor + "')}, ${" + attrNext + "})}"
	state.PropertyDescriptors[attrCursor] = &PropertyDescriptor{Name: attrCursor, DisplayName: attrCursor, Dynamic: true}
	state.ExecutionNode = "PRIMARY"

	route := b.processor(n, "route", n.Name+" (poll?)", "org.apache.nifi.processors.standard.RouteOnAttribute", narStandard, "unmatched", "poll")
	b.setP(route, prop{name: "Routing Strategy"}, lit("Route to Property name"))
	route.Properties["poll"] = "${" + attrNext + ":isNull()}"
	route.PropertyDescriptors["poll"] = &PropertyDescriptor{Name: "poll", DisplayName: "poll", Dynamic: true}

	sep := "?"
	if strings.Contains(u.s, "?") {
		sep = "&"
	}
	http.Properties[pHTTPURL.name] = Literal(u.s, true) +
		"${" + attrCursor + ":isEmpty():ifElse('', ${" + attrCursor + ":urlEncode():prepend('" + sep + param.s + "=')})}"

	extract := b.processor(n, "next", n.Name+" (next cursor)", "org.apache.nifi.processors.standard.EvaluateJsonPath", narStandard, "matched", "unmatched", relFailure)
	b.setP(extract, prop{name: "Destination"}, lit("flowfile-attribute"))
	b.setP(extract, prop{name: "Return Type"}, lit("scalar"))
	b.setP(extract, prop{name: "Path Not Found Behavior"}, lit("ignore"))
	b.setP(extract, prop{name: attrNext, dynamic: true}, lit("$['"+strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(field.s)+"']"))

	b.link(tick, relSuccess, state, 10000)
	b.link(state, relSuccess, route, 10000)
	b.retryLoop(state, "set state fail")
	b.link(route, "poll", http, 10000)
	b.link(http, "Response", extract, 10000)
	b.link(extract, "matched", state, 10000)
	if op.OnError != ir.SkipOnError {
		b.holdFunnel(extract, relFailure)
	}
	b.outs[n.ID] = []port{{extract, "matched"}, {extract, "unmatched"}}
}
