package nifi

import (
	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/artifact"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// NiFi has no OpenLineage listener: a flow's lineage is the static
// declaration rtsapc derives, written next to the flow definition so that a
// NiFi build alone carries it:
//
//	<pipeline>/nifi/openlineage/job.json  the JobEvent: job facets, inputs, outputs with column lineage
//	<pipeline>/nifi/openlineage/run.json  the declaration RunEvent, whose processing_engine names nifi
//	                                      and nifi.version (default DefaultVersion)
//
// Both are the openlineage backend's events for the pipeline (same job,
// datasets and run id as <pipeline>/openlineage/).
func init() { openlineage.RegisterEngineVersion("nifi", DefaultVersion) }

// lineageFiles returns the lineage declaration of pl (nil with an internal
// error when it cannot be encoded). Warnings about dataset names are the
// openlineage backend's to report.
func lineageFiles(prog *ir.Program, pl *ir.Pipeline, opts *backends.Options) ([]*artifact.File, diag.Diagnostics) {
	st, ds := openlineage.Build(prog, pl, opts)
	if ds.HasErrors() {
		return nil, ds.Errs()
	}
	dir := artifact.PathSegment(pl.Name) + "/nifi/openlineage/"
	var files []*artifact.File
	for _, e := range []struct {
		name string
		v    any
	}{{"job.json", st.Job}, {"run.json", st.Run}} {
		data, err := openlineage.Marshal(e.v)
		if err != nil {
			return nil, diag.Diagnostics{diag.Errorf(diag.InternalError, pl.Pos, "Cannot encode lineage event", "%s%s: %v", dir, e.name, err)}
		}
		files = append(files, &artifact.File{Path: dir + e.name, Kind: artifact.JSON, Data: data, Pipeline: pl.Name, Target: "nifi"})
	}
	return files, nil
}
