package openlineage

import (
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/compiler/rtype"
	"rtsap.dev/rtsapc/lang/diag"
)

// Integration is the jobType facet's integration value of rtsapc's jobs.
const Integration = "RTSAPC"

// Static is what rtsapc declares about one pipeline before it runs.
type Static struct {
	// Job declares the job, its inputs and its outputs with column lineage.
	Job ol.JobEvent
	// Datasets declare the output datasets (schema, source, ownership).
	Datasets []ol.DatasetEvent
	// Run is the declaration run (eventType OTHER) of this build: its id is
	// derived from the job, the spec digest and Options.Time(), so builds are
	// reproducible; it carries the processing_engine facet and, since the
	// events of a run accumulate, leaves the datasets to Job.
	Run ol.RunEvent
}

// SQLFunc returns the SQL a pipeline runs as on its engine, for the sql job
// facet ("" = none). Flink's and Spark's backends register theirs.
type SQLFunc func(p *ir.Pipeline, opts *backends.Options) (query, dialect string)

var (
	sqlMu    sync.RWMutex
	sqlFuncs = map[string]SQLFunc{}
)

// RegisterSQL registers the SQL of engine's pipelines for the sql facet; a
// backend calls it from init. Later registrations replace earlier ones.
func RegisterSQL(engine string, f SQLFunc) {
	sqlMu.Lock()
	defer sqlMu.Unlock()
	sqlFuncs[engine] = f
}

var engineVersions = map[string]string{} // engine → default version; under sqlMu

// RegisterEngineVersion records the version an engine's backend targets
// when the setting <engine>.version is not given (its DefaultVersion), so
// the processing_engine facet names it; a backend calls it from init.
func RegisterEngineVersion(engine, defaultVersion string) {
	sqlMu.Lock()
	defer sqlMu.Unlock()
	engineVersions[engine] = defaultVersion
}

// EngineVersion is the engine version of the processing_engine facet: the
// setting <engine>.version, else the backend's registered default, else
// "unspecified".
func EngineVersion(engine string, opts *backends.Options) string {
	sqlMu.RLock()
	def := engineVersions[engine]
	sqlMu.RUnlock()
	if def == "" {
		def = "unspecified"
	}
	return opts.Setting(engine+".version", def)
}

func sqlFor(p *ir.Pipeline, opts *backends.Options) (string, string) {
	sqlMu.RLock()
	f := sqlFuncs[p.Engine]
	sqlMu.RUnlock()
	if f == nil {
		return "", ""
	}
	return f(p, opts)
}

// Build derives the static events of p. It never fails: what cannot be named
// exactly is reported as a warning and named "unresolved".
func Build(prog *ir.Program, p *ir.Pipeline, opts *backends.Options) (*Static, diag.Diagnostics) {
	if opts == nil {
		opts = &backends.Options{}
	}
	var env *ir.Environment
	if opts.Env != nil {
		env = opts.Env
	}
	producer := Producer(opts)
	var ds diag.Diagnostics
	warned := map[[2]string]bool{}
	dsOf := func(n *ir.Node, c *ir.Connector) DatasetID {
		id := Dataset(c, env)
		// A connector naming a connection without --env is resolved per
		// environment on purpose: no warning then.
		expected := env == nil && c.String("connection", "") != ""
		if id.Unresolved != "" && !expected && !warned[[2]string{id.Namespace, id.Name}] {
			warned[[2]string{id.Namespace, id.Name}] = true
			remedy := id.Remedy
			if remedy == "" {
				remedy = "Set it on the connector, or in the environment connection it names and build with --env."
			}
			ds = ds.Append(diag.Warningf(diag.UnresolvedDatasetName, n.Pos, "Dataset namespace not derivable",
				"The %s connector of %q sets no %s, here or in the environment, so its OpenLineage namespace is %q and will not match what engines report. %s",
				c.Kind, n.Name, id.Unresolved, id.Namespace, remedy))
		}
		return id
	}
	lin := computeLineage(p, dsOf)

	t := opts.Time().UTC()
	ns := Namespace(opts)
	job := ol.Job{Namespace: ns, Name: JobName(p), Facets: jobFacets(prog, p, opts, producer)}

	// Inputs, in the order the lineage pass numbered them, with the schema
	// of the first node that declares each.
	inputs := make([]ol.InputDataset, len(lin.inputs.ids))
	for i, id := range lin.inputs.ids {
		inputs[i] = ol.InputDataset{Namespace: id.Namespace, Name: id.Name,
			Facets: datasetFacets(producer, id, lin.inputs.schemas[i], lin.inputs.docs[i])}
	}

	// Outputs: one per distinct dataset; sinks writing the same dataset are
	// merged.
	type outAcc struct {
		id    DatasetID
		nodes []*ir.Node
	}
	var outs []*outAcc
	byKey := map[[2]string]*outAcc{}
	for _, n := range p.Nodes {
		s, ok := n.Op.(*ir.Sink)
		if !ok {
			continue
		}
		id := dsOf(n, &s.Connector)
		k := [2]string{id.Namespace, id.Name}
		if a := byKey[k]; a != nil {
			a.nodes = append(a.nodes, n)
			continue
		}
		a := &outAcc{id: id, nodes: []*ir.Node{n}}
		byKey[k] = a
		outs = append(outs, a)
	}
	var outputs []ol.OutputDataset
	var datasets []ol.DatasetEvent
	for _, a := range outs {
		n := a.nodes[0]
		s := n.Op.(*ir.Sink)
		schema := s.Schema
		if schema == nil {
			schema = n.Out
		}
		f := datasetFacets(producer, a.id, schema, n.Doc)
		if p.Owner != "" {
			f.Ownership = ol.NewDatasetOwnership(producer, []ol.Owner{{Name: ownerURN(p.Owner)}})
		}
		dsEvent := ol.DatasetEvent{EventTime: t, Producer: producer, SchemaURL: ol.DatasetEventSchemaURL,
			Dataset: ol.Dataset{Namespace: a.id.Namespace, Name: a.id.Name, Facets: f}}
		withLineage := *f
		withLineage.ColumnLineage = lin.facet(producer, a.nodes)
		outputs = append(outputs, ol.OutputDataset{Namespace: a.id.Namespace, Name: a.id.Name, Facets: &withLineage})
		datasets = append(datasets, dsEvent)
	}

	st := &Static{
		Job: ol.JobEvent{EventTime: t, Producer: producer, SchemaURL: ol.JobEventSchemaURL,
			Job: job, Inputs: inputs, Outputs: outputs},
		Datasets: datasets,
	}
	st.Run = ol.RunEvent{EventTime: t, Producer: producer, SchemaURL: ol.RunEventSchemaURL, EventType: ol.Other,
		Run: ol.Run{RunID: DeclarationRunID(prog, p, opts), Facets: &ol.RunFacets{
			ProcessingEngine: ol.NewProcessingEngine(producer, p.Engine, EngineVersion(p.Engine, opts), opts.Version),
		}},
		Job: ol.Job{Namespace: ns, Name: job.Name, Facets: job.Facets}}
	return st, ds
}

// declarationRunID derives the declaration run's id from the job, the
// spec digest and Options.Time(), so builds are reproducible.
func declarationRunID(opts *backends.Options, ns, job, digest string) string {
	return ol.DerivedRunID(opts.Time().UTC(), ns+"/"+job+"@"+digest)
}

func ownerURN(owner string) string {
	if strings.Contains(owner, ":") {
		return owner
	}
	return "team:" + owner
}

func jobFacets(prog *ir.Program, p *ir.Pipeline, opts *backends.Options, producer string) *ol.JobFacets {
	pt := ol.Streaming
	if p.Mode == ir.Batch {
		pt = ol.Batch
	}
	f := &ol.JobFacets{JobType: ol.NewJobType(producer, pt, Integration, "JOB")}
	if q, dialect := sqlFor(p, opts); q != "" {
		f.SQL = ol.NewSQL(producer, q, dialect)
	}
	if p.SpecFile != "" {
		f.SourceCodeLocation = sourceLocation(prog, p, opts, producer)
	}
	if p.Owner != "" {
		f.Ownership = ol.NewJobOwnership(producer, []ol.Owner{{Name: ownerURN(p.Owner)}})
	}
	if p.Description != "" {
		f.Documentation = ol.NewJobDoc(producer, p.Description)
	}
	if len(p.Labels) > 0 { // sorted by key in the IR
		tags := make([]ol.Tag, len(p.Labels))
		for i, kv := range p.Labels {
			tags[i] = ol.Tag{Key: kv.Key, Value: kv.Value, Source: "USER"}
		}
		f.Tags = ol.NewJobTags(producer, tags)
	}
	return f
}

// sourceLocation: with the settings openlineage.repoURL (and optionally
// openlineage.revision, default HEAD) the spec file's web URL in git;
// otherwise a relative file: URI of the spec file, versioned by the digest
// of the spec sources.
func sourceLocation(prog *ir.Program, p *ir.Pipeline, opts *backends.Options, producer string) *ol.SourceCodeLocationJobFacet {
	rel := path.Clean(strings.ReplaceAll(p.SpecFile, "\\", "/"))
	repo := strings.TrimSuffix(opts.Setting("openlineage.repoURL", ""), "/")
	if u, err := url.Parse(repo); repo != "" && (err != nil || !u.IsAbs()) {
		repo = "" // not a URL: fall back to the file form rather than emit an invalid facet
	}
	if repo != "" {
		rev := opts.Setting("openlineage.revision", "HEAD")
		f := ol.NewSourceCodeLocation(producer, "git", repo+"/blob/"+url.PathEscape(rev)+"/"+escapePath(rel))
		f.RepoURL, f.Path, f.Version = repo, rel, rev
		return f
	}
	f := ol.NewSourceCodeLocation(producer, "file", (&url.URL{Scheme: "file", Opaque: escapePath(rel)}).String())
	f.Path = rel
	if prog != nil && prog.SpecDigest != "" {
		f.Version = "sha256:" + prog.SpecDigest
	}
	return f
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func datasetFacets(producer string, id DatasetID, schema *rtype.Type, doc string) *ol.DatasetFacets {
	f := &ol.DatasetFacets{}
	if schema != nil {
		f.Schema = ol.NewSchema(producer, schemaFields(schema))
	}
	uri := ""
	if u, err := url.Parse(id.Namespace); err == nil && u.IsAbs() {
		uri = id.Namespace
	}
	f.DataSource = ol.NewDatasource(producer, id.Namespace, uri)
	if len(id.Symlinks) > 0 {
		var ids []ol.SymlinkIdentifier
		for _, s := range id.Symlinks {
			ids = append(ids, ol.SymlinkIdentifier{Namespace: s.Namespace, Name: s.Name, Type: s.Type})
		}
		f.Symlinks = ol.NewSymlinks(producer, ids)
	}
	if id.Type != "" {
		f.DatasetType = ol.NewDatasetType(producer, id.Type, "")
	}
	if doc != "" {
		f.Documentation = ol.NewDatasetDoc(producer, doc)
	}
	return f
}

// schemaFields renders a record's fields with types in the spec grammar;
// nested records (also inside lists and maps) list their fields.
func schemaFields(t *rtype.Type) []ol.SchemaField {
	out := make([]ol.SchemaField, 0, len(t.Fields))
	for i, f := range t.Fields {
		sf := ol.SchemaField{Name: f.Name, OrdinalPosition: i + 1}
		if f.Type != nil {
			sf.Type = f.Type.String()
			inner := f.Type
			for inner != nil && (inner.Kind == rtype.List || inner.Kind == rtype.Map) {
				inner = inner.Elem
			}
			if inner != nil && inner.Kind == rtype.Record {
				sf.Fields = schemaFields(inner)
			}
		}
		if f.Type != nil && f.Type.Kind == rtype.Record {
			sf.Type = "record"
		}
		out = append(out, sf)
	}
	return out
}

// datasetFiles names the dataset files of st: the dataset name as a path
// segment, made unique with the namespace when two outputs share a name.
func datasetFiles(st *Static) []string {
	count := map[string]int{}
	for _, d := range st.Datasets {
		count[d.Dataset.Name]++
	}
	out := make([]string, len(st.Datasets))
	for i, d := range st.Datasets {
		name := d.Dataset.Name
		if count[name] > 1 {
			name = d.Dataset.Namespace + " " + name
		}
		out[i] = artifact.PathSegment(name)
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
