package lineage

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/google/uuid"

	"rtsap.dev/rtsapc/backends/openlineage/ol"
)

// Open returns the transport a one-string setting names:
//
//	"" | "none" | "off"             no lineage (Discard)
//	"console"                       JSON lines on standard error
//	"file:PATH"                     JSON lines appended to PATH
//	"http://HOST:PORT[/ENDPOINT]"   POST to ENDPOINT (default /api/v1/lineage), also https;
//	                                an API key from OPENLINEAGE_API_KEY, when set, as a Bearer token
//	"kafka://B1:9092,B2:9092/TOPIC" produce to TOPIC (default openlineage.events)
//
// getenv reads the API key (nil: os.Getenv).
func Open(spec string, getenv func(string) string) (Transport, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	switch s := strings.TrimSpace(spec); {
	case s == "" || s == "none" || s == "off":
		return Discard(), nil
	case s == "console":
		return Console(os.Stderr), nil
	case strings.HasPrefix(s, "file:"):
		p := strings.TrimPrefix(strings.TrimPrefix(s, "file:"), "//")
		if p == "" {
			return nil, fmt.Errorf("lineage: %q names no file", spec)
		}
		return File(p)
	case strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://"):
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("lineage: bad URL %q: %v", spec, err)
		}
		endpoint := u.EscapedPath()
		u.Path, u.RawPath = "", ""
		if endpoint == "/" {
			endpoint = ""
		}
		return HTTP(HTTPConfig{URL: u.String(), Endpoint: endpoint, APIKeyEnv: "OPENLINEAGE_API_KEY", Getenv: getenv})
	case strings.HasPrefix(s, "kafka://"):
		rest := strings.TrimPrefix(s, "kafka://")
		hosts, topic, _ := strings.Cut(rest, "/")
		var brokers []string
		for _, h := range strings.Split(hosts, ",") {
			if h = strings.TrimSpace(h); h != "" {
				brokers = append(brokers, h)
			}
		}
		return Kafka(KafkaConfig{Brokers: brokers, Topic: topic})
	}
	return nil, fmt.Errorf("lineage: unknown transport %q (want console, file:PATH, http(s)://…, kafka://…, or none)", spec)
}

// FromEnv opens the transport the environment selects: RTSAPC_LINEAGE (see
// Open) if set; else none when OPENLINEAGE_DISABLED is "true"; else
// RTSAPC_OPENLINEAGE_URL, the URL `rtsapc apply` posts declarations to (see
// Open: a path in it is the endpoint); else HTTP to OPENLINEAGE_URL (+
// OPENLINEAGE_ENDPOINT, OPENLINEAGE_API_KEY) as the OpenLineage clients do;
// else none.
func FromEnv(getenv func(string) string) (Transport, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if s := getenv("RTSAPC_LINEAGE"); s != "" {
		return Open(s, getenv)
	}
	if strings.EqualFold(getenv("OPENLINEAGE_DISABLED"), "true") {
		return Discard(), nil
	}
	if u := getenv("RTSAPC_OPENLINEAGE_URL"); u != "" {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, fmt.Errorf("lineage: RTSAPC_OPENLINEAGE_URL %q is not an http(s) URL", u)
		}
		return Open(u, getenv)
	}
	if u := getenv("OPENLINEAGE_URL"); u != "" {
		return HTTP(HTTPConfig{URL: u, Endpoint: getenv("OPENLINEAGE_ENDPOINT"), APIKeyEnv: "OPENLINEAGE_API_KEY", Getenv: getenv})
	}
	return Discard(), nil
}

// EnvSelects reports whether the environment chooses a transport (or
// disables lineage) for FromEnv; when it does not, a caller may pick its own
// default rather than none.
func EnvSelects(getenv func(string) string) bool {
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, k := range []string{"RTSAPC_LINEAGE", "OPENLINEAGE_DISABLED", "RTSAPC_OPENLINEAGE_URL", "OPENLINEAGE_URL"} {
		if getenv(k) != "" {
			return true
		}
	}
	return false
}

// ParentFromEnv reads OPENLINEAGE_PARENT_ID, "{namespace}/{job name}/{run
// id}" as dbt-ol and Airflow's lineage_parent_id macro write it, into a
// parent run facet (nil when unset or malformed: the run is then a root).
// An Argo step running a Beam pipeline sets it to the workflow's job and
// {{workflow.uid}}, so the pipeline's run hangs under the workflow's run.
func ParentFromEnv(getenv func(string) string, producer string) *ol.ParentRunFacet {
	if getenv == nil {
		getenv = os.Getenv
	}
	v := getenv("OPENLINEAGE_PARENT_ID")
	i := strings.Index(v, "/")
	j := strings.LastIndex(v, "/")
	if i <= 0 || j <= i+1 || j == len(v)-1 {
		return nil
	}
	ns, name, runID := v[:i], v[i+1:j], v[j+1:]
	if _, err := uuid.Parse(runID); err != nil {
		return nil
	}
	if producer == "" {
		producer = "https://rtsap.dev/rtsapc"
	}
	return ol.NewParent(producer, runID, ns, name)
}
