// Package openlineage derives OpenLineage declarations from the IR: one job
// per pipeline with its input and output datasets, their schemas, and exact
// column-level lineage computed from the IR's expressions through every
// operator (see columns.go for the rules).
//
// The backend writes, per pipeline:
//
//	<pipeline>/openlineage/job.json              JobEvent: job facets, inputs, outputs with columnLineage
//	<pipeline>/openlineage/run.json              RunEvent (OTHER): the declaration run of this build
//	<pipeline>/openlineage/datasets/<name>.json  DatasetEvent per output dataset
//
// All events are static: eventTime is Options.Time() and the run id is
// derived from the job, the spec digest and that time, so builds are
// reproducible. The event model is in package ol (no compiler dependency),
// the runtime side (transports, emitter, run lifecycle) in package
// rtsap.dev/rtsapc/lineage.
//
// For the engine backends: [Namespace] and [JobName] name the job as these
// declarations do (set Flink's and Spark's listener job namespace and name
// to them); [Dataset] names a connector's dataset; [Build] returns the
// events of a pipeline (the Beam backend can embed Static.Job's JSON for the
// runtime's lineage.StartRun or lineage.Track); [ListenerConfig] is the
// OpenLineage client configuration of an engine's listener (job name and
// namespace, transport) from the shared openlineage.* build settings
// (listener.go); [RegisterSQL] lets an engine contribute the sql job facet.
package openlineage

import (
	"bytes"
	"encoding/json"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/lang/diag"
)

// Backend is the openlineage backend descriptor.
var Backend = &backends.Backend{
	Name: "openlineage",
	Doc: `OpenLineage job, run and dataset declarations with column lineage

For every pipeline: job.json (a JobEvent with jobType, sql, ownership,
documentation and sourceCodeLocation facets; inputs and outputs with
schema, dataSource, symlinks and columnLineage), run.json (the build's
declaration RunEvent) and datasets/*.json (a DatasetEvent per output),
valid against the OpenLineage 2-0-2 JSON Schemas.`,
	Scope:    backends.PerProgram,
	Generate: generate,
}

func generate(g *backends.Gen) (*artifact.Set, diag.Diagnostics) {
	set := &artifact.Set{}
	var ds diag.Diagnostics
	for _, p := range g.Pipelines {
		st, sds := Build(g.Program, p, g.Options)
		ds = ds.Extend(sds)
		dir := artifact.PathSegment(p.Name) + "/openlineage/"
		add := func(name string, v any) {
			data, err := Marshal(v)
			if err != nil {
				ds = ds.Append(diag.Errorf(diag.InternalError, p.Pos, "Cannot encode lineage event", "%s%s: %v", dir, name, err))
				return
			}
			set.Add(&artifact.File{Path: dir + name, Kind: artifact.JSON, Data: data, Pipeline: p.Name})
		}
		add("job.json", st.Job)
		add("run.json", st.Run)
		for i, name := range datasetFiles(st) {
			add("datasets/"+name+".json", st.Datasets[i])
		}
	}
	set.Sort()
	return set, ds
}

// Marshal encodes an event as indented JSON with a final newline, without
// HTML escaping (names with <, > or & stay readable; JSON strings are
// escaped as JSON requires).
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// MarshalLine encodes an event on one line with a final newline.
func MarshalLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
