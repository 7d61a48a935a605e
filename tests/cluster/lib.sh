# Shared helpers for the local cluster scripts. Sourced, not executed.
# shellcheck shell=bash

CLUSTER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$CLUSTER_DIR/versions.env"

# Built binaries live outside the clone so a fresh CI clone reuses them.
CACHE_ROOT=${ARGO_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/argo-rs}
BIN_CACHE=$CACHE_ROOT/bin
# Cluster state (certs, etcd data, logs, pids) lives outside the clone too:
# `up` in any clone finds a cluster another clone started.
STATE_DIR=${ARGO_RS_CLUSTER_DIR:-$CACHE_ROOT/cluster}

STEP="starting"
step() {
  STEP="$1"
  printf '==> %s\n' "$1" >&2
}
die() {
  printf 'error: step "%s" failed: %s\n' "$STEP" "$*" >&2
  exit 1
}
note() { printf '    %s\n' "$*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "required command '$1' is not installed${2:+ ($2)}"
}

# Path of the cached directory for one component at one version.
cache_dir() { printf '%s/%s-%s\n' "$BIN_CACHE" "$1" "$2"; }

# Exports GO* settings that keep the Go build cache and module cache outside
# the clone and stable across runs.
go_env() {
  need go "Go 1.26 builds the cluster binaries from source"
  export GOFLAGS="${GOFLAGS:--buildvcs=false}"
  export CGO_ENABLED=0
  export GOMODCACHE=${GOMODCACHE:-$(go env GOMODCACHE)}
  export GOCACHE=${GOCACHE:-$(go env GOCACHE)}
}

# Loopback ports of the local cluster; override when they clash.
ETCD_PORT=${ARGO_RS_ETCD_PORT:-22379}
ETCD_PEER_PORT=${ARGO_RS_ETCD_PEER_PORT:-22380}
APISERVER_PORT=${ARGO_RS_APISERVER_PORT:-26443}
KWOK_PORT=${ARGO_RS_KWOK_PORT:-20250}
NODE_COUNT=${ARGO_RS_NODE_COUNT:-3}

KUBECONFIG_PATH=$STATE_DIR/kubeconfig
PKI=$STATE_DIR/pki

# True when the recorded process of a component still runs. The command line
# is checked too: after a reboot the pid may belong to something else.
# No `| grep -q` here or below: under pipefail, grep quitting early can fail
# the writer with SIGPIPE and so the whole test.
alive_in() { # PIDS_DIR NAME
  local f="$1/$2.pid" pid cmdline
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$2"* ]]
}
pid_alive() { alive_in "$STATE_DIR/pids" "$1"; }

# start_in PIDS_DIR LOGS_DIR NAME COMMAND...: runs the command detached,
# unless it already runs. Returns once the child has exec'd: until then
# its command line is this script's, and alive_in would call it dead.
start_in() {
  local pids=$1 logs=$2 name=$3 pid i
  shift 3
  if alive_in "$pids" "$name"; then
    note "$name: already running (pid $(cat "$pids/$name.pid"))"
    return 0
  fi
  step "start $name"
  setsid nohup "$@" >>"$logs/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pids/$name.pid"
  for ((i = 0; i < 100; i++)); do
    alive_in "$pids" "$name" && return 0
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
}

# ---- the real node ----------------------------------------------------------
# One per machine: kubelet, kube-proxy and libcni keep machine-wide paths
# and iptables chains (see tests/cluster/REAL-NODE.md). ARGO_RS_REAL_NODE=0
# makes a kwok-only cluster (benchmarks), which may run beside it.
real_node_wanted() { [ "${ARGO_RS_REAL_NODE:-1}" = 1 ]; }
NODE_NAME=real-0
# kubelet refuses a loopback node IP: a /32 on lo, which the apiserver
# also listens on so that pods reach it through the kubernetes Service.
# One per cluster (the test cluster's is .2), so that taking one cluster
# down never takes another's apiserver address away; recorded at `up`.
NODE_IP=$(cat "$STATE_DIR/node-ip" 2>/dev/null || echo "${ARGO_RS_NODE_IP:-10.254.254.1}")
POD_CIDR=${ARGO_RS_POD_CIDR:-10.244.0.0/24}
SERVICE_CIDR=10.96.0.0/16
CNI_BRIDGE=argors0
KUBELET_PORT=${ARGO_RS_KUBELET_PORT:-31250}
KUBELET_HEALTHZ_PORT=${ARGO_RS_KUBELET_HEALTHZ_PORT:-31248}
KUBE_PROXY_HEALTHZ_PORT=${ARGO_RS_KUBE_PROXY_HEALTHZ_PORT:-31256}
REGISTRY_PORT=${ARGO_RS_REGISTRY_PORT:-35000}
REGISTRY=127.0.0.1:$REGISTRY_PORT
NODE_DIR=$STATE_DIR/node
# Which cluster's state dir owns the machine's real node.
REAL_NODE_OWNER=/run/argo-rs-real-node.owner

# The web UI's tests and benchmark drive a real browser: Debian's chromium
# and its chromedriver. Installs them when missing (root), else says how.
need_browser() {
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && return 0
  local pkgs=(chromium chromium-driver fonts-dejavu-core)
  [ "$(id -u)" = 0 ] || die "the UI tests need a browser: apt-get install ${pkgs[*]}"
  note "installing ${pkgs[*]} (apt-get) for the UI tests"
  { apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1; }; } ||
    die "apt-get could not install ${pkgs[*]}"
}
