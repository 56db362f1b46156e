// Package open builds the targets that plan settings name.
package open

import (
	"context"
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	"rtsap.dev/rtsapc/lang/diag"
	"rtsap.dev/rtsapc/plan"
	"rtsap.dev/rtsapc/plan/target"
	"rtsap.dev/rtsapc/plan/target/dir"
	"rtsap.dev/rtsapc/plan/target/kafka"
	"rtsap.dev/rtsapc/plan/target/kubernetes"
	"rtsap.dev/rtsapc/plan/target/openlineage"
	"rtsap.dev/rtsapc/state"
	"rtsap.dev/rtsapc/state/kubestate"
)

// Targets returns the targets s configures; the dir target is always there.
// Connections are lazy: an unreachable cluster shows when it is read.
func Targets(_ context.Context, s *plan.Settings) (map[string]target.Target, diag.Diagnostics) {
	var ds diag.Diagnostics
	out := map[string]target.Target{dir.Name: &dir.Target{Root: s.Dir}}
	if len(s.KafkaBrokers) > 0 {
		t, err := kafka.New(s.KafkaBrokers)
		if err != nil {
			ds = ds.Append(diag.Errorf(diag.InvalidTargetConfig, diag.Range{}, "Invalid Kafka target", "%v", err))
		} else {
			out[kafka.Name] = t
		}
	}
	if s.Kubeconfig != "" {
		t, err := kubernetes.NewFromKubeconfig(s.Kubeconfig)
		if err != nil {
			ds = ds.Append(diag.Errorf(diag.InvalidTargetConfig, diag.Range{}, "Invalid Kubernetes target", "%v", err))
		} else {
			out[kubernetes.Name] = t
		}
	}
	if s.OpenLineageURL != "" {
		out[openlineage.Name] = &openlineage.Target{URL: s.OpenLineageURL}
	}
	return out, ds
}

// Store returns the state store s names: a Secret or ConfigMap in the
// cluster (with a Lease lock), else the local file.
func Store(s *plan.Settings) (state.Store, error) {
	if s.StateSecret == "" && s.StateConfigMap == "" {
		return &state.Local{Path: s.StatePath}, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", s.Kubeconfig, err)
	}
	if s.StateSecret != "" {
		return kubestate.New(cfg, s.StateNamespace, s.StateSecret, false)
	}
	return kubestate.New(cfg, s.StateNamespace, s.StateConfigMap, true)
}

// Describe lists the configured targets for messages.
func Describe(s *plan.Settings) string {
	out := fmt.Sprintf("folder %s", s.Dir)
	if len(s.KafkaBrokers) > 0 {
		out += fmt.Sprintf(", kafka %v", s.KafkaBrokers)
	}
	if s.Kubeconfig != "" {
		out += ", kubernetes " + s.Kubeconfig
	}
	if s.OpenLineageURL != "" {
		out += ", openlineage " + s.OpenLineageURL
	}
	return out
}
