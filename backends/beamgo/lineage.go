package beamgo

import (
	"bytes"
	"encoding/json"
	"strconv"

	"rtsap.dev/rtsapc/backends"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/compiler/ir"
)

// writeLineageRun writes the run of the generated main: beam.Run inside one
// OpenLineage run (START, RUNNING for streaming jobs, then COMPLETE, FAIL
// or, on SIGINT/SIGTERM, ABORT). Lineage never changes the outcome.
func writeLineageRun(w func(string, ...any)) {
	w("\tlin := beamrt.LineageMain(*lineageTo, lineageJob, lineageDatasets, *lineageEvery)\n")
	w("\tctx, stop := beamrt.InterruptContext()\n")
	w("\terr = lin.Track(ctx, func(ctx context.Context) error {\n\t\t_, err := beam.Run(ctx, *runner, p)\n\t\treturn err\n\t})\n")
	w("\tstop()\n\tlin.Finish()\n")
	w("\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n")
}

// writeLineageDecls writes the lineage flags, the static job event (the
// JobEvent of <pipeline>/openlineage/job.json, compact: the job and
// datasets `rtsapc lineage` prints for the same --env and --set) and the
// dataset of every source and sink node.
func writeLineageDecls(w func(string, ...any), pl *ir.Pipeline, prog *ir.Program, opts *backends.Options) error {
	if prog == nil {
		prog = &ir.Program{Pipelines: []*ir.Pipeline{pl}}
	}
	st, _ := openlineage.Build(prog, pl, opts) // its warnings are the openlineage backend's
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(st.Job); err != nil {
		return err
	}
	w("var (\n")
	w("\tlineageTo = flag.String(\"lineage\", \"\", \"OpenLineage destination: console, file:PATH, http(s)://HOST[/ENDPOINT], kafka://BROKERS/TOPIC or off (default: RTSAPC_LINEAGE, RTSAPC_OPENLINEAGE_URL or OPENLINEAGE_URL, else off)\")\n")
	w("\tlineageEvery = flag.Duration(\"lineage-interval\", time.Minute, \"period of RUNNING events of a streaming pipeline\")\n")
	w(")\n\n")
	w("// lineageJob is the pipeline's OpenLineage job declaration.\n")
	w("var lineageJob = []byte(%s)\n\n", strconv.Quote(string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))))
	w("// lineageDatasets name the dataset of each source and sink.\n")
	w("var lineageDatasets = []beamrt.LineageDataset{\n")
	for _, d := range openlineage.NodeDatasets(pl, opts) {
		w("\t{Node: %s, Namespace: %s, Name: %s", strconv.Quote(d.Node), strconv.Quote(d.Namespace), strconv.Quote(d.Name))
		if d.Output {
			w(", Output: true")
		}
		w("},\n")
	}
	w("}\n\n")
	return nil
}
