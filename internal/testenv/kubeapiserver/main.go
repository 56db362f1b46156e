// Command kubeapiserver is kube-apiserver from k8s.io/kubernetes with etcd
// embedded (go.etcd.io/etcd/server/v3/embed) on loopback, for integration
// tests. It takes the kube-apiserver flags plus one of its own,
// --etcd-data-dir (required), and supplies --etcd-servers itself.
//
// It lives in its own module so that the product's go.mod never requires
// k8s.io/kubernetes; .ci/kube-apiserver.sh builds it.
package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	var dataDir string
	var args []string
	for _, a := range os.Args[1:] {
		if v, ok := strings.CutPrefix(a, "--etcd-data-dir="); ok {
			dataDir = v
			continue
		}
		args = append(args, a)
	}
	if dataDir == "" {
		fmt.Fprintln(os.Stderr, "kubeapiserver: --etcd-data-dir=DIR is required")
		os.Exit(2)
	}
	clientURL, err := startEtcd(dataDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubeapiserver: etcd:", err)
		os.Exit(1)
	}
	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(append(args, "--etcd-servers="+clientURL))
	os.Exit(cli.Run(cmd))
}

// startEtcd runs a single-member etcd on two free loopback ports and returns
// its client URL once it serves.
func startEtcd(dir string) (string, error) {
	client, err := freeURL()
	if err != nil {
		return "", err
	}
	peer, err := freeURL()
	if err != nil {
		return "", err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.Name = "rtsapc-test"
	cfg.LogLevel = "error"
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// Upstream CRDs (Argo's Workflow) run to megabytes; etcd's default
	// request limit of 1.5 MiB would refuse them.
	cfg.MaxRequestBytes = 8 << 20
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return "", fmt.Errorf("not ready after 60s")
	}
	return client.String(), nil
}

func freeURL() (*url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	return &url.URL{Scheme: "http", Host: addr}, nil
}
