#!/usr/bin/env bash
# Builds CDI's controller for the lab from the Go module proxy into its own version-keyed cache
# directory (separate from scripts/build-go-tools.sh and build-go-tools-pv.sh, so that adding it
# left their cache keys, and every machine's and CI's caches, valid):
#
#   <cache>/bin/cdi-controller   (kubevirt.io/containerized-data-importer cmd/cdi-controller)
#   <cache>/bin/cdi-crds         (prints the CRDs CDI's operator installs, same tag)
#   <cache>/.complete            (written last; its presence skips everything)
#
# <cache> = ${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-ts/tools-cdi-<hash>,
# <hash>  = first 16 hex digits of the sha256 over "sha256  path" lines (sorted by path) of:
#           this script, test/tools/versions.env and every file under test/tools-cdi/.
#
# Needs only Go (>= 1.26) and the Go module proxy, checksum verification on. Progress goes
# to stderr; the last (only) line on stdout is the cache directory.
#
# Environment: KVP_TOOLS_CACHE_ROOT, KVP_TOOLS_FORCE=1, GOFLAGS/GOPROXY/GOMODCACHE/GOCACHE,
# as for scripts/build-go-tools.sh.
set -euo pipefail

main() {

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$REPO/test/tools-cdi

log() { printf 'build-go-tools-cdi: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go not found on PATH"

# shellcheck source=../test/tools/versions.env
. "$REPO/test/tools/versions.env"
for v in CDI_VERSION CDI_API_VERSION; do
  [ -n "${!v:-}" ] || die "$v is not set in test/tools/versions.env"
done

check_pin() { # file regex description
  grep -Eq "${2%\$}( // indirect)?\$" "$1" || die "$1 does not pin $3 (versions.env); run go mod tidy there after editing"
}
check_pin "$TOOLS/go.mod" "^(require )?[[:space:]]*kubevirt\.io/containerized-data-importer ${CDI_VERSION//./\\.}\$" \
  "kubevirt.io/containerized-data-importer $CDI_VERSION"
check_pin "$TOOLS/go.mod" \
  "^[[:space:]]*kubevirt\.io/containerized-data-importer-api => kubevirt\.io/containerized-data-importer-api ${CDI_API_VERSION//./\\.}\$" \
  "the containerized-data-importer-api replace at $CDI_API_VERSION"

hash_inputs() {
  (
    cd "$REPO"
    {
      echo scripts/build-go-tools-cdi.sh
      echo test/tools/versions.env
      find test/tools-cdi -type f
    } | LC_ALL=C sort -u | while IFS= read -r f; do sha256sum "$f"; done
  ) | sha256sum | cut -c1-16
}
CACHE_ROOT=${KVP_TOOLS_CACHE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-ts}
CACHE=$CACHE_ROOT/tools-cdi-$(hash_inputs)

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

(
  cd "$TOOLS"
  timed "build cdi-crds $CDI_VERSION" "${GOBUILD[@]}" -ldflags "-s -w" -o "$CACHE/bin/cdi-crds" ./cdi-crds
  timed "build cdi-controller $CDI_VERSION" "${GOBUILD[@]}" -ldflags "-s -w" \
    -o "$CACHE/bin/cdi-controller" kubevirt.io/containerized-data-importer/cmd/cdi-controller
)

{
  for b in "$CACHE"/bin/*; do printf '%s %s\n' "$(du -h "$b" | cut -f1)" "${b##*/}"; done
} | sed 's/^/build-go-tools-cdi:   /' >&2
log "total $((SECONDS - T0))s"
date -u +%Y-%m-%dT%H:%M:%SZ >"$CACHE/.complete"
echo "$CACHE"
}

main "$@"
exit
