#!/usr/bin/env bash
# Webhook benchmark: AdmissionReviews straight to argo-webhook over TLS with
# keep-alive at several concurrencies and at a fixed 1,000 req/s (p50/p99,
# req/s, peak RSS), then the p99 of creating Workflows through the real
# apiserver with and without the webhook registered, in the same run.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
. tests/cluster/lib.sh

step "build release binaries"
cargo build --release -q -p argo-webhook -p bench

export ARGO_RS_CLUSTER_DIR=$CACHE_ROOT/bench-cluster
export ARGO_RS_ETCD_PORT=24379 ARGO_RS_ETCD_PEER_PORT=24380 ARGO_RS_APISERVER_PORT=28443 ARGO_RS_KWOK_PORT=22250
tests/cluster/down >/dev/null 2>&1 || true
trap 'tests/cluster/down >/dev/null 2>&1 || true' EXIT
kubeconfig=$(tests/cluster/up | tail -n 1)
"$BIN_CACHE/current/kubectl" --kubeconfig "$kubeconfig" apply --server-side --force-conflicts -f manifests/crds/ >/dev/null
"$BIN_CACHE/current/kubectl" --kubeconfig "$kubeconfig" wait --for condition=established crd/workflows.argoproj.io crd/workflowprojects.argoproj.io >/dev/null

step "run the benchmark"
target/release/argo-bench webhook --kubeconfig "$kubeconfig" --webhook target/release/argo-webhook "$@"
