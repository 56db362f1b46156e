package passes

import (
	"fmt"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// unbounded lists connector kinds that never end unless told to.
var unbounded = map[string]bool{"kafka": true, "upsert-kafka": true, "http": true}

// check runs the checks that need every type: union inputs agree, sink
// schemas and upsert keys fit the records written, batch pipelines do not
// read endless sources, and every stream is read by someone.
func check(u *Unit) {
	for i, n := range u.P.Nodes {
		info := u.info[i]
		if info.placeholder || n.Out == nil || n.Out.Kind == rtype.Invalid {
			continue
		}
		switch op := n.Op.(type) {
		case *ir.Union:
			first := u.P.Node(n.Inputs[0])
			for k, id := range n.Inputs[1:] {
				in := u.P.Node(id)
				if in.Out.Kind == rtype.Invalid || rtype.Identical(in.Out, first.Out) {
					continue
				}
				at := n.Pos
				if f := froms(info.spec); k+1 < len(f) {
					at = orRange(f[k+1].Range, at)
				}
				u.errorf(diag.MismatchedSchema, at, "Mismatched schema",
					"Union inputs must have identical records: %s. Align them with a #Map before the union.", recordDiff(first.Name, first.Out, in.Name, in.Out))
			}
		case *ir.Sink:
			s := info.spec.Sink
			for _, k := range s.Key {
				if _, ok := n.Out.Field(k.Value); !ok {
					names := n.Out.FieldNames()
					u.errorf(diag.UnknownField, orRange(k.Range, n.Pos), "Unknown field",
						"Upsert key %q is not a column of the records written (from %q).%s Columns: %s.",
						k.Value, u.P.Node(n.Inputs[0]).Name, diag.DidYouMean(k.Value, names), quoteList(names))
				}
			}
			if op.Schema != nil && op.Schema.Kind == rtype.Record {
				sinkSchema(u, n, op.Schema, s.Schema)
			}
		case *ir.Source:
			if u.Mode == ir.Batch && unbounded[op.Connector.Kind] && !op.Bounded {
				u.warnf(diag.UnboundedBatchSource, n.Pos, "Unbounded source in batch pipeline",
					"Pipeline %q is batch but source %q (%s) never ends by itself, so the job would not finish. Set bounded: true to read what is present at start, or make the pipeline streaming.",
					u.P.Name, n.Name, op.Connector.Kind)
			}
		}
	}
	// Streams nobody reads (sinks, dead-letter and late outputs excepted:
	// side outputs may be declared for later use). Not after errors: a
	// broken reference would make its source look unused.
	if u.Diags.HasErrors() || u.poisoned {
		return
	}
	for i, n := range u.P.Nodes {
		switch n.Op.(type) {
		case *ir.Sink, *ir.DeadLetter, *ir.LateOutput:
			continue
		}
		if u.info[i].broken || u.info[i].placeholder || len(u.P.Consumers(n.ID)) > 0 {
			continue
		}
		u.warnf(diag.UnusedNode, u.info[i].nameAt, "Unused node",
			"Nothing reads %q: its results are computed and dropped. Add a sink `from: %q`, or remove it.", n.Name, n.Name)
	}
}

// sinkSchema checks that the records written fit the declared table.
func sinkSchema(u *Unit, n *ir.Node, want *rtype.Type, rec *spec.Record) {
	fieldAt := func(name string) diag.Range {
		if rec != nil {
			for _, f := range rec.Fields {
				if f.Name == name {
					return f.Range
				}
			}
			return orRange(rec.Range, n.Pos)
		}
		return n.Pos
	}
	src := u.P.Node(n.Inputs[0]).Name
	for _, wf := range want.Fields {
		got, ok := n.Out.Field(wf.Name)
		switch {
		case !ok && !wf.Nullable:
			u.errorf(diag.MismatchedSchema, fieldAt(wf.Name), "Mismatched schema",
				"The sink's schema requires column %q but %q does not produce it.%s Produce it upstream or mark it optional (%s?:).",
				wf.Name, src, diag.DidYouMean(wf.Name, n.Out.FieldNames()), wf.Name)
		case !ok:
		case !rtype.AssignableTo(got.Type, wf.Type):
			u.errorf(diag.MismatchedSchema, fieldAt(wf.Name), "Mismatched schema",
				"Column %q is %s in %q but the sink declares %s, which cannot hold it without loss. Widen the sink's type or convert upstream (e.g. decimal(x, p, s)).",
				wf.Name, got.Type, src, wf.Type)
		case got.Nullable && !wf.Nullable:
			u.errorf(diag.MismatchedSchema, fieldAt(wf.Name), "Mismatched schema",
				"Column %q may be null in %q but the sink declares it required. Mark it optional (%s?:) or fill it upstream with coalesce(%s, …).",
				wf.Name, src, wf.Name, wf.Name)
		}
	}
	for _, gf := range n.Out.Fields {
		if _, ok := want.Field(gf.Name); !ok {
			at := n.Pos
			if rec != nil {
				at = orRange(rec.Range, n.Pos)
			}
			u.errorf(diag.MismatchedSchema, at, "Mismatched schema",
				"%q produces column %q, which the sink's schema does not declare. Add it to the schema or drop it upstream with a #Map.", src, gf.Name)
		}
	}
}

// recordDiff explains the first difference between two records.
func recordDiff(an string, a *rtype.Type, bn string, b *rtype.Type) string {
	for i := 0; i < max(len(a.Fields), len(b.Fields)); i++ {
		switch {
		case i >= len(a.Fields):
			return fmt.Sprintf("%q has an extra field %q", bn, b.Fields[i].Name)
		case i >= len(b.Fields):
			return fmt.Sprintf("%q lacks field %q of %q", bn, a.Fields[i].Name, an)
		}
		fa, fb := a.Fields[i], b.Fields[i]
		switch {
		case fa.Name != fb.Name:
			return fmt.Sprintf("field %d is %q in %q but %q in %q", i+1, fa.Name, an, fb.Name, bn)
		case !rtype.Identical(fa.Type, fb.Type):
			return fmt.Sprintf("field %q is %s in %q but %s in %q", fa.Name, fa.Type, an, fb.Type, bn)
		case fa.Nullable != fb.Nullable:
			return fmt.Sprintf("field %q is nullable in only one of %q and %q", fa.Name, an, bn)
		}
	}
	return "they differ"
}
