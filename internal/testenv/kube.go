package testenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"rtsap.dev/rtsapc/internal/crd"
)

// KubeEnv names the variable holding the kube-apiserver binary built by
// .ci/kube-apiserver.sh (with embedded etcd).
const KubeEnv = "RTSAPC_KUBE_APISERVER"

// Kube is a running kube-apiserver on loopback.
type Kube struct {
	// Kubeconfig is a kubeconfig file for it (token auth, system:masters).
	Kubeconfig string
	Config     *rest.Config
	Dir        string
	cmd        *exec.Cmd
	done       chan struct{}
}

var (
	kubeOnce, crdOnce sync.Once
	kube              *Kube
	kubeErr, crdErr   error
)

// SharedKube starts one API server per test binary (about 10 s here) with
// the Flink, Spark and Argo CRDs installed (50–65 s more on two busy
// cores); StopSharedKube (from TestMain) ends it. It returns (nil, nil),
// and callers skip with KubeSkipMessage, when RTSAPC_KUBE_APISERVER is
// unset or the upstream CRDs are not there to install.
func SharedKube() (*Kube, error) {
	if _, ok := crd.FindSchemas(); !ok {
		return nil, nil
	}
	k, err := SharedKubeBare()
	if k == nil || err != nil {
		return k, err
	}
	crdOnce.Do(func() { crdErr = k.InstallCRDs() })
	return k, crdErr
}

// SharedKubeBare is SharedKube without the CRDs, for tests of built-in kinds.
func SharedKubeBare() (*Kube, error) {
	bin := os.Getenv(KubeEnv)
	if bin == "" {
		return nil, nil
	}
	kubeOnce.Do(func() { kube, kubeErr = StartKube(bin) })
	return kube, kubeErr
}

// StopSharedKube stops the shared API server, if started.
func StopSharedKube() {
	if kube != nil {
		kube.Stop()
	}
}

// KubeSkipMessage is what tests print when they skip for want of the binary.
const KubeSkipMessage = "SKIPPED: testing against a real API server needs RTSAPC_KUBE_APISERVER (run `eval \"$(.ci/kube-apiserver.sh)\"` to build kube-apiserver) and the upstream CRDs (../shared/schemas or $RTSAPC_SCHEMAS)"

// KubeAvailable reports whether SharedKube can run: the binary is named and
// the CRDs it installs are there.
func KubeAvailable() bool {
	_, ok := crd.FindSchemas()
	return ok && os.Getenv(KubeEnv) != ""
}

// StartKube runs the binary with embedded etcd, a temporary cert dir, a
// service-account key and a token file, and waits for /readyz.
func StartKube(bin string) (*Kube, error) {
	dir, err := os.MkdirTemp("", "rtsapc-kube-")
	if err != nil {
		return nil, err
	}
	k := &Kube{Dir: dir, done: make(chan struct{})}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	keyFile := filepath.Join(dir, "sa.key")
	tok := make([]byte, 16)
	rand.Read(tok)
	token := hex.EncodeToString(tok)
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(tokenFile, []byte(token+`,rtsapc-admin,rtsapc-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--etcd-data-dir=" + filepath.Join(dir, "etcd"),
		fmt.Sprintf("--secure-port=%d", port),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// Loopback only: the endpoint reconciler refuses loopback addresses.
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--service-account-key-file=" + keyFile,
		"--service-account-signing-key-file=" + keyFile,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--token-auth-file=" + tokenFile,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.96.0.0/24",
		"--disable-admission-plugins=ServiceAccount",
	}
	logf, err := os.Create(filepath.Join(dir, "kube-apiserver.log"))
	if err != nil {
		return nil, err
	}
	k.cmd = exec.Command(bin, args...)
	k.cmd.Stdout, k.cmd.Stderr = logf, logf
	k.cmd.SysProcAttr = procAttr()
	if err := k.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { k.cmd.Wait(); logf.Close(); close(k.done) }()
	host := fmt.Sprintf("https://127.0.0.1:%d", port)
	k.Config = &rest.Config{Host: host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: 500, Burst: 1000}
	k.Kubeconfig = filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
`, host, token)
	if err := os.WriteFile(k.Kubeconfig, []byte(kc), 0o600); err != nil {
		k.Stop()
		return nil, err
	}
	if err := k.waitReady(host, token, 120*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "kube-apiserver.log"))
		k.Stop()
		return nil, fmt.Errorf("%v\n--- kube-apiserver log (tail) ---\n%s", err, tail(string(log), 40))
	}
	return k, nil
}

func (k *Kube) waitReady(host, token string, timeout time.Duration) error {
	cl := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-k.done:
			return fmt.Errorf("kube-apiserver exited")
		default:
		}
		req, _ := http.NewRequest("GET", host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := cl.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after %s (%s)", timeout, last)
}

// Stop ends the server and removes its files.
func (k *Kube) Stop() {
	if k.cmd != nil && k.cmd.Process != nil {
		k.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-k.done:
		case <-time.After(10 * time.Second):
			k.cmd.Process.Kill()
			<-k.done
		}
	}
	os.RemoveAll(k.Dir)
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CRDFiles are the upstream CRDs installed, relative to the schemas folder.
var CRDFiles = []string{
	"flink/flinkdeployments.flink.apache.org-v1.yml",
	"flink/flinksessionjobs.flink.apache.org-v1.yml",
	"spark/sparkoperator.k8s.io_sparkapplications.yaml",
	"spark/sparkoperator.k8s.io_scheduledsparkapplications.yaml",
	"argo/argoproj.io_workflows.yaml",
	"argo/argoproj.io_workflowtemplates.yaml",
	"argo/argoproj.io_cronworkflows.yaml",
}

// InstallCRDs applies the Flink, Spark and Argo CRDs from ../shared/schemas
// and waits until they are established. Descriptions are dropped first:
// they do not change validation, and Argo's Workflow CRD is otherwise
// several megabytes.
func (k *Kube) InstallCRDs() error {
	dir, ok := crd.FindSchemas()
	if !ok {
		return fmt.Errorf("upstream schemas not found (../shared/schemas or $%s)", crd.SchemasEnv)
	}
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		return err
	}
	// Generous: on two busy cores the server takes most of a minute to
	// compile these schemas.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var names []string
	for _, f := range CRDFiles {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		stripDescriptions(obj)
		u := &unstructured.Unstructured{Object: obj}
		// A fresh server: create once (AlreadyExists when a test calls
		// this twice).
		if _, err := dyn.Resource(crdGVR).Create(ctx, u, metav1.CreateOptions{FieldManager: "rtsapc-testenv"}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("installing %s: %w", f, err)
		}
		names = append(names, u.GetName())
	}
	for _, n := range names {
		for {
			obj, err := dyn.Resource(crdGVR).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return err
			}
			conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
			est := false
			for _, c := range conds {
				m, _ := c.(map[string]any)
				est = est || (m["type"] == "Established" && m["status"] == "True")
			}
			if est {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CRD %s not established: %w", n, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func stripDescriptions(v any) {
	switch x := v.(type) {
	case map[string]any:
		// A string is a description; a map under that key is a property
		// named "description", which stays.
		if _, isText := x["description"].(string); isText {
			delete(x, "description")
		}
		for _, e := range x {
			stripDescriptions(e)
		}
	case []any:
		for _, e := range x {
			stripDescriptions(e)
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
