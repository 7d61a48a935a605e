# Shared by the bench/*.sh scripts: a local cluster of their own (its own
# state directory and ports, so the demo and test clusters are left alone),
# torn down when the script exits, with the CRDs installed.
#   bench_cluster   sets $kubeconfig
. tests/cluster/lib.sh

bench_cluster() {
  # Benchmarks measure the controller on kwok nodes: no real node, so they
  # may run while the demo or the tests own it.
  export ARGO_RS_REAL_NODE=0
  export ARGO_RS_CLUSTER_DIR=$CACHE_ROOT/bench-cluster
  export ARGO_RS_ETCD_PORT=24379 ARGO_RS_ETCD_PEER_PORT=24380 ARGO_RS_APISERVER_PORT=28443 ARGO_RS_KWOK_PORT=22250
  tests/cluster/down >/dev/null 2>&1 || true
  trap 'tests/cluster/down >/dev/null 2>&1 || true' EXIT
  kubeconfig=$(tests/cluster/up | tail -n 1)
  "$BIN_CACHE/current/kubectl" --kubeconfig "$kubeconfig" apply --server-side --force-conflicts -f manifests/crds/ >/dev/null
  "$BIN_CACHE/current/kubectl" --kubeconfig "$kubeconfig" wait --for condition=established \
    crd/workflows.argoproj.io crd/workflowprojects.argoproj.io >/dev/null
}
