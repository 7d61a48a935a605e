#!/usr/bin/env bash
# Controller benchmark: (a) a DAG of 1,000 independent tasks against a bare
# client creating the same number of pods, (b) a chain of 200 sequential
# steps, (c) 200 one-pod workflows at once, (d) a fan-out of 1,000 tasks whose
# results one withParam fans in, against the same shape without outputs.
# Prints pods/s and the ratio to
# the bare client, the per-step latency, and the controller's CPU seconds
# and peak RSS. Runs on its own local cluster, torn down afterwards.
#   bench/controller.sh [--wide N] [--chain N] [--many N] [--fan N]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
. bench/lib.sh

step "build release binaries"
cargo build --release -q -p argo-controller -p bench

bench_cluster

step "run the benchmark"
target/release/argo-bench controller --kubeconfig "$kubeconfig" --controller target/release/argo-controller "$@"
