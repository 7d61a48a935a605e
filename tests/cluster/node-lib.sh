# Helpers of the real node's scripts (node-up, node-down). Sourced after
# lib.sh, not executed.
# shellcheck shell=bash

kc() { "$BIN_CACHE/current/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }
ctr() { "$(cache_dir containerd "$CONTAINERD_VERSION")/ctr" --address "$NODE_DIR/containerd/containerd.sock" "$@"; }

node_alive() { alive_in "$NODE_DIR/pids" "$1"; }

# write_if_changed FILE: stdin into FILE, leaving FILE alone when it
# already says that (kube-proxy restarts when its file is written).
write_if_changed() {
  local new
  new=$(cat)
  [ -f "$1" ] && [ "$(cat "$1")" = "$new" ] && return 0
  printf '%s\n' "$new" >"$1"
}

# node_start NAME COMMAND...: detached, unless it already runs.
node_start() { start_in "$NODE_DIR/pids" "$NODE_DIR/logs" "$@"; }

# node_wait NAME SECONDS COMMAND...: polls; on failure shows NAME's log.
node_wait() {
  local name=$1 secs=$2 i
  shift 2
  for ((i = 0; i < secs * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! node_alive "$name"; then
      tail -n 30 "$NODE_DIR/logs/$name.log" >&2 || true
      die "$name exited; its log is $NODE_DIR/logs/$name.log$(hint "$name")"
    fi
    sleep 0.25
  done
  tail -n 30 "$NODE_DIR/logs/$name.log" >&2 || true
  die "$name was not ready after ${secs}s; its log is $NODE_DIR/logs/$name.log$(hint "$name")"
}

# What usually stops a part, from its log.
hint() {
  local log="$NODE_DIR/logs/$1.log"
  if grep -q "address already in use" "$log" 2>/dev/null; then
    printf '\nfix: a port of %s is taken; set ARGO_RS_REGISTRY_PORT, ARGO_RS_KUBELET_PORT, ARGO_RS_KUBELET_HEALTHZ_PORT or ARGO_RS_KUBE_PROXY_HEALTHZ_PORT' "$1"
  elif grep -qi "cgroup" "$log" 2>/dev/null && [ "$1" = kubelet ]; then
    printf '\nfix: see "cgroups" in tests/cluster/REAL-NODE.md'
  elif grep -q "oom_score_adj" "$log" 2>/dev/null; then
    printf '\nfix: runc must run containers as root here; see tests/cluster/REAL-NODE.md'
  fi
}

# The machine has one real node; it belongs to the cluster that claimed it
# while that cluster's kubelet runs. With ARGO_RS_TAKE_REAL_NODE=1 (tests/run
# sets it) the other cluster's node is stopped first: its control plane and
# kwok nodes keep running, and its `up` brings the node back.
claim_real_node() {
  local owner pid
  owner=$(cat "$REAL_NODE_OWNER" 2>/dev/null || true)
  if [ -n "$owner" ] && [ "$owner" != "$STATE_DIR" ] && [ -d "$owner/node/pids" ]; then
    pid=$(cat "$owner/node/pids/kubelet.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      if [ "${ARGO_RS_TAKE_REAL_NODE:-}" = 1 ]; then
        step "take the machine's real node from the cluster in $owner"
        ARGO_RS_CLUSTER_DIR=$owner "$CLUSTER_DIR/node-down" >&2
      else
        die "the machine's real node belongs to the cluster in $owner (one per machine: kubelet and kube-proxy use machine-wide paths and iptables chains).
fix: stop it with  ARGO_RS_CLUSTER_DIR=$owner tests/cluster/down  or start this cluster without one: ARGO_RS_REAL_NODE=0"
      fi
    fi
  fi
  echo "$STATE_DIR" >"$REAL_NODE_OWNER"
}

# Debian packages the real node needs from the machine; installed when
# missing (root only), as the rest of the cluster is built when missing.
ensure_host_packages() {
  local missing=() pair
  for pair in runc:runc busybox-static:/bin/busybox iptables:iptables; do
    command -v "${pair#*:}" >/dev/null 2>&1 || [ -x "${pair#*:}" ] || missing+=("${pair%%:*}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "the real node needs the Debian packages ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
  step "install Debian packages: ${missing[*]}"
  { apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; }; } ||
    die "apt-get could not install ${missing[*]}"
}
