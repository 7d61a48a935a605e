#!/usr/bin/env bash
# Controller benchmark: (a) a DAG of 1,000 independent tasks against a bare
# client creating the same number of pods, (b) a chain of 200 sequential
# steps, (c) 200 one-pod workflows at once. Prints pods/s and the ratio to
# the bare client, the per-step latency, and the controller's CPU seconds
# and peak RSS. Runs on its own local cluster, torn down afterwards.
#   bench/controller.sh [--wide N] [--chain N] [--many N]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
. tests/cluster/lib.sh

step "build release binaries"
cargo build --release -q -p argo-controller -p bench

export ARGO_RS_CLUSTER_DIR=$CACHE_ROOT/bench-cluster
export ARGO_RS_ETCD_PORT=24379 ARGO_RS_ETCD_PEER_PORT=24380 ARGO_RS_APISERVER_PORT=28443 ARGO_RS_KWOK_PORT=22250
tests/cluster/down >/dev/null 2>&1 || true
trap 'tests/cluster/down >/dev/null 2>&1 || true' EXIT
kubeconfig=$(tests/cluster/up | tail -n 1)
"$BIN_CACHE/current/kubectl" --kubeconfig "$kubeconfig" apply --server-side --force-conflicts -f manifests/crds/ >/dev/null
"$BIN_CACHE/current/kubectl" --kubeconfig "$kubeconfig" wait --for condition=established crd/workflows.argoproj.io >/dev/null

step "run the benchmark"
target/release/argo-bench controller --kubeconfig "$kubeconfig" --controller target/release/argo-controller "$@"
