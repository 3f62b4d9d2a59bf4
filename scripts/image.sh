#!/usr/bin/env bash
# Builds Prescale's container image on this machine without a container engine and without
# pulling anything from a registry, then checks it:
#   1. the release binary (cargo build --release -p prescale --locked), unless --binary;
#   2. a root file system: /prescale, the libraries it links (ldd), Debian's CA roots, and an
#      /etc/passwd naming the non-root user 65532 (no shell, no package manager);
#   3. an OCI image layout (scripts/oci_image.py) tagged ghcr.io/prescale/prescale:VERSION, the
#      image `prescale install` and the Helm chart default to, plus a tar of it;
#   4. checks: every digest, the config (user, entrypoint, labels), and the binary inside the
#      unpacked image run as user 65532 in a chroot: `--version`, and `run` against the API
#      stand-in answering /livez and /readyz.
# Usage: scripts/image.sh [--binary PATH] [--out DIR] [--ref NAME:TAG] [--standin-url URL] [--fast]
# Then: docker load -i DIR/prescale-image.tar, or skopeo copy oci:DIR/oci:TAG docker://REGISTRY/...
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
source_url="$(sed -n 's/^repository = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
ref="ghcr.io/prescale/prescale:$version"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$target/image"
binary=""
standin_url=""
fast=()
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --ref) ref="$2"; shift 2 ;;
    --standin-url) standin_url="$2"; shift 2 ;;
    --fast) fast=(--fast); shift ;;
    *) echo "image.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ -z "$binary" ]; then
  echo "image.sh: building the release binary"
  (cd "$root" && cargo build --release -p prescale --locked)
  binary="$target/release/prescale"
fi

mkdir -p "$out"
rootfs="$out/rootfs"
layout="$out/oci"
unpacked="$out/unpacked"
python3 "$root/scripts/oci_image.py" rootfs "$binary" "$rootfs"
revision="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
created="$(git -C "$root" log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)"
python3 "$root/scripts/oci_image.py" write "$rootfs" "$layout" --ref "$ref" "${fast[@]}" \
  --archive "$out/prescale-image.tar" \
  --label "org.opencontainers.image.title=prescale" \
  --label "org.opencontainers.image.description=KEDA-compatible event-driven autoscaler and external metrics API that scales ahead of known peaks" \
  --label "org.opencontainers.image.version=${ref##*:}" \
  --label "org.opencontainers.image.source=$source_url" \
  --label "org.opencontainers.image.licenses=Apache-2.0" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.created=$created"
python3 "$root/scripts/oci_image.py" check "$layout" --ref "$ref" --unpack "$unpacked"

# run the binary from the unpacked image as its user (root: chroot --userspec; otherwise a
# user namespace maps the caller to root inside it)
chroot_bin="$(command -v chroot)"
unshare_bin="$(command -v unshare)"
# (exec: called in the background or in $(…), the subshell becomes the binary itself, so the
# pid the cleanup kills is prescale's and no process outlives the script)
in_image() {
  if [ "$(id -u)" = 0 ]; then
    exec env -i HOME=/ KUBECONFIG=/tmp/kubeconfig NO_COLOR=1 "$chroot_bin" --userspec=65532:65532 "$unpacked" "$@"
  else
    exec env -i HOME=/ KUBECONFIG=/tmp/kubeconfig NO_COLOR=1 "$unshare_bin" -r "$chroot_bin" "$unpacked" "$@"
  fi
}
got="$(in_image /prescale --version)"
case "$got" in
  "prescale $version"*) echo "image.sh: /prescale --version in the image: $got" ;;
  *) echo "image.sh: /prescale --version printed '$got', want 'prescale $version'" >&2; exit 1 ;;
esac

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
if [ -z "$standin_url" ]; then
  (cd "$root" && cargo build -q -p prescale-kube-standin --bin kube-standin-http)
  "$target/debug/kube-standin-http" > "$out/standin.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do grep -q "listening on" "$out/standin.log" 2>/dev/null && break; sleep 0.1; done
  standin_url="$(sed -n 's/^listening on //p' "$out/standin.log")"
fi
cat > "$unpacked/tmp/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: standin, cluster: {server: "$standin_url"}}]
users: [{name: u, user: {token: image-check}}]
contexts: [{name: standin, context: {cluster: standin, user: u}}]
current-context: standin
KC
admin_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
in_image /prescale run --admin-addr "127.0.0.1:$admin_port" --metrics-api-addr 127.0.0.1:0 \
  --no-leader-election > "$out/run.log" 2>&1 &
pids+=($!)
ok=""
for _ in $(seq 150); do
  if curl -fsS "http://127.0.0.1:$admin_port/livez" >/dev/null 2>&1 \
    && curl -fsS "http://127.0.0.1:$admin_port/readyz" >/dev/null 2>&1; then
    ok=1
    break
  fi
  sleep 0.2
done
if [ -z "$ok" ]; then
  echo "image.sh: prescale run in the image did not answer /livez and /readyz; its log:" >&2
  cat "$out/run.log" >&2
  exit 1
fi
echo "image.sh: prescale run in the image answers /livez and /readyz against the API stand-in at $standin_url"
echo "image.sh: built $ref"
echo "  OCI layout: $layout   archive: $out/prescale-image.tar ($(du -h "$out/prescale-image.tar" | cut -f1))"
