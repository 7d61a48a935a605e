#!/usr/bin/env bash
# Webhook benchmark: AdmissionReviews straight to argo-webhook over TLS with
# keep-alive at several concurrencies and at a fixed 1,000 req/s (p50/p99,
# req/s, peak RSS), then the p99 of creating Workflows through the real
# apiserver with and without the webhook registered, in the same run.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
. bench/lib.sh

step "build release binaries"
cargo build --release -q -p argo-webhook -p bench

bench_cluster

step "run the benchmark"
target/release/argo-bench webhook --kubeconfig "$kubeconfig" --webhook target/release/argo-webhook "$@"
