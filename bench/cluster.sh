#!/usr/bin/env bash
# The local cluster itself: how long `tests/cluster/up` takes (binaries and
# images cached) and what the whole cluster, real node included, holds in
# memory when idle (target: under 2 GiB RSS). Runs its own cluster with the
# real node, torn down afterwards; the machine's real node must be free.
#   bench/cluster.sh [IDLE_SECONDS]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
. tests/cluster/lib.sh

idle=${1:-30}
export ARGO_RS_CLUSTER_DIR=$CACHE_ROOT/bench-real-cluster ARGO_RS_NODE_IP=10.254.254.3
export ARGO_RS_ETCD_PORT=25379 ARGO_RS_ETCD_PEER_PORT=25380 ARGO_RS_APISERVER_PORT=29443 ARGO_RS_KWOK_PORT=23250
tests/cluster/down >/dev/null 2>&1 || true
trap 'tests/cluster/down >/dev/null 2>&1 || true' EXIT
tests/cluster/build >/dev/null

start=$(date +%s%N)
kubeconfig=$(tests/cluster/up 2>/dev/null | tail -n 1)
up_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kubectl=("$BIN_CACHE/current/kubectl" --kubeconfig "$kubeconfig")
# One real pod, so a shim and a sandbox are in the figure.
"${kubectl[@]}" run idle --image=busybox --restart=Never -- sleep 3600 >/dev/null
"${kubectl[@]}" wait --for=condition=Ready pod/idle --timeout=60s >/dev/null
sleep "$idle"

printf 'local cluster benchmark, one run\n'
printf '  tests/cluster/up (cached binaries and images): %d.%d s\n' $((up_ms / 1000)) $((up_ms % 1000 / 100))
printf '  idle RSS after %s s, one pod running on real-0:\n' "$idle"
# Every process the cluster started, found by its state directory or its
# binaries' cache (shims and pause processes belong to containerd).
rows=$(ps -eo rss=,pid=,args= | awk -v dir="$ARGO_RS_CLUSTER_DIR" -v bin="$BIN_CACHE" '
  index($0, dir) || index($0, bin) || /containerd-shim-runc-v2/ || / \/pause$/ {
    name = $3; sub(".*/", "", name); rss[name] += $1; total += $1
  }
  END {
    for (n in rss) printf "    %-28s %7.1f MiB\n", n, rss[n] / 1024
    printf "  total %.1f MiB (target < 2048 MiB)\n", total / 1024
  }')
grep -v '^  total' <<<"$rows" | sort -k2 -rn
grep '^  total' <<<"$rows"
