#!/usr/bin/env bash
# Builds kube-apiserver (with embedded etcd) from internal/testenv/kubeapiserver
# into a cache directory, reusing a binary built from the same go.mod/go.sum/main.go,
# and prints `export RTSAPC_KUBE_APISERVER=PATH` for `eval`.
# Progress goes to stderr; a cold build takes a few minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/../internal/testenv/kubeapiserver"
cache="${RTSAPC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rtsapc}/kube-apiserver"
key="$(cat go.mod go.sum main.go | sha256sum | cut -c1-16)"
bin="$cache/kube-apiserver-$key"
if [ ! -x "$bin" ]; then
	mkdir -p "$cache"
	echo "building kube-apiserver into $bin (cold: several minutes)" >&2
	go build -trimpath -o "$bin.tmp" . >&2
	mv "$bin.tmp" "$bin"
	# Binaries built from older sources are no longer used.
	find "$cache" -maxdepth 1 -name 'kube-apiserver-*' ! -name "$(basename "$bin")" -delete
fi
echo "export RTSAPC_KUBE_APISERVER=$bin"
