#!/usr/bin/env bash
# Plugin benchmark: `kubectl-argo version` start-up; `kubectl argo list`
# against `kubectl get wf` over the same 5,000 workflows; `kubectl argo get`
# of a 2,000-node workflow. Runs on its own local cluster, torn down after.
#   bench/plugin.sh [--workflows N] [--nodes N] [--runs N]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
. tests/cluster/lib.sh

step "build release binaries"
cargo build --release -q -p kubectl-argo -p bench

export ARGO_RS_CLUSTER_DIR=$CACHE_ROOT/bench-cluster
export ARGO_RS_ETCD_PORT=24379 ARGO_RS_ETCD_PEER_PORT=24380 ARGO_RS_APISERVER_PORT=28443 ARGO_RS_KWOK_PORT=22250
tests/cluster/down >/dev/null 2>&1 || true
trap 'tests/cluster/down >/dev/null 2>&1 || true' EXIT
kubeconfig=$(tests/cluster/up | tail -n 1)
"$BIN_CACHE/current/kubectl" --kubeconfig "$kubeconfig" apply --server-side --force-conflicts -f manifests/crds/ >/dev/null
"$BIN_CACHE/current/kubectl" --kubeconfig "$kubeconfig" wait --for condition=established crd/workflows.argoproj.io >/dev/null

step "run the benchmark"
target/release/argo-bench plugin --kubeconfig "$kubeconfig" --plugin target/release/kubectl-argo \
  --kubectl "$BIN_CACHE/current/kubectl" "$@"
