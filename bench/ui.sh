#!/usr/bin/env bash
# Web UI benchmark, in headless chromium (Debian's chromium and
# chromium-driver): first paint of a list of 5,000 workflows, and the graph
# of a 2,000-node workflow (a chain; a loop, grouped then expanded). Runs
# on its own local cluster, torn down after.
#   bench/ui.sh [--workflows N] [--nodes N] [--runs N]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
. bench/lib.sh

need_browser
step "build release binaries"
cargo build --release -q -p kubectl-argo -p bench

bench_cluster

step "run the benchmark"
target/release/argo-bench ui --kubeconfig "$kubeconfig" --plugin target/release/kubectl-argo "$@"
