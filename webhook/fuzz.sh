#!/usr/bin/env bash
# Fuzzes the webhook's admission entry point with cargo fuzz (libFuzzer)
# for a bounded time; fails on any panic. Needs the nightly toolchain.
#   webhook/fuzz.sh [SECONDS]   (default 120)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/fuzz"
seconds=${1:-120}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
mkdir -p corpus/admission
cargo +nightly fuzz run admission corpus/admission -- -max_total_time="$seconds" -rss_limit_mb=4096
