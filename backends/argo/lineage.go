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

// The workflow is an OpenLineage job (namespace openlineage.namespace,
// name the spec's workflow name) whose run id is the workflow's uid. Its
// run is reported by two steps running lineageScript (lineage.sh in the
// workflow's lineage ConfigMap) in argo.lineageImage (default
// curlimages/curl, Alpine based: sh, busybox awk and curl):
//
//   - lineage-start, a task of the main DAG that every other task follows,
//     posts START before the first step runs;
//   - emit-lineage, in the exit handler, posts the job declarations of the
//     pipelines the workflow runs and the terminal event.
//
// Argo's {{workflow.status}} is Succeeded, Failed or Error. Succeeded is
// COMPLETE. A workflow stopped with `argo stop` (shutdown strategy Stop)
// ends Failed, and the nodes the stop cut short carry the controller's
// message "workflow shutdown with strategy: Stop": that is ABORT (a step
// whose own failure message is exactly that text would read as a stop too;
// Argo exposes nothing else that tells). Otherwise Failed and Error are
// FAIL, with an errorMessage facet listing the failed nodes of
// {{workflow.failures}} ("<node>: <message>; …", DAG nodes failing only
// because a child did left out, each string cut at 1000 characters, the
// list after about 4000). A
// workflow terminated with `argo terminate` runs no exit handler at all,
// so its run keeps START only; nothing in Argo can report it.
//
// Both steps exit 0 whatever happens: lineage never fails the workflow
// (and both tasks are continueOn failed/error, so even a pod that cannot
// start changes nothing: Argo hands {{workflow.failures}} over in the
// environment, which Linux caps at 128 KiB a variable, so a list of
// hundreds of long failure messages keeps emit-lineage from starting and
// its run without a terminal event).
//
// The events are the static parts the compiler writes into the lineage
// ConfigMap (run.json: the event after "run"; error.json: the errorMessage
// facet up to its message) behind the few dynamic fields the script
// prints: eventTime, eventType, runId and the message, which awk escapes
// as JSON from the untrusted text of {{workflow.failures}} (Argo hands it
// over as a Go-quoted JSON list; both that and a plain list are read, and
// anything else is quoted whole).
const lineageScript = `# OpenLineage events of this workflow run; $1 is start or end.
dir=${LINEAGE_DIR:-/lineage}
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
url="${OPENLINEAGE_URL%/}${OPENLINEAGE_ENDPOINT:-/api/v1/lineage}"
post() {
  name=$1
  if [ "${OPENLINEAGE_TRANSPORT:-console}" != http ]; then
    cat
    return 0
  fi
  set -- -sSf --retry 3 --retry-connrefused --retry-max-time 30 --connect-timeout 5 --max-time 10 -o /dev/null -H 'Content-Type: application/json'
  if [ -n "${OPENLINEAGE_API_KEY:-}" ]; then
    set -- "$@" -H "Authorization: Bearer $(printf '%s' "$OPENLINEAGE_API_KEY" | tr -d '\r\n')"
  fi
  curl "$@" --data-binary @- "$url" || echo "openlineage: could not post $name to $url" >&2
}
case "${RUN_ID:-}" in
  ''|*[!0-9a-fA-F-]*) echo "openlineage: run id '${RUN_ID:-}' is not a UUID; no events" >&2; exit 0 ;;
esac
if [ "${1:-}" = start ]; then
  { printf '{"eventTime":"%s","eventType":"START","run":{"runId":"%s"},' "$now" "$RUN_ID"; cat "$dir/run.json"; } | post START
  exit 0
fi
for f in "$dir"/job-*.json; do
  [ -e "$f" ] && post "$f" < "$f"
done
type=COMPLETE
if [ "${WORKFLOW_STATUS:-}" != Succeeded ]; then
  res=$(awk '
function unit(   c, d, h, i) {
  if (P > L) return ""
  c = substr(S, P++, 1)
  if (!Q || c != "\\") return c
  d = substr(S, P++, 1)
  if (d == "u") {
    h = substr(S, P, 4)
    for (i = 1; i <= 4; i++) if (substr(h, i, 1) == "" || !index(HEX, substr(h, i, 1))) return "\\ufffd"
    P += 4
    return "\\u" h
  }
  if (d == "U") { P += 8; return "\\ufffd" }
  if (d == "x") { h = substr(S, P, 2); P += 2; return h == "7f" ? "\\u007f" : "\\ufffd" }
  if (d == "a") return "\\u0007"
  if (d == "v") return "\\u000b"
  if (index("bfnrt", d)) return "\\" d
  return d
}
function one(u,   k) {
  if (u == "") return ""
  if (length(u) > 1) return u
  if (u == "\"") return "\\\""
  if (u == "\\") return "\\\\"
  k = index(CTL, u)
  if (k) return sprintf("\\u%04x", k)
  return u
}
function add(r, piece, cap) {
  if (FULL) return r
  if (length(r) >= cap && (length(piece) > 1 || index(ASC, piece))) { FULL = 1; return r "..." }
  return r piece
}
function jstr(   r, u, v, h, i, ok, piece) {
  r = ""
  FULL = 0
  while ((u = unit()) != "" && u != "\"") {
    if (u == "\\") {
      v = unit()
      if (v == "u") {
        h = ""
        ok = 1
        for (i = 0; i < 4; i++) { u = unit(); h = h u; if (length(u) != 1 || !index(HEX, u)) ok = 0 }
        piece = ok ? "\\u" h : "\\ufffd"
      } else if (length(v) == 1 && index("\"\\/bfnrt", v)) piece = "\\" v
      else piece = "\\\\" one(v)
    } else piece = one(u)
    r = add(r, piece, 1000)
  }
  return r
}
function entry(name, msg,   e) {
  if (name == "" && msg == "") return
  NODES++
  if (msg ~ /^workflow shutdown with strategy: +Stop$/) STOPPED = 1
  if (index(msg, "child " SQ) == 1) return
  e = name
  if (msg != "") e = (e == "" ? "" : e ": ") msg
  if (length(OUT) >= 4000) { if (!MORE) OUT = OUT "; ..."; MORE = 1; return }
  OUT = (OUT == "" ? "" : OUT "; ") e
}
function scan(   u, s, key, prev, name, msg) {
  prev = ""
  while ((u = unit()) != "") {
    if (u == "\"") {
      s = jstr()
      if (prev == ":") {
        if (key == "displayName") name = s
        else if (key == "message") msg = s
        prev = "v"
      } else key = s
    } else if (u == "{") { name = ""; msg = ""; key = ""; prev = u }
    else if (u == "}") { entry(name, msg); name = ""; msg = ""; prev = u }
    else if (index(":,[]", u)) prev = u
  }
}
function raw(cap,   r, u) {
  r = ""
  FULL = 0
  while ((u = unit()) != "") r = add(r, one(u), cap)
  return r
}
BEGIN {
  for (i = 1; i < 32; i++) CTL = CTL sprintf("%c", i)
  for (i = 32; i < 127; i++) ASC = ASC sprintf("%c", i)
  SQ = sprintf("%c", 39)
  HEX = "0123456789abcdefABCDEF"
  S = ENVIRON["WORKFLOW_FAILURES"]
  Q = 0
  if (substr(S, 1, 1) == "\"") {
    Q = 1
    S = substr(S, 2)
    if (substr(S, length(S)) == "\"") S = substr(S, 1, length(S) - 1)
  }
  S = substr(S, 1, 65536)
  L = length(S)
  P = 1
  scan()
  if (!NODES && S != "" && S != "null" && S != "[]") { P = 1; OUT = raw(4000) }
  S = ENVIRON["WORKFLOW_STATUS"]
  L = length(S)
  P = 1
  Q = 0
  st = raw(100)
  msg = "Argo workflow " (st == "" ? "did not succeed" : st)
  if (OUT != "") msg = msg ": " OUT
  print (STOPPED ? "ABORT" : "FAIL") " " msg
}' </dev/null)
  [ -n "$res" ] || res="FAIL Argo workflow did not succeed"
  type=${res%% *}
  msg=${res#* }
fi
if [ "$type" = FAIL ]; then
  { printf '{"eventTime":"%s","eventType":"FAIL","run":{"runId":"%s","facets":{"errorMessage":' "$now" "$RUN_ID"; cat "$dir/error.json"; printf '"message":"%s"}}},' "$msg"; cat "$dir/run.json"; } | post FAIL
else
  { printf '{"eventTime":"%s","eventType":"%s","run":{"runId":"%s"},' "$now" "$type" "$RUN_ID"; cat "$dir/run.json"; } | post "$type"
fi
exit 0
`

// lineageSettings are the openlineage.* settings as the lineage steps and
// Beam steps use them.
type lineageSettings struct {
	transport string // console or http
	url       string
	endpoint  string
	apiKey    *k8s.EnvVar // OPENLINEAGE_API_KEY from a Secret, or nil
	kafka     string      // RTSAPC_LINEAGE for Beam steps with transport kafka
}

// lineageSettings reads the settings, reporting at the workflow what the
// lineage steps cannot honour.
func (g *gen) lineageSettings(w *ir.Workflow) lineageSettings {
	s := lineageSettings{transport: openlineage.Transport(g.opts), url: g.opts.Setting(openlineage.SetURL, ""),
		endpoint: g.opts.Setting(openlineage.SetEndpoint, "/api/v1/lineage")}
	if s.endpoint != "" && !strings.HasPrefix(s.endpoint, "/") {
		s.endpoint = "/" + s.endpoint
	}
	warn := func(summary, format string, args ...any) {
		g.ds = g.ds.Append(diag.Warningf(diag.ArgoLineageSettings, w.Pos, summary, format, args...))
	}
	switch s.transport {
	case "console":
	case "http":
		if s.url == "" {
			g.errorf(diag.ArgoLineageSettings, w.Pos, "OpenLineage URL missing",
				"Workflow %q posts its OpenLineage events over http, which needs the receiver: --set %s=URL (e.g. http://marquez:5000).", w.Name, openlineage.SetURL)
		}
	case "kafka":
		// The Beam runtime produces to Kafka itself; curl cannot.
		s.kafka = "kafka://" + g.opts.Setting(openlineage.SetKafkaBrokers, "kafka:9092") + "/" + g.opts.Setting(openlineage.SetKafkaTopic, "openlineage")
		s.transport = "console"
		warn("Argo lineage steps cannot produce to Kafka",
			"Workflow %q: the steps posting the workflow's own OpenLineage events support the console and http transports only; with %s=kafka they print the events to their log instead (Beam steps still produce to Kafka). Set %s=http and %s to post them.",
			w.Name, openlineage.SetTransport, openlineage.SetTransport, openlineage.SetURL)
	default:
		s.transport = "console"
		warn("Unknown OpenLineage transport",
			"Workflow %q: %s=%q is none of console, http, kafka; the workflow's events are printed to the lineage steps' log.",
			w.Name, openlineage.SetTransport, g.opts.Setting(openlineage.SetTransport, ""))
	}
	if ref := g.opts.Setting(openlineage.SetAPIKeySecret, ""); ref != "" {
		name, key, ok := strings.Cut(ref, "/")
		var e k8s.EnvVar
		var err error
		if ok {
			e, err = k8s.SecretEnv(&ir.Secret{Name: name, Key: key, Env: openlineage.APIKeyEnv})
		} else {
			err = fmt.Errorf("%q is not <secret>/<key>", ref)
		}
		if err != nil {
			g.errorf(diag.ArgoLineageSettings, w.Pos, "Invalid OpenLineage API key Secret",
				"%s: %v.", openlineage.SetAPIKeySecret, err)
		} else {
			s.apiKey = &e
		}
	}
	return s
}

// env is the environment of a lineage step: where its events go.
func (s lineageSettings) env() []k8s.EnvVar {
	env := []k8s.EnvVar{{Name: "OPENLINEAGE_TRANSPORT", Value: s.transport}}
	if s.transport == "http" {
		env = append(env, k8s.EnvVar{Name: "OPENLINEAGE_ENDPOINT", Value: s.endpoint},
			k8s.EnvVar{Name: "OPENLINEAGE_URL", Value: escapeTemplate(s.url)})
		if s.apiKey != nil {
			env = append(env, *s.apiKey)
		}
	}
	return env
}

// beamEnv is the lineage environment of a Beam step's program (see
// lineage.FromEnv and lineage.ParentFromEnv): the same destination, and the
// workflow's run as the parent of the pipeline's run.
func (s lineageSettings) beamEnv(parent string) []k8s.EnvVar {
	var env []k8s.EnvVar
	if parent != "" {
		env = append(env, k8s.EnvVar{Name: "OPENLINEAGE_PARENT_ID", Value: parent})
	}
	switch {
	case s.kafka != "":
		env = append(env, k8s.EnvVar{Name: "RTSAPC_LINEAGE", Value: escapeTemplate(s.kafka)})
	case s.transport == "http":
		env = append(env, k8s.EnvVar{Name: "OPENLINEAGE_ENDPOINT", Value: s.endpoint},
			k8s.EnvVar{Name: "OPENLINEAGE_URL", Value: escapeTemplate(s.url)})
		if s.apiKey != nil {
			env = append(env, *s.apiKey)
		}
	default:
		env = append(env, k8s.EnvVar{Name: "RTSAPC_LINEAGE", Value: "console"})
	}
	return env
}

// parentID is OPENLINEAGE_PARENT_ID of the workflow's run,
// "{namespace}/{job}/{{workflow.uid}}" (the uid substituted by Argo, the
// names protected from it), or "" when the namespace holds a "/", which
// lineage.ParentFromEnv would split wrongly.
func (g *gen) parentID(w *ir.Workflow) string {
	ns := openlineage.Namespace(g.opts)
	if strings.Contains(ns, "/") {
		return ""
	}
	return escapeTemplate(ns+"/"+w.Name+"/") + workflowUID
}

const workflowUID = "{{workflow.uid}}"

// lineageTemplate is the step running lineageScript: lineage-start (start)
// or emit-lineage (end), which alone sees the workflow's status.
func (g *gen) lineageTemplate(name, mode, cm string, s lineageSettings) *Template {
	env := append(s.env(), k8s.EnvVar{Name: "RUN_ID", Value: workflowUID})
	if mode == "end" {
		env = append(env, k8s.EnvVar{Name: "WORKFLOW_FAILURES", Value: "{{workflow.failures}}"},
			k8s.EnvVar{Name: "WORKFLOW_STATUS", Value: "{{workflow.status}}"})
	}
	return &Template{
		Name: name,
		Container: &Container{
			Image:        g.opts.Setting("argo.lineageImage", defaultLineageImage),
			Command:      []string{"sh", "/lineage/lineage.sh", mode},
			Env:          k8s.SortEnv(env),
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

// errorHead is the errorMessage facet but its message, which the script
// writes last.
type errorHead struct {
	ol.Base
	ProgrammingLanguage string `json:"programmingLanguage"`
}

// encodeLine encodes v on one line without HTML escaping, without the
// final newline.
func encodeLine(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// lineageConfigMap holds job-N.json (the job declaration of the N-th
// pipeline the workflow runs: the bytes of <pipeline>/openlineage/job.json,
// whose path the annotation rtsap.dev/lineage-files records), run.json (the
// run event after its "run" member, a line), error.json (the errorMessage
// facet up to its message) and lineage.sh, the script posting them.
func (g *gen) lineageConfigMap(w *ir.Workflow, name string) *k8s.ConfigMapObject {
	data := map[string]string{}
	var files []string
	tail := runTail{Producer: openlineage.Producer(g.opts), SchemaURL: ol.RunEventSchemaURL,
		Job:    ol.Job{Namespace: openlineage.Namespace(g.opts), Name: w.Name},
		Inputs: []ol.InputDataset{}, Outputs: []ol.OutputDataset{}}
	tail.Job.Facets = &ol.JobFacets{JobType: ol.NewJobType(tail.Producer, ol.Batch, openlineage.Integration, "DAG")}
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
	run, err := encodeLine(tail)
	if err != nil {
		g.errorf(diag.InternalError, w.Pos, "Cannot encode lineage", "%v", err)
		return nil
	}
	// Drop the opening brace: the script writes "{" and the dynamic fields.
	data["run.json"] = strings.TrimPrefix(run, "{") + "\n"
	f := ol.NewErrorMessageIn(tail.Producer, "UNKNOWN", "", "")
	head, err := encodeLine(errorHead{Base: f.Base, ProgrammingLanguage: f.ProgrammingLanguage})
	if err != nil {
		g.errorf(diag.InternalError, w.Pos, "Cannot encode lineage", "%v", err)
		return nil
	}
	// Open the object for the message the script appends.
	data["error.json"] = strings.TrimSuffix(head, "}") + ","
	// The script too: a ConfigMap's data is not subject to Argo's
	// template substitution.
	data["lineage.sh"] = lineageScript
	meta := g.ctx.Meta(name, "lineage", w.Name, nil)
	if len(files) > 0 {
		meta.Annotations["rtsap.dev/lineage-files"] = strings.Join(files, "\n")
	}
	return k8s.ConfigMap(meta, data)
}
