#!/usr/bin/env bash
# Builds the krew release archive of kubectl-argo for this machine's
# platform and writes a copy of krew/argo.yaml with the archive's sha256.
#   krew/package.sh [--binary PATH] [--out DIR]
# Without --binary it builds target/release/kubectl-argo. Then, e.g.:
#   kubectl krew install --manifest=DIR/argo.yaml --archive=DIR/kubectl-argo-OS-ARCH.tar.gz
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
binary="" out="$root/target/krew"
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--binary PATH] [--out DIR]" >&2; exit 2 ;;
  esac
done
case $(uname -s) in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "unsupported OS $(uname -s)" >&2; exit 1 ;; esac
case $(uname -m) in x86_64 | amd64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) echo "unsupported arch $(uname -m)" >&2; exit 1 ;; esac
if [ -z "$binary" ]; then
  (cd "$root" && cargo build --release -q -p kubectl-argo)
  binary=$root/target/release/kubectl-argo
fi
[ -x "$binary" ] || { echo "error: $binary is not an executable" >&2; exit 1; }

name=kubectl-argo-$os-$arch
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/kubectl-argo"
cp "$root/LICENSE" "$stage/LICENSE"
tar -C "$stage" -czf "$out/$name.tar.gz" kubectl-argo LICENSE
if command -v sha256sum >/dev/null; then
  sum=$(sha256sum "$out/$name.tar.gz" | cut -d' ' -f1)
else
  sum=$(shasum -a 256 "$out/$name.tar.gz" | cut -d' ' -f1)
fi
# The sha256 line right after this platform's uri gets the real checksum.
awk -v archive="/$name.tar.gz" -v sum="$sum" '
  index($0, "uri:") && index($0, archive) { hit = 1 }
  hit && $1 == "sha256:" { sub(/sha256: .*/, "sha256: \"" sum "\""); hit = 0 }
  { print }
' "$root/krew/argo.yaml" >"$out/argo.yaml"
grep -q "$sum" "$out/argo.yaml" || { echo "error: no $os/$arch platform in krew/argo.yaml" >&2; exit 1; }
echo "$out/$name.tar.gz"
echo "$out/argo.yaml"
