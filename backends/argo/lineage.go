package argo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"rtsap.dev/rtsapc/backends/k8s"
	"rtsap.dev/rtsapc/backends/openlineage"
	"rtsap.dev/rtsapc/backends/openlineage/ol"
	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// lineageScript posts the events in the ConfigMap: each pipeline's job
// declaration as the openlineage backend wrote it, then the workflow's run
// event, whose run id (the workflow's uid), type (from the workflow status)
// and time are put in front of the static rest of the event. Failures are
// reported and ignored: lineage never fails the workflow.
const lineageScript = `url="${OPENLINEAGE_URL%/}/api/v1/lineage"
case "$WORKFLOW_STATUS" in Succeeded) type=COMPLETE ;; *) type=FAIL ;; esac
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
post() { curl -fsS --retry 3 --max-time 10 -H 'Content-Type: application/json' --data-binary @- "$url" >/dev/null || echo "openlineage: could not post $1 to $url" >&2; }
for f in /lineage/job-*.json; do
  [ -e "$f" ] && post "$f" < "$f"
done
{ printf '{"eventTime":"%s","eventType":"%s","run":{"runId":"%s"},' "$now" "$type" "$RUN_ID"; cat /lineage/run.json; } | post run.json
exit 0
`

func (g *gen) lineageTemplate(cm string) *Template {
	return &Template{
		Name: emitLineage,
		Container: &Container{
			Image:   g.opts.Setting("argo.lineageImage", defaultLineageImage),
			Command: []string{"sh", "-c", lineageScript},
			Env: []k8s.EnvVar{
				{Name: "OPENLINEAGE_URL", Value: g.opts.Setting("openlineage.url", "http://marquez:5000")},
				{Name: "RUN_ID", Value: "{{workflow.uid}}"},
				{Name: "WORKFLOW_STATUS", Value: "{{workflow.status}}"},
			},
			VolumeMounts: []VolumeMount{{Name: "openlineage", MountPath: "/lineage", ReadOnly: true}},
		},
		Volumes: []Volume{{Name: "openlineage", ConfigMap: &ConfigMapVolume{Name: cm}}},
	}
}

// runTail is the static part of the workflow's RunEvent: everything but
// eventTime, eventType and run, which the script writes first.
type runTail struct {
	Producer  string             `json:"producer"`
	SchemaURL string             `json:"schemaURL"`
	Job       ol.Job             `json:"job"`
	Inputs    []ol.InputDataset  `json:"inputs"`
	Outputs   []ol.OutputDataset `json:"outputs"`
}

// lineageConfigMap holds job-N.json (the job declaration of the N-th
// pipeline the workflow runs: the bytes of <pipeline>/openlineage/job.json,
// whose path the annotation rtsap.dev/lineage-files records) and run.json.
func (g *gen) lineageConfigMap(w *ir.Workflow, name string) *k8s.ConfigMapObject {
	data := map[string]string{}
	var files []string
	tail := runTail{Producer: openlineage.Producer(g.opts), SchemaURL: ol.SchemaBase + "#/$defs/RunEvent",
		Job:    ol.Job{Namespace: openlineage.Namespace(g.opts), Name: w.Name},
		Inputs: []ol.InputDataset{}, Outputs: []ol.OutputDataset{}}
	tail.Job.Facets = &ol.JobFacets{JobType: ol.NewJobType(tail.Producer, "BATCH", "RTSAPC", "DAG")}
	if w.Description != "" {
		tail.Job.Facets.Documentation = ol.NewJobDoc(tail.Producer, w.Description)
	}
	seenIn, seenOut, seenPl := map[string]bool{}, map[string]bool{}, map[string]bool{}
	steps := append([]*ir.Step(nil), w.Steps...)
	if w.OnExit != nil {
		steps = append(steps, w.OnExit)
	}
	for _, st := range steps {
		pl := st.Pipeline
		if pl == nil || seenPl[pl.Name] {
			continue
		}
		seenPl[pl.Name] = true
		static, sds := openlineage.Build(g.prog, pl, g.opts)
		if sds.HasErrors() {
			g.ds = g.ds.Extend(sds.Errs())
			continue
		}
		b, err := openlineage.Marshal(static.Job)
		if err != nil {
			g.errorf(diag.InternalError, st.Pos, "Cannot encode lineage", "%v", err)
			continue
		}
		key := fmt.Sprintf("job-%d.json", len(files)+1)
		data[key] = string(b)
		files = append(files, key+"="+pl.Name+"/openlineage/job.json")
		for _, in := range static.Job.Inputs {
			if k := in.Namespace + "\x00" + in.Name; !seenIn[k] {
				seenIn[k] = true
				tail.Inputs = append(tail.Inputs, ol.InputDataset{Namespace: in.Namespace, Name: in.Name})
			}
		}
		for _, out := range static.Job.Outputs {
			if k := out.Namespace + "\x00" + out.Name; !seenOut[k] {
				seenOut[k] = true
				tail.Outputs = append(tail.Outputs, ol.OutputDataset{Namespace: out.Namespace, Name: out.Name})
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tail); err != nil {
		g.errorf(diag.InternalError, w.Pos, "Cannot encode lineage", "%v", err)
		return nil
	}
	// Drop the opening brace: the script writes "{" and the dynamic fields.
	data["run.json"] = strings.TrimPrefix(strings.TrimSpace(buf.String()), "{")
	meta := g.ctx.Meta(name, "lineage", w.Name, nil)
	if len(files) > 0 {
		meta.Annotations["rtsap.dev/lineage-files"] = strings.Join(files, "\n")
	}
	return k8s.ConfigMap(meta, data)
}
