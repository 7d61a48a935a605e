#!/usr/bin/env bash
# Mutation-fuzzes the engine with hostile specs, statuses and pods in a
# release build; fails on any panic and names the input that caused it.
#   controller/fuzz.sh [CASES] [SEED]   (defaults: 1000000, the test's seed)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export ARGO_RS_FUZZ_CASES=${1:-1000000}
[ -n "${2:-}" ] && export ARGO_RS_FUZZ_SEED=$2
cargo test --release -p argo-controller --test engine_fuzz -- --nocapture
