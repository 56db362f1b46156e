package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"rtsap.dev/rtsapc/internal/crd"
	"rtsap.dev/rtsapc/internal/testenv"
)

// setupDeploy gives plan/apply scripts their services: a kfake broker per
// script ($KAFKA_BROKERS; scripts opt in with
// `env RTSAPC_KAFKA_BROKERS=$KAFKA_BROKERS`), and the shared kube-apiserver
// when RTSAPC_KUBE_APISERVER is set ($KUBECONFIG_TEST and the [kube]
// condition). RTSAPC_* variables from the outer environment are cleared so
// a developer's settings never reach a script.
func setupDeploy(e *testscript.Env) error {
	for _, v := range []string{"RTSAPC_KAFKA_BROKERS", "RTSAPC_KUBECONFIG", "RTSAPC_OPENLINEAGE_URL", "RTSAPC_TEST_CRASH_AFTER", "RTSAPC_TEST_HOLD_LOCK"} {
		e.Setenv(v, "")
	}
	if !needsServices(e) {
		return nil
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return err
	}
	e.Defer(c.Close)
	e.Values[kafkaClusterKey{}] = c
	e.Setenv("KAFKA_BROKERS", strings.Join(c.ListenAddrs(), ","))
	if testenv.KubeAvailable() && strings.Contains(scriptName(e), "kube") {
		k, err := testenv.SharedKube()
		if err != nil {
			return err
		}
		e.Setenv("KUBECONFIG_TEST", k.Kubeconfig)
		// The script's work dir has no ../shared: point build at the CRDs.
		if dir, ok := crd.FindSchemas(); ok {
			e.Setenv(crd.SchemasEnv, dir)
		}
	}
	return nil
}

// needsServices: only plan/apply/destroy scripts get a broker.
func needsServices(e *testscript.Env) bool {
	n := scriptName(e)
	return strings.HasPrefix(n, "plan_") || strings.HasPrefix(n, "apply_") || strings.HasPrefix(n, "destroy_")
}

func scriptName(e *testscript.Env) string {
	if t, ok := e.T().(interface{ Name() string }); ok {
		n := t.Name()
		return n[strings.LastIndex(n, "/")+1:]
	}
	return ""
}

// deployConditions: [kube] holds when the kube-apiserver binary and the
// CRDs it needs are there.
func deployCondition(cond string) (bool, error) {
	if cond == "kube" {
		return testenv.KubeAvailable(), nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

type kafkaClusterKey struct{}

var deployCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// kafkafault N: the script's broker refuses the N-th CreateTopics
	// request from now on (POLICY_VIOLATION), once.
	"kafkafault": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: kafkafault N")
		}
		n, err := strconv.Atoi(args[0])
		ts.Check(err)
		c, _ := ts.Value(kafkaClusterKey{}).(*kfake.Cluster)
		if c == nil {
			ts.Fatalf("no kfake cluster in this script")
		}
		seen := 0
		c.ControlKey(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
			if seen++; seen != n {
				return nil, nil, false
			}
			r := req.(*kmsg.CreateTopicsRequest)
			resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
			for _, rt := range r.Topics {
				st := kmsg.NewCreateTopicsResponseTopic()
				st.Topic = rt.Topic
				st.ErrorCode = kerr.PolicyViolation.Code
				resp.Topics = append(resp.Topics, st)
			}
			return resp, nil, true
		})
	},
	// waitfile FILE: wait (up to 60s) until FILE exists.
	"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: waitfile FILE")
		}
		for i := 0; i < 1200; i++ {
			if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		ts.Fatalf("%s did not appear in 60s", args[0])
	},
	// kafkaconfig TOPIC KEY VALUE: set a topic config with another client
	// (a change made outside rtsapc).
	"kafkaconfig": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: kafkaconfig TOPIC KEY VALUE")
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(ts.Getenv("KAFKA_BROKERS"), ",")...))
		ts.Check(err)
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := kadm.NewClient(cl).AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: args[1], Value: kadm.StringPtr(args[2])}}, args[0])
		ts.Check(err)
		for _, r := range resp {
			ts.Check(r.Err)
		}
	},
	// kubepatch GROUP/VERSION RESOURCE NAMESPACE NAME MERGEPATCH: change an
	// object through the API server as a person would.
	"kubepatch": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 5 {
			ts.Fatalf("usage: kubepatch GROUP/VERSION RESOURCE NAMESPACE NAME PATCH")
		}
		k, err := testenv.SharedKube()
		ts.Check(err)
		if k == nil {
			ts.Fatalf("no kube-apiserver")
		}
		dyn, err := dynamic.NewForConfig(k.Config)
		ts.Check(err)
		gv, err := schema.ParseGroupVersion(args[0])
		ts.Check(err)
		_, err = dyn.Resource(gv.WithResource(args[1])).Namespace(args[2]).Patch(context.Background(), args[3],
			types.MergePatchType, []byte(args[4]), metav1.PatchOptions{FieldManager: "kubectl-edit"})
		ts.Check(err)
	},
}
