package cuespec

import (
	"sort"
	"strings"

	"cuelang.org/go/cue"

	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/lang/spec"
)

// decoder turns an evaluated package into the spec model. It is best
// effort: a missing or erroneous value leaves the zero value (CUE's
// validation has reported it), and it never stops early.
type decoder struct {
	l  *loader
	pm *posMap
	// poisoned holds every prefix of the spec path of a reported
	// diagnostic ("\x00"-joined); exact holds the paths themselves.
	poisoned, exact map[string]bool
	// errPaths are the reported paths, for workflow-level checks.
	errPaths [][]string
}

// poison records the paths of reported diagnostics: a node, step,
// workflow or pipeline holding one is marked Invalid when decoded.
func (d *decoder) poison(ds diag.Diagnostics) {
	for _, x := range ds {
		if len(x.Path) == 0 {
			continue
		}
		if d.poisoned == nil {
			d.poisoned, d.exact = map[string]bool{}, map[string]bool{}
		}
		for n := 1; n <= len(x.Path); n++ {
			d.poisoned[strings.Join(x.Path[:n], "\x00")] = true
		}
		d.exact[strings.Join(x.Path, "\x00")] = true
		d.errPaths = append(d.errPaths, x.Path)
	}
}

// invalid reports whether a diagnostic was reported at or below path, or
// v itself is an error (which CUE may have reported only at the
// definition it comes from).
func (d *decoder) invalid(v cue.Value, path ...string) bool {
	if d.poisoned == nil {
		return false
	}
	return d.poisoned[strings.Join(path, "\x00")] || v.Err() != nil
}

// field is one regular field of a struct, in source order.
type field struct {
	name     string
	optional bool
	v        cue.Value
}

// fields lists the regular fields of v (optional ones too when opt).
func fields(v cue.Value, opt bool) []field {
	switch v.IncompleteKind() {
	case cue.StructKind:
	case cue.BottomKind:
		// A struct with an error below still lists its fields, so that a
		// partial model keeps what is valid; anything else is not a struct.
		if v.Err() == nil {
			return nil
		}
	default:
		return nil
	}
	var it *cue.Iterator
	var err error
	if opt {
		it, err = v.Fields(cue.Optional(true))
	} else {
		it, err = v.Fields()
	}
	if err != nil {
		return nil
	}
	var out []field
	for it.Next() {
		sel := it.Selector()
		if sel.IsDefinition() || sel.PkgPath() != "" {
			continue
		}
		out = append(out, field{name: selName(sel), optional: it.IsOptional(), v: it.Value()})
	}
	return out
}

func lookup(v cue.Value, name string) cue.Value {
	return v.LookupPath(cue.MakePath(cue.Str(name)))
}

func has(v cue.Value, name string) bool {
	x := lookup(v, name)
	return x.Exists() && x.IsConcrete()
}

func (d *decoder) str(v cue.Value) spec.String {
	s, err := v.String()
	if err != nil {
		return spec.String{}
	}
	return spec.String{Value: s, Range: d.pm.rng(d.pm.atValue(v.Pos()))}
}

func (d *decoder) strField(v cue.Value, name string) spec.String {
	return d.str(lookup(v, name))
}

func (d *decoder) intField(v cue.Value, name string) spec.Int {
	x := lookup(v, name)
	n, err := x.Int64()
	if err != nil {
		return spec.Int{}
	}
	return spec.Int{Value: n, Set: true, Range: d.pm.rng(x.Pos())}
}

func (d *decoder) floatField(v cue.Value, name string) spec.Float {
	x := lookup(v, name)
	f, err := x.Float64()
	if err != nil {
		return spec.Float{}
	}
	return spec.Float{Value: f, Set: true, Range: d.pm.rng(x.Pos())}
}

func (d *decoder) boolField(v cue.Value, name string) spec.Bool {
	x := lookup(v, name)
	b, err := x.Bool()
	if err != nil {
		return spec.Bool{}
	}
	return spec.Bool{Value: b, Set: true, Range: d.pm.rng(x.Pos())}
}

func (d *decoder) strList(v cue.Value) []spec.String {
	it, err := v.List()
	if err != nil {
		return nil
	}
	var out []spec.String
	for it.Next() {
		out = append(out, d.str(it.Value()))
	}
	return out
}

func (d *decoder) expr(v cue.Value) spec.Expr {
	s, err := v.String()
	if err != nil {
		return spec.Expr{}
	}
	return d.pm.exprAt(s, d.pm.atValue(v.Pos()))
}

func (d *decoder) exprPtr(v cue.Value, name string) *spec.Expr {
	x := lookup(v, name)
	if !x.Exists() {
		return nil
	}
	e := d.expr(x)
	if e.Text == "" && !e.Range.IsValid() {
		return nil
	}
	return &e
}

func (d *decoder) named(v cue.Value) []spec.Named {
	var out []spec.Named
	for _, f := range fields(v, false) {
		out = append(out, spec.Named{Name: f.name, NameRange: d.pm.labelOf(f.v, f.name), Expr: d.expr(f.v)})
	}
	return out
}

func (d *decoder) kvs(v cue.Value) []spec.KV {
	var out []spec.KV
	for _, f := range fields(v, false) {
		var s string
		switch f.v.Kind() {
		case cue.StringKind:
			s, _ = f.v.String()
		case cue.BottomKind:
			continue
		default:
			b, err := f.v.MarshalJSON()
			if err != nil {
				continue
			}
			s = string(b)
		}
		out = append(out, spec.KV{Key: f.name, Value: s, Range: d.pm.labelOf(f.v, f.name)})
	}
	return out
}

func (d *decoder) sortedKVs(v cue.Value) []spec.KV {
	out := d.kvs(v)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (d *decoder) errorf(code diag.Code, r diag.Range, summary, format string, args ...any) {
	d.l.ds = append(d.l.ds, diag.Errorf(code, r, summary, format, args...))
}

// decodeFile appends the pipelines, workflows and environments of v.
func (d *decoder) decodeFile(v cue.Value) {
	f := d.l.file
	for _, p := range fields(lookup(v, "pipelines"), false) {
		f.Pipelines = append(f.Pipelines, d.pipeline(p))
	}
	for _, w := range fields(lookup(v, "workflows"), false) {
		wf := d.workflow(w)
		wf.Invalid = d.workflowInvalid(w.name)
		f.Workflows = append(f.Workflows, wf)
	}
	for _, e := range fields(lookup(v, "environments"), false) {
		f.Environments = append(f.Environments, d.environment(e))
	}
}

func (d *decoder) pipeline(pf field) *spec.Pipeline {
	v := pf.v
	p := &spec.Pipeline{Range: d.pm.labelOf(v, pf.name)}
	p.Name = spec.String{Value: pf.name, Range: p.Range}
	if has(v, "name") {
		p.Name = d.strField(v, "name")
	}
	p.Mode = d.strField(v, "mode")
	p.Engine = d.strField(v, "engine")
	p.Owner = d.strField(v, "owner")
	p.Description = d.strField(v, "description")
	p.Labels = d.sortedKVs(lookup(v, "labels"))
	if d.exact[strings.Join([]string{"pipelines", pf.name}, "\x00")] {
		// The pipeline as a whole is wrong (not a struct, not closed).
		p.Invalid = true
	}
	for _, sect := range []struct {
		name string
		role spec.Role
	}{{"sources", spec.SourceRole}, {"transforms", spec.TransformRole}, {"sinks", spec.SinkRole}} {
		sv := lookup(v, sect.name)
		if d.poisoned != nil && (d.exact[strings.Join([]string{"pipelines", pf.name, sect.name}, "\x00")] ||
			sv.Exists() && sv.IncompleteKind() != cue.StructKind && sv.Err() != nil && len(fields(sv, false)) == 0) {
			// The section itself is wrong: its nodes are unknown, so
			// nothing that refers to them can be checked.
			p.Invalid = true
		}
		for _, nf := range fields(sv, false) {
			if n := d.node(nf, sect.role); n != nil {
				n.Invalid = d.invalid(nf.v, "pipelines", pf.name, sect.name, nf.name)
				p.Nodes = append(p.Nodes, n)
			}
		}
	}
	p.Deploy = d.deploy(lookup(v, "deploy"))
	return p
}

func (d *decoder) node(nf field, role spec.Role) *spec.Node {
	v := nf.v
	n := &spec.Node{Role: role, Range: d.pm.labelOf(v, nf.name)}
	n.Name = spec.String{Value: nf.name, Range: n.Range}
	n.Kind = d.strField(v, "kind")
	if !n.Kind.Range.IsValid() || strings.HasPrefix(n.Kind.Range.Filename, stdlibPrefix) {
		// The kind comes from the schema's operator or connector: point at
		// the node.
		n.Kind.Range = n.Range
	}
	n.Doc = d.strField(v, "description")
	if k := v.IncompleteKind(); k != cue.StructKind && (k != cue.BottomKind || v.Err() == nil) {
		return n
	}
	switch n.Kind.Value {
	case "join":
		for _, side := range []string{"left", "right"} {
			n.From = append(n.From, d.strField(lookup(v, side), "from"))
		}
	default:
		from := lookup(v, "from")
		if from.IncompleteKind() == cue.ListKind {
			n.From = d.strList(from)
		} else if from.Exists() {
			n.From = []spec.String{d.str(from)}
		}
	}
	switch n.Kind.Value {
	case "source":
		n.Source = d.source(v)
	case "sink":
		n.Sink = d.sink(v)
	case "filter":
		n.Filter = &spec.Filter{Where: d.expr(lookup(v, "where"))}
	case "map":
		n.Map = &spec.Map{Select: d.named(lookup(v, "select")), Drop: d.strList(lookup(v, "drop"))}
		if b, err := lookup(v, "keep").Bool(); err == nil {
			n.Map.Keep = b
		}
	case "aggregate":
		n.Aggregate = &spec.Aggregate{
			By:              d.strList(lookup(v, "by")),
			Window:          d.window(lookup(v, "window")),
			Select:          d.named(lookup(v, "select")),
			Having:          d.exprPtr(v, "having"),
			AllowedLateness: d.strField(v, "allowedLateness"),
			LateOutput:      d.strField(v, "lateOutput"),
		}
	case "rolling":
		n.Rolling = &spec.Rolling{
			By:      d.strList(lookup(v, "by")),
			OrderBy: d.strField(v, "orderBy"),
			Range:   d.strField(v, "range"),
			Rows:    d.intField(v, "rows"),
			Select:  d.named(lookup(v, "select")),
		}
	case "join":
		j := &spec.Join{
			Type:   d.strField(v, "type"),
			On:     d.keyPairs(lookup(v, "on")),
			Window: d.window(lookup(v, "window")),
			Where:  d.exprPtr(v, "where"),
			Select: d.named(lookup(v, "select")),
		}
		j.Left = spec.JoinSide{From: d.strField(lookup(v, "left"), "from"), As: d.strField(lookup(v, "left"), "as")}
		j.Right = spec.JoinSide{From: d.strField(lookup(v, "right"), "from"), As: d.strField(lookup(v, "right"), "as")}
		if b := lookup(v, "between"); b.Exists() {
			j.Lower = d.strField(b, "lower")
			j.Upper = d.strField(b, "upper")
		}
		n.Join = j
	case "lookup":
		t := lookup(v, "table")
		n.Lookup = &spec.Lookup{
			Type:      d.strField(v, "type"),
			Table:     d.connector(t, lookupCore),
			Schema:    d.record(lookup(v, "schema"), ""),
			On:        d.keyPairs(lookup(v, "on")),
			AsOf:      d.strField(v, "asOf"),
			Select:    d.named(lookup(v, "select")),
			CacheTTL:  d.strField(v, "cacheTTL"),
			CacheRows: d.intField(v, "cacheRows"),
		}
	case "pattern":
		n.Pattern = &spec.Pattern{
			PartitionBy: d.strList(lookup(v, "partitionBy")),
			OrderBy:     d.strField(v, "orderBy"),
			Pattern:     d.expr(lookup(v, "pattern")),
			Define:      d.named(lookup(v, "define")),
			Measures:    d.named(lookup(v, "measures")),
			Within:      d.strField(v, "within"),
			AfterMatch:  d.strField(v, "afterMatch"),
			To:          d.strField(v, "to"),
		}
	case "dedupe":
		n.Dedupe = &spec.Dedupe{
			By:      d.strList(lookup(v, "by")),
			Keep:    d.strField(v, "keep"),
			OrderBy: d.strField(v, "orderBy"),
			Within:  d.strField(v, "within"),
		}
	case "topn":
		t := &spec.TopN{
			By:        d.strList(lookup(v, "by")),
			N:         d.intField(v, "n"),
			Window:    d.window(lookup(v, "window")),
			RankField: d.strField(v, "rankField"),
		}
		if it, err := lookup(v, "orderBy").List(); err == nil {
			for it.Next() {
				o := it.Value()
				if o.Kind() == cue.StringKind {
					t.OrderBy = append(t.OrderBy, spec.Order{Field: d.str(o)})
					continue
				}
				desc, _ := lookup(o, "desc").Bool()
				t.OrderBy = append(t.OrderBy, spec.Order{Field: d.strField(o, "field"), Desc: desc})
			}
		}
		n.TopN = t
	case "union":
		n.Union = &spec.Union{}
	case "windowing":
		n.Windowing = &spec.Windowing{Window: d.window(lookup(v, "window"))}
	default:
		if n.Kind.Value == "" {
			if v.Err() == nil {
				d.errorf(diag.InvalidSpec, n.Range, "Node without kind",
					"Node %q has no kind. Write it with an operator or connector of the schema (rtsap.#Filter & {…}, kafka.#Source & {…}).", nf.name)
			}
		} else {
			d.errorf(diag.InvalidSpec, n.Kind.Range, "Unknown node kind", "%q is not a node kind.", n.Kind.Value)
		}
	}
	return n
}

// Fields of a source or sink that are not connector options.
var (
	sourceCore = map[string]bool{"kind": true, "from": true, "schema": true, "eventTime": true, "onError": true,
		"bounded": true, "key": true, "format": true, "connector": true, "description": true}
	lookupCore = map[string]bool{"connector": true, "format": true}
)

func (d *decoder) connector(v cue.Value, core map[string]bool) spec.Connector {
	c := spec.Connector{Kind: d.strField(v, "connector"), Format: d.strField(v, "format")}
	for _, f := range fields(v, false) {
		if core[f.name] {
			continue
		}
		if o, ok := d.option(f); ok {
			c.Options = append(c.Options, o)
		}
	}
	sort.SliceStable(c.Options, func(i, j int) bool { return c.Options[i].Key < c.Options[j].Key })
	return c
}

func (d *decoder) option(f field) (spec.Option, bool) {
	val, ok := d.optionValue(f.v)
	if !ok {
		return spec.Option{}, false
	}
	return spec.Option{Key: f.name, Value: val, Range: d.pm.labelOf(f.v, f.name)}, true
}

// optionValue is string, int64, float64, bool, []any, []spec.Option or
// *spec.Secret.
func (d *decoder) optionValue(v cue.Value) (any, bool) {
	switch v.Kind() {
	case cue.StringKind:
		s, _ := v.String()
		return s, true
	case cue.IntKind:
		n, err := v.Int64()
		return n, err == nil
	case cue.FloatKind, cue.NumberKind:
		x, err := v.Float64()
		return x, err == nil
	case cue.BoolKind:
		b, _ := v.Bool()
		return b, true
	case cue.NullKind:
		return nil, false
	case cue.ListKind:
		it, err := v.List()
		if err != nil {
			return nil, false
		}
		out := []any{}
		for it.Next() {
			if x, ok := d.optionValue(it.Value()); ok {
				out = append(out, x)
			}
		}
		return out, true
	case cue.StructKind:
		if k, _ := lookup(v, "kind").String(); k == "secret" {
			return d.secret(v), true
		}
		var opts []spec.Option
		for _, f := range fields(v, false) {
			if o, ok := d.option(f); ok {
				opts = append(opts, o)
			}
		}
		sort.SliceStable(opts, func(i, j int) bool { return opts[i].Key < opts[j].Key })
		if opts == nil {
			opts = []spec.Option{}
		}
		return opts, true
	}
	return nil, false
}

func (d *decoder) secret(v cue.Value) *spec.Secret {
	return &spec.Secret{
		Name:  d.strField(v, "name"),
		Key:   d.strField(v, "key"),
		Env:   d.strField(v, "env"),
		Range: d.pm.labelOf(v, ""),
	}
}

func (d *decoder) source(v cue.Value) *spec.Source {
	s := &spec.Source{
		Connector: d.connector(v, sourceCore),
		Schema:    d.record(lookup(v, "schema"), ""),
		Bounded:   d.boolField(v, "bounded"),
	}
	if et := lookup(v, "eventTime"); et.Exists() {
		s.EventTime = &spec.EventTime{
			Field:             d.strField(et, "field"),
			MaxOutOfOrderness: d.strField(et, "maxOutOfOrderness"),
			Range:             d.pm.labelOf(et, "eventTime"),
		}
	}
	if oe := lookup(v, "onError"); oe.Exists() {
		s.OnError = spec.OnError{
			Policy:     d.strField(oe, "policy"),
			DeadLetter: d.strField(oe, "deadLetter"),
			Range:      d.pm.labelOf(oe, "onError"),
		}
	}
	return s
}

func (d *decoder) sink(v cue.Value) *spec.Sink {
	s := &spec.Sink{
		Connector: d.connector(v, sourceCore),
		Key:       d.strList(lookup(v, "key")),
	}
	if sc := lookup(v, "schema"); sc.Exists() {
		s.Schema = d.record(sc, "")
	}
	return s
}

// record decodes a record schema; optional fields are nullable columns.
func (d *decoder) record(v cue.Value, name string) *spec.Record {
	if !v.Exists() {
		return nil
	}
	r := &spec.Record{Name: name, Range: d.pm.labelOf(v, "schema")}
	if name == "" {
		r.Name = defName(v)
	}
	for _, f := range fields(v, true) {
		fd := &spec.Field{Name: f.name, Optional: f.optional, Range: d.pm.labelOf(f.v, f.name)}
		switch f.v.IncompleteKind() {
		case cue.StructKind:
			fd.Nested = d.record(f.v, "")
		default:
			fd.Type = d.str(f.v)
		}
		r.Fields = append(r.Fields, fd)
	}
	return r
}

// defName is the name of the user's definition a record comes from (#Trade),
// when v is a plain reference to one.
func defName(v cue.Value) string {
	op, args := v.Expr()
	if op == cue.AndOp {
		for _, a := range args {
			if n := defName(a); n != "" {
				return n
			}
		}
		return ""
	}
	_, path := v.ReferencePath()
	sels := path.Selectors()
	if len(sels) > 0 && sels[len(sels)-1].IsDefinition() {
		return sels[len(sels)-1].String()
	}
	return ""
}

func (d *decoder) window(v cue.Value) *spec.Window {
	if !v.Exists() || v.IncompleteKind() != cue.StructKind {
		return nil
	}
	for _, f := range fields(v, false) {
		w := &spec.Window{Kind: spec.String{Value: f.name, Range: d.pm.labelOf(f.v, f.name)}, Range: d.pm.labelOf(v, "window")}
		w.Size = d.strField(f.v, "size")
		w.Slide = d.strField(f.v, "slide")
		w.Gap = d.strField(f.v, "gap")
		w.Step = d.strField(f.v, "step")
		w.Offset = d.strField(f.v, "offset")
		return w
	}
	return nil
}

func (d *decoder) keyPairs(v cue.Value) []spec.KeyPair {
	it, err := v.List()
	if err != nil {
		return nil
	}
	var out []spec.KeyPair
	for it.Next() {
		e := it.Value()
		if e.Kind() == cue.StringKind {
			s := d.str(e)
			out = append(out, spec.KeyPair{Left: s, Right: s})
			continue
		}
		out = append(out, spec.KeyPair{Left: d.strField(e, "left"), Right: d.strField(e, "right")})
	}
	return out
}

func (d *decoder) deploy(v cue.Value) spec.Deploy {
	if !v.Exists() {
		return spec.Deploy{}
	}
	dp := spec.Deploy{
		Parallelism:    d.intField(v, "parallelism"),
		MaxParallelism: d.intField(v, "maxParallelism"),
		Config:         d.sortedKVs(lookup(v, "config")),
		Image:          d.strField(v, "image"),
		Range:          d.pm.labelOf(v, "deploy"),
	}
	r := lookup(v, "resources")
	dp.Resources = spec.Resources{CPU: d.floatField(r, "cpu"), Memory: d.strField(r, "memory"), Replicas: d.intField(r, "replicas")}
	c := lookup(v, "checkpoint")
	dp.Checkpoint = spec.Checkpoint{
		Interval:     d.strField(c, "interval"),
		Dir:          d.strField(c, "dir"),
		SavepointDir: d.strField(c, "savepointDir"),
		Mode:         d.strField(c, "mode"),
		StateBackend: d.strField(c, "stateBackend"),
		UpgradeMode:  d.strField(c, "upgradeMode"),
	}
	return dp
}

func (d *decoder) environment(ef field) *spec.Environment {
	v := ef.v
	e := &spec.Environment{Range: d.pm.labelOf(v, ef.name)}
	e.Name = spec.String{Value: ef.name, Range: e.Range}
	e.Namespace = d.strField(v, "namespace")
	e.Labels = d.sortedKVs(lookup(v, "labels"))
	e.Scale = d.floatField(v, "scale")
	for _, cf := range fields(lookup(v, "connections"), false) {
		c := spec.Connection{Name: spec.String{Value: cf.name, Range: d.pm.labelOf(cf.v, cf.name)}, Kind: d.strField(cf.v, "kind")}
		c.Options = d.connector(cf.v, map[string]bool{"kind": true}).Options
		e.Connections = append(e.Connections, c)
	}
	if t := lookup(v, "targets"); t.Exists() {
		e.Targets = d.connector(t, map[string]bool{}).Options
	}
	return e
}

func (d *decoder) workflow(wf field) *spec.Workflow {
	v := wf.v
	w := &spec.Workflow{Range: d.pm.labelOf(v, wf.name)}
	w.Name = spec.String{Value: wf.name, Range: w.Range}
	w.Description = d.strField(v, "description")
	if s := lookup(v, "schedule"); s.Exists() {
		w.Schedule = &spec.Schedule{
			Cron:              d.strField(s, "cron"),
			Timezone:          d.strField(s, "timezone"),
			ConcurrencyPolicy: d.strField(s, "concurrencyPolicy"),
			StartingDeadline:  d.strField(s, "startingDeadline"),
			Suspend:           d.boolField(s, "suspend"),
		}
	}
	w.Params = d.sortedKVs(lookup(v, "params"))
	for _, sf := range fields(lookup(v, "steps"), false) {
		st := d.step(sf)
		st.Invalid = d.invalid(sf.v, "workflows", wf.name, "steps", sf.name)
		w.Steps = append(w.Steps, st)
	}
	if x := lookup(v, "onExit"); x.Exists() {
		w.OnExit = d.step(field{name: "onExit", v: x})
		w.OnExit.Invalid = d.invalid(x, "workflows", wf.name, "onExit")
	}
	w.ActiveDeadline = d.strField(v, "activeDeadline")
	return w
}

func (d *decoder) step(sf field) *spec.Step {
	v := sf.v
	s := &spec.Step{Range: d.pm.labelOf(v, sf.name)}
	s.Name = spec.String{Value: sf.name, Range: s.Range}
	s.Pipeline = d.strField(v, "pipeline")
	if c := lookup(v, "container"); c.Exists() {
		s.Container = &spec.Container{
			Image:   d.strField(c, "image"),
			Command: d.strList(lookup(c, "command")),
			Args:    d.strList(lookup(c, "args")),
			Env:     d.sortedKVs(lookup(c, "env")),
		}
	}
	s.DependsOn = d.strList(lookup(v, "dependsOn"))
	if r := lookup(v, "retry"); r.Exists() {
		s.Retry = &spec.Retry{
			Limit:       d.intField(r, "limit"),
			Policy:      d.strField(r, "policy"),
			Backoff:     d.strField(r, "backoff"),
			Factor:      d.floatField(r, "factor"),
			MaxDuration: d.strField(r, "maxDuration"),
		}
	}
	s.Timeout = d.strField(v, "timeout")
	s.Params = d.sortedKVs(lookup(v, "params"))
	return s
}

// workflowInvalid reports a diagnostic in workflow name outside its steps
// (its schedule, its steps section as a whole).
func (d *decoder) workflowInvalid(name string) bool {
	for _, p := range d.errPaths {
		if len(p) < 2 || p[0] != "workflows" || p[1] != name {
			continue
		}
		if len(p) >= 4 && p[2] == "steps" || len(p) >= 3 && p[2] == "onExit" {
			continue
		}
		return true
	}
	return false
}

const stdlibPrefix = "rtsap.dev/rtsap/"

// selName is the name of a field label; Selector.Unquoted panics on labels
// that are not strings (hidden fields, definitions, indices).
func selName(sel cue.Selector) string {
	if sel.LabelType() == cue.StringLabel {
		return sel.Unquoted()
	}
	return strings.TrimSuffix(strings.TrimSuffix(sel.String(), "?"), "!")
}
