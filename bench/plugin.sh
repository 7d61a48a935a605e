#!/usr/bin/env bash
# Plugin benchmark: `kubectl-argo version` start-up; `kubectl argo list`
# against `kubectl get wf` over the same 5,000 workflows; `kubectl argo get`
# of a 2,000-node workflow. Runs on its own local cluster, torn down after.
#   bench/plugin.sh [--workflows N] [--nodes N] [--runs N]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
. bench/lib.sh

step "build release binaries"
cargo build --release -q -p kubectl-argo -p bench

bench_cluster

step "run the benchmark"
target/release/argo-bench plugin --kubeconfig "$kubeconfig" --plugin target/release/kubectl-argo \
  --kubectl "$BIN_CACHE/current/kubectl" "$@"
