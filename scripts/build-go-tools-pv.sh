#!/usr/bin/env bash
# Builds the lab's volume provisioning tools from the Go module proxy into their own
# version-keyed cache directory (separate from scripts/build-go-tools.sh, so that adding
# them left the main tools cache key, and every machine's and CI's cache, valid):
#
#   <cache>/bin/kube-controller-manager   (the lab runs only its PersistentVolume binder)
#   <cache>/bin/csi-provisioner           (external-provisioner, on the CSI mock driver)
#   <cache>/.complete                     (written last; its presence skips everything)
#
# <cache> = ${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-ts/tools-pv-<hash>,
# <hash>  = first 16 hex digits of the sha256 over "sha256  path" lines (sorted by path) of:
#           this script, test/tools-pv/versions.env, test/tools/versions.env and every
#           go.mod and go.sum under test/tools-pv/.
#
# Needs only Go (>= 1.26) and the Go module proxy, checksum verification on. Progress goes
# to stderr; the last (only) line on stdout is the cache directory.
#
# Environment: KVP_TOOLS_CACHE_ROOT, KVP_TOOLS_FORCE=1, GOFLAGS/GOPROXY/GOMODCACHE/GOCACHE,
# as for scripts/build-go-tools.sh.
set -euo pipefail

main() {

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$REPO/test/tools-pv

log() { printf 'build-go-tools-pv: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go not found on PATH"

# shellcheck source=../test/tools/versions.env
. "$REPO/test/tools/versions.env"
# shellcheck source=../test/tools-pv/versions.env
. "$TOOLS/versions.env"
for v in K8S_VERSION K8S_STAGING_VERSION K8S_BUILD_DATE EXTERNAL_PROVISIONER_VERSION SIG_STORAGE_LIB_EXTERNAL_PROVISIONER_VERSION; do
  [ -n "${!v:-}" ] || die "$v is not set in the versions.env files"
done

check_pin() { # file regex description
  grep -Eq "${2%\$}( // indirect)?\$" "$1" || die "$1 does not pin $3 (versions.env); run go mod tidy there after editing"
}
check_pin "$TOOLS/kcm/go.mod" "^[[:space:]]*k8s\.io/kubernetes ${K8S_VERSION//./\\.}\$" "k8s.io/kubernetes $K8S_VERSION"
if grep -E '^[[:space:]]*k8s\.io/[a-z0-9-]+ => k8s\.io/' "$TOOLS/kcm/go.mod" | grep -vq " ${K8S_STAGING_VERSION}\$"; then
  die "test/tools-pv/kcm/go.mod has a staging replace not at $K8S_STAGING_VERSION"
fi
check_pin "$TOOLS/provisioner/go.mod" "^[[:space:]]*github\.com/kubernetes-csi/external-provisioner/v6 ${EXTERNAL_PROVISIONER_VERSION//./\\.}\$" \
  "external-provisioner/v6 $EXTERNAL_PROVISIONER_VERSION"
check_pin "$TOOLS/provisioner/go.mod" \
  "^[[:space:]]*sigs\.k8s\.io/sig-storage-lib-external-provisioner/v13 ${SIG_STORAGE_LIB_EXTERNAL_PROVISIONER_VERSION//./\\.}\$" \
  "sig-storage-lib-external-provisioner/v13 $SIG_STORAGE_LIB_EXTERNAL_PROVISIONER_VERSION"

hash_inputs() {
  (
    cd "$REPO"
    {
      echo scripts/build-go-tools-pv.sh
      echo test/tools/versions.env
      echo test/tools-pv/versions.env
      find test/tools-pv -type f \( -name go.mod -o -name go.sum \)
    } | LC_ALL=C sort -u | while IFS= read -r f; do sha256sum "$f"; done
  ) | sha256sum | cut -c1-16
}
CACHE_ROOT=${KVP_TOOLS_CACHE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-ts}
CACHE=$CACHE_ROOT/tools-pv-$(hash_inputs)

if [ -f "$CACHE/.complete" ] && [ "${KVP_TOOLS_FORCE:-0}" != 1 ]; then
  log "up to date: $CACHE"
  echo "$CACHE"
  exit 0
fi

mkdir -p "$CACHE_ROOT"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE.lock"
  flock 9
  if [ -f "$CACHE/.complete" ] && [ "${KVP_TOOLS_FORCE:-0}" != 1 ]; then
    log "built by a concurrent run: $CACHE"
    echo "$CACHE"
    exit 0
  fi
fi
rm -f "$CACHE/.complete"
mkdir -p "$CACHE/bin"
log "building into $CACHE"

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
GOBUILD=(go build -trimpath)
T0=$SECONDS

timed() { # label cmd...
  local s=$SECONDS
  log "$1 ..."
  shift
  "$@" >&2
  log "  done in $((SECONDS - s))s"
}

# --- kube-controller-manager (module test/tools-pv/kcm; same tag as the lab's kube-apiserver) ---
k8s_minor=${K8S_VERSION#v1.}
k8s_minor=${k8s_minor%%.*}
K8S_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LDFLAGS+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  K8S_LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$K8S_BUILD_DATE"
done
(
  cd "$TOOLS/kcm"
  timed "build kube-controller-manager $K8S_VERSION" "${GOBUILD[@]}" -ldflags "$K8S_LDFLAGS" \
    -o "$CACHE/bin/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
)

# --- csi-provisioner (module test/tools-pv/provisioner) -------------------------
(
  cd "$TOOLS/provisioner"
  timed "build csi-provisioner $EXTERNAL_PROVISIONER_VERSION" "${GOBUILD[@]}" \
    -ldflags "-s -w -X main.version=$EXTERNAL_PROVISIONER_VERSION" \
    -o "$CACHE/bin/csi-provisioner" github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner
)

{
  for b in "$CACHE"/bin/*; do printf '%s %s\n' "$(du -h "$b" | cut -f1)" "${b##*/}"; done
} | sed 's/^/build-go-tools-pv:   /' >&2
log "total $((SECONDS - T0))s"
date -u +%Y-%m-%dT%H:%M:%SZ >"$CACHE/.complete"
echo "$CACHE"
}

main "$@"
exit
