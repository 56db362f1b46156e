package nifi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// DefaultVersion is the NiFi release whose bundles the flow names
// (setting "nifi.version"). NiFi resolves a compatible bundle on import when
// the installed version differs.
const DefaultVersion = "2.11.0"

const group = "org.apache.nifi"

// Relationship names of the processors used.
const (
	relSuccess      = "success"
	relFailure      = "failure"
	relRetry        = "retry"
	relOriginal     = "original"
	relParseFailure = "parse failure"
	relSelected     = "selected" // QueryRecord's one dynamic relationship
)

type port struct {
	proc *Processor
	rel  string
}

type builder struct {
	pl       *ir.Pipeline
	opts     *backends.Options
	version  string
	groupID  string
	procs    []*Processor
	rels     map[*Processor][]string // every relationship of a processor
	conns    []*Connection
	funnels  []*Funnel
	services []*ControllerService
	byKey    map[string]*ControllerService
	params   map[string]*Parameter
	outs     map[ir.NodeID][]port
	start    map[ir.NodeID]string // http sources: the JSON field holding the records
	ds       diag.Diagnostics
}

// Flow builds the flow definition of one pipeline. Check must have passed:
// Flow reports what it cannot build as diagnostics too, never panicking.
func Flow(pl *ir.Pipeline, opts *backends.Options) (*Snapshot, diag.Diagnostics) {
	b := &builder{
		pl: pl, opts: opts, version: opts.Setting("nifi.version", DefaultVersion),
		groupID: id("group", pl.Name), rels: map[*Processor][]string{},
		byKey: map[string]*ControllerService{}, params: map[string]*Parameter{}, outs: map[ir.NodeID][]port{}, start: map[ir.NodeID]string{},
	}
	for _, n := range pl.Nodes {
		b.node(n)
	}
	b.terminate()
	b.layout()

	pg := &ProcessGroup{
		Identifier: b.groupID, InstanceIdentifier: id("instance", "group", pl.Name), Name: pl.Name,
		Comments: pl.Description, ProcessGroups: []any{}, RemoteProcessGroups: []any{},
		Processors: b.procs, InputPorts: []any{}, OutputPorts: []any{}, Connections: b.conns, Labels: []any{},
		Funnels: b.funnels, ControllerServices: b.services, ParameterContextName: pl.Name,
		DefaultFlowFileExpiration: "0 sec", DefaultBackPressureObjectThreshold: 10000,
		DefaultBackPressureDataSizeThreshold: "1 GB", ScheduledState: "ENABLED", ExecutionEngine: "INHERITED",
		MaxConcurrentTasks: 1, StatelessFlowTimeout: "1 min", ComponentType: "PROCESS_GROUP",
		FlowFileConcurrency: "UNBOUNDED", FlowFileOutboundPolicy: "STREAM_WHEN_AVAILABLE",
	}
	if pg.Funnels == nil {
		pg.Funnels = []*Funnel{}
	}
	if pg.Connections == nil {
		pg.Connections = []*Connection{}
	}
	if pg.ControllerServices == nil {
		pg.ControllerServices = []*ControllerService{}
	}
	ctx := &ParameterContext{Name: pl.Name, Parameters: []*Parameter{}, InheritedParameterContexts: []string{},
		Description: "Parameters of rtsapc pipeline " + pl.Name, ComponentType: "PARAMETER_CONTEXT"}
	var names []string
	for n := range b.params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ctx.Parameters = append(ctx.Parameters, b.params[n])
	}
	return &Snapshot{
		FlowContents: pg, ExternalControllerServices: map[string]any{},
		ParameterContexts: map[string]*ParameterContext{pl.Name: ctx}, FlowEncodingVersion: "1.0",
		ParameterProviders: map[string]any{}, Latest: false,
	}, b.ds
}

// Encode renders a snapshot as NiFi writes it: two-space indented JSON, no
// HTML escaping, a final newline.
func Encode(s *Snapshot) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func generate(g *backends.Gen) (*artifact.Set, diag.Diagnostics) {
	set := &artifact.Set{}
	var ds diag.Diagnostics
	for _, pl := range g.Pipelines {
		snap, fds := Flow(pl, g.Options)
		ds = ds.Extend(fds)
		if fds.HasErrors() {
			continue
		}
		data, err := Encode(snap)
		if err != nil {
			ds = ds.Append(diag.Errorf(diag.InternalError, pl.Pos, "Cannot encode NiFi flow", "%v", err))
			continue
		}
		if errs := Validate(snap); len(errs) > 0 {
			ds = ds.Append(diag.Errorf(diag.InvalidArtifact, pl.Pos, "Generated NiFi flow is inconsistent",
				"This is a bug in rtsapc: %s", strings.Join(errs, "; ")))
			continue
		}
		set.Add(&artifact.File{Path: artifact.PathSegment(pl.Name) + "/nifi/flow.json", Kind: artifact.JSON, Data: data,
			Pipeline: pl.Name, Target: "nifi"})
		lfs, lds := lineageFiles(g.Program, pl, g.Options)
		ds = ds.Extend(lds)
		for _, f := range lfs {
			set.Add(f)
		}
	}
	return set, ds
}

func (b *builder) errorf(code diag.Code, r diag.Range, summary, format string, args ...any) {
	b.ds = b.ds.Append(diag.Errorf(code, r, summary, format, args...))
}

func (b *builder) bundle(artifact string) Bundle {
	return Bundle{Group: group, Artifact: artifact, Version: b.version}
}

// processor adds a processor with NiFi's defaults.
func (b *builder) processor(n *ir.Node, role, name, typ, artifact string, rels ...string) *Processor {
	p := &Processor{
		Identifier: id("processor", b.pl.Name, n.Name, role), InstanceIdentifier: id("instance", "processor", b.pl.Name, n.Name, role),
		Name: name, Comments: n.Doc, Type: typ, Bundle: b.bundle(artifact),
		Properties: map[string]string{}, PropertyDescriptors: map[string]*PropertyDescriptor{}, Style: map[string]string{},
		SchedulingPeriod: "0 sec", SchedulingStrategy: "TIMER_DRIVEN", ExecutionNode: "ALL", PenaltyDuration: "30 sec",
		YieldDuration: "1 sec", BulletinLevel: "WARN", ConcurrentlySchedulableTaskCount: 1,
		AutoTerminatedRelationships: []string{}, ScheduledState: "ENABLED", RetryCount: 10,
		RetriedRelationships: []string{}, BackoffMechanism: "PENALIZE_FLOWFILE", MaxBackoffPeriod: "10 mins",
		ComponentType: "PROCESSOR", GroupIdentifier: b.groupID,
	}
	b.procs = append(b.procs, p)
	b.rels[p] = rels
	return p
}

// prop describes a property the backend sets.
type prop struct {
	name, display string
	el            bool // supports Expression Language
	service       bool // holds a controller service identifier
	sensitive     bool
	dynamic       bool
}

// set stores a literal (escaped) or a sensitive parameter reference.
func (b *builder) set(props map[string]string, descs map[string]*PropertyDescriptor, p prop, v value) {
	display := p.display
	if display == "" {
		display = p.name
	}
	descs[p.name] = &PropertyDescriptor{Name: p.name, DisplayName: display, IdentifiesControllerService: p.service,
		Sensitive: p.sensitive, Dynamic: p.dynamic}
	switch {
	case v.secret != nil:
		props[p.name] = "#{" + b.secretParam(v.secret, v.pos) + "}"
	case v.param != "":
		props[p.name] = "#{" + v.param + "}"
	case p.service:
		props[p.name] = v.s // an identifier we generated
	default:
		props[p.name] = Literal(v.s, p.el)
	}
}

func lit(s string) value { return value{s: s, set: true} }

func (b *builder) setP(p *Processor, pr prop, v value) {
	b.set(p.Properties, p.PropertyDescriptors, pr, v)
}
func (b *builder) setS(s *ControllerService, pr prop, v value) {
	b.set(s.Properties, s.PropertyDescriptors, pr, v)
}

// parameter names: letters, digits, spaces, '.', '_' and '-' (NiFi's
// parameter name rule).
var paramName = regexp.MustCompile(`^[A-Za-z0-9 ._-]+$`)

// secretParam declares the sensitive parameter holding a secret and returns
// its name. Its value is never written: the operator supplies it at import
// (or a parameter provider does), as for NiFi's own exports.
func (b *builder) secretParam(s *ir.Secret, pos diag.Range) string {
	name := s.Name + " " + s.Key
	if !paramName.MatchString(s.Name) || !paramName.MatchString(s.Key) || strings.Contains(s.Name, " ") {
		b.errorf(diag.UnrepresentableName, pos, "Secret name not usable as a NiFi parameter",
			"NiFi parameter names may hold letters, digits, spaces, '.', '_' and '-'; secret %q key %q cannot be named that way. Rename the secret.", s.Name, s.Key)
		return "invalid"
	}
	if _, ok := b.params[name]; !ok {
		desc := fmt.Sprintf("Kubernetes Secret %s, key %s", s.Name, s.Key)
		if s.Env != "" {
			desc += fmt.Sprintf(" (environment variable %s)", s.Env)
		}
		b.params[name] = &Parameter{Name: name, Description: desc, Sensitive: true}
	}
	return name
}

// service returns the controller service with key, creating it with mk.
func (b *builder) service(key, name, typ, artifact string, apis []ServiceAPI, mk func(*ControllerService)) *ControllerService {
	if s, ok := b.byKey[key]; ok {
		return s
	}
	s := &ControllerService{
		Identifier: id("service", b.pl.Name, key), InstanceIdentifier: id("instance", "service", b.pl.Name, key),
		Name: name, Type: typ, Bundle: b.bundle(artifact), Properties: map[string]string{},
		PropertyDescriptors: map[string]*PropertyDescriptor{}, ControllerServiceApis: apis,
		ScheduledState: "DISABLED", BulletinLevel: "WARN", ComponentType: "CONTROLLER_SERVICE", GroupIdentifier: b.groupID,
	}
	mk(s)
	b.byKey[key] = s
	b.services = append(b.services, s)
	return s
}

func (b *builder) api(typ, artifact string) ServiceAPI {
	return ServiceAPI{Type: typ, Bundle: b.bundle(artifact)}
}

// connect wires every port of from into dest.
func (b *builder) connect(from []port, dest *Processor) {
	for _, p := range from {
		b.link(p.proc, p.rel, dest, 10000)
	}
}

func connectable(p *Processor) Connectable {
	return Connectable{ID: p.Identifier, Type: "PROCESSOR", GroupID: p.GroupIdentifier, Name: p.Name, InstanceIdentifier: p.InstanceIdentifier}
}

func (b *builder) link(src *Processor, rel string, dest *Processor, threshold int64) *Connection {
	n := len(b.conns)
	c := &Connection{
		Identifier:         id("connection", b.pl.Name, src.Identifier, rel, dest.Identifier, fmt.Sprint(n)),
		InstanceIdentifier: id("instance", "connection", b.pl.Name, src.Identifier, rel, dest.Identifier, fmt.Sprint(n)),
		Source:             connectable(src), Destination: connectable(dest), SelectedRelationships: []string{rel},
		BackPressureObjectThreshold: threshold, BackPressureDataSizeThreshold: "1 GB", FlowFileExpiration: "0 sec",
		Prioritizers: []string{}, Bends: []Position{}, LoadBalanceStrategy: "DO_NOT_LOAD_BALANCE",
		LoadBalanceCompression: "DO_NOT_COMPRESS", ComponentType: "CONNECTION", GroupIdentifier: b.groupID,
	}
	b.conns = append(b.conns, c)
	return c
}

// retryLoop keeps failed FlowFiles: the relationship loops back to the
// processor, which retries them after the penalty. Nothing is dropped
// silently, and the queue shows what is stuck.
func (b *builder) retryLoop(p *Processor, rel string) {
	b.link(p, rel, p, 10000)
}

// holdFunnel routes rel into a funnel with no way out and a back-pressure
// threshold of one: the first FlowFile on it stops the processor, which is
// NiFi's form of "fail" (the record is kept for inspection).
func (b *builder) holdFunnel(p *Processor, rel string) {
	f := &Funnel{Identifier: id("funnel", b.pl.Name, p.Identifier, rel), InstanceIdentifier: id("instance", "funnel", b.pl.Name, p.Identifier, rel),
		ComponentType: "FUNNEL", GroupIdentifier: b.groupID}
	b.funnels = append(b.funnels, f)
	n := len(b.conns)
	c := &Connection{
		Identifier:            id("connection", b.pl.Name, p.Identifier, rel, f.Identifier, fmt.Sprint(n)),
		InstanceIdentifier:    id("instance", "connection", b.pl.Name, p.Identifier, rel, f.Identifier, fmt.Sprint(n)),
		Name:                  "malformed records (onError: fail)",
		Source:                connectable(p),
		Destination:           Connectable{ID: f.Identifier, Type: "FUNNEL", GroupID: b.groupID, Name: "Funnel", InstanceIdentifier: f.InstanceIdentifier},
		SelectedRelationships: []string{rel}, BackPressureObjectThreshold: 1, BackPressureDataSizeThreshold: "1 GB",
		FlowFileExpiration: "0 sec", Prioritizers: []string{}, Bends: []Position{}, LoadBalanceStrategy: "DO_NOT_LOAD_BALANCE",
		LoadBalanceCompression: "DO_NOT_COMPRESS", ComponentType: "CONNECTION", GroupIdentifier: b.groupID,
	}
	b.conns = append(b.conns, c)
}

// terminate auto-terminates every relationship that no connection takes.
func (b *builder) terminate() {
	used := map[string]bool{}
	for _, c := range b.conns {
		for _, r := range c.SelectedRelationships {
			used[c.Source.ID+"\x00"+r] = true
		}
	}
	for _, p := range b.procs {
		for _, r := range b.rels[p] {
			if !used[p.Identifier+"\x00"+r] {
				p.AutoTerminatedRelationships = append(p.AutoTerminatedRelationships, r)
			}
		}
		sort.Strings(p.AutoTerminatedRelationships)
	}
}

// layout places processors left to right by their distance from a source
// (longest path over connections, loops and retry loops left out), one row
// per processor in a column, and each funnel below the processor feeding it.
func (b *builder) layout() {
	const dx, dy = 480.0, 240.0
	next := map[string][]string{}
	indeg := map[string]int{}
	for _, c := range b.conns {
		if c.Source.ID != c.Destination.ID && c.Destination.Type == "PROCESSOR" {
			next[c.Source.ID] = append(next[c.Source.ID], c.Destination.ID)
			indeg[c.Destination.ID]++
		}
	}
	// Back edges (those closing a loop, as the cursor loop does) found by a
	// depth-first walk from the processors in creation order.
	back := map[[2]string]bool{}
	state := map[string]int{} // 1 on the stack, 2 done
	var visit func(id string)
	visit = func(id string) {
		state[id] = 1
		for _, to := range next[id] {
			switch state[to] {
			case 0:
				visit(to)
			case 1:
				back[[2]string{id, to}] = true
			}
		}
		state[id] = 2
	}
	for _, p := range b.procs {
		if indeg[p.Identifier] == 0 && state[p.Identifier] == 0 {
			visit(p.Identifier)
		}
	}
	for _, p := range b.procs {
		if state[p.Identifier] == 0 {
			visit(p.Identifier)
		}
	}
	depth := map[string]int{}
	for range b.procs {
		changed := false
		for from, tos := range next {
			for _, to := range tos {
				if back[[2]string{from, to}] {
					continue
				}
				if d := depth[from] + 1; d > depth[to] {
					depth[to] = d
					changed = true
				}
			}
		}
		if !changed {
			break
		}
	}
	rows := map[int]int{}
	pos := map[string]Position{}
	for _, p := range b.procs {
		d := depth[p.Identifier]
		p.Position = Position{X: float64(d) * dx, Y: float64(rows[d]) * dy}
		rows[d]++
		pos[p.Identifier] = p.Position
	}
	for _, c := range b.conns {
		switch {
		case c.Source.ID == c.Destination.ID:
			// A self loop needs bends to be visible on the canvas.
			p := pos[c.Source.ID]
			c.Bends = []Position{{X: p.X + 400, Y: p.Y + 40}, {X: p.X + 400, Y: p.Y + 120}}
		case c.Destination.Type == "FUNNEL":
			p := pos[c.Source.ID]
			for _, f := range b.funnels {
				if f.Identifier == c.Destination.ID {
					f.Position = Position{X: p.X + 150, Y: p.Y + 160}
				}
			}
		}
	}
}
