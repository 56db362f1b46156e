// Package testenv starts the real services tests talk to on loopback: an
// in-process Kafka broker (kfake, which speaks the Kafka protocol and
// injects faults) and a kube-apiserver with embedded etcd (built from
// k8s.io/kubernetes by .ci/kube-apiserver.sh; see ./kubeapiserver).
// Only tests import it.
package testenv

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Kafka starts a kfake cluster of three brokers (so replication factors up
// to 3 are real) and stops it when the test ends.
func Kafka(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}
