package plan

import (
	"fmt"
	"path/filepath"
	"strings"

	"rtsap.dev/rtsapc/compiler/ir"
	"rtsap.dev/rtsapc/lang/diag"
)

// Settings locate the state and the targets of one environment. A plan
// file carries them, so that apply talks to the same places as the plan.
type Settings struct {
	Env string `json:"env,omitempty"`
	// StatePath is the state file; Dir the GitOps folder (both absolute).
	StatePath string `json:"state"`
	Dir       string `json:"dir"`
	// KafkaBrokers: topics go to this cluster (else to the folder).
	KafkaBrokers []string `json:"kafka_brokers,omitempty"`
	// Kubeconfig: manifests are applied to this cluster (else to the folder).
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	// OpenLineageURL: lineage declarations are posted here on apply.
	OpenLineageURL string `json:"openlineage_url,omitempty"`
	// StateSecret or StateConfigMap keep the state in the cluster (in
	// StateNamespace, locked by a Lease) instead of StatePath.
	StateSecret    string `json:"state_secret,omitempty"`
	StateConfigMap string `json:"state_configmap,omitempty"`
	StateNamespace string `json:"state_namespace,omitempty"`
}

// Routing is where resources go under these settings.
func (s *Settings) Routing() Routing {
	return Routing{Kafka: len(s.KafkaBrokers) > 0, Kubernetes: s.Kubeconfig != "", OpenLineage: s.OpenLineageURL != "", Namespace: s.Namespace}
}

// SettingsFor resolves the settings of environment e (nil: none) named
// envName: the environment's targets (dir: {path}, state: {path} or
// {secret|configmap: NAME, namespace: NS}, kafka:
// {brokers}, kubernetes: {kubeconfig, namespace}, openlineage: {url}), then
// RTSAPC_KAFKA_BROKERS, RTSAPC_KUBECONFIG and RTSAPC_OPENLINEAGE_URL, then
// the defaults under cwd/.rtsapc/<env>/. Relative paths are against cwd.
//
// A kubeconfig is never picked up from KUBECONFIG or ~/.kube: deploying to
// a cluster must be asked for by name.
func SettingsFor(e *ir.Environment, envName, cwd string, getenv func(string) string) (*Settings, diag.Diagnostics) {
	var ds diag.Diagnostics
	name := envName
	if name == "" {
		name = "default"
	}
	base := filepath.Join(cwd, ".rtsapc", name)
	s := &Settings{Env: envName, StatePath: filepath.Join(base, "state.json"), Dir: filepath.Join(base, "deploy")}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(cwd, p)
	}
	bad := func(o ir.Option, format string, args ...any) {
		ds = ds.Append(diag.Errorf(diag.InvalidTargetConfig, o.Pos, "Invalid target setting", "targets."+o.Key+": "+format, args...))
	}
	if e != nil {
		s.Namespace = e.Namespace
		for _, o := range e.Targets {
			sub := map[string]any{}
			switch v := o.Value.(type) {
			case []ir.Option:
				for _, so := range v {
					sub[so.Key] = so.Value
				}
			case string:
				sub["path"], sub["brokers"], sub["url"], sub["kubeconfig"] = v, v, v, v
			default:
				bad(o, "want a struct of settings")
				continue
			}
			str := func(k string) string { x, _ := sub[k].(string); return x }
			switch o.Key {
			case "dir":
				if p := str("path"); p != "" {
					s.Dir = abs(p)
				}
			case "state":
				if p := str("path"); p != "" {
					s.StatePath = abs(p)
				}
				s.StateSecret, s.StateConfigMap, s.StateNamespace = str("secret"), str("configmap"), str("namespace")
				if s.StateSecret != "" && s.StateConfigMap != "" {
					bad(o, "set secret or configmap, not both")
				}
			case "kafka":
				s.KafkaBrokers = stringList(sub["brokers"])
				if len(s.KafkaBrokers) == 0 {
					bad(o, "brokers are required (a list of host:port)")
				}
			case "kubernetes":
				s.Kubeconfig = abs(str("kubeconfig"))
				if ns := str("namespace"); ns != "" {
					s.Namespace = ns
				}
				if s.Kubeconfig == "" {
					bad(o, "kubeconfig is required")
				}
			case "openlineage":
				s.OpenLineageURL = str("url")
				if s.OpenLineageURL == "" {
					bad(o, "url is required")
				}
			default:
				bad(o, "unknown target %q (known: dir, state, kafka, kubernetes, openlineage)", o.Key)
			}
		}
	}
	if v := getenv("RTSAPC_KAFKA_BROKERS"); v != "" {
		s.KafkaBrokers = stringList(v)
	}
	if v := getenv("RTSAPC_KUBECONFIG"); v != "" {
		s.Kubeconfig = abs(v)
	}
	if v := getenv("RTSAPC_OPENLINEAGE_URL"); v != "" {
		s.OpenLineageURL = v
	}
	if (s.StateSecret != "" || s.StateConfigMap != "") && s.Kubeconfig == "" {
		ds = ds.Append(diag.Errorf(diag.InvalidTargetConfig, diag.Range{}, "Invalid target setting",
			"targets.state: state in the cluster needs the kubernetes target (targets.kubernetes.kubeconfig or RTSAPC_KUBECONFIG)."))
	}
	if s.StateNamespace == "" {
		s.StateNamespace = s.Namespace
		if s.StateNamespace == "" {
			s.StateNamespace = "default"
		}
	}
	return s, ds
}

func stringList(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		for _, s := range strings.Split(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case []any:
		for _, e := range x {
			out = append(out, stringList(e)...)
		}
	case []string:
		out = append(out, x...)
	}
	return out
}

func (s *Settings) String() string {
	return fmt.Sprintf("state %s, folder %s", s.StatePath, s.Dir)
}
