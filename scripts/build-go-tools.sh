#!/usr/bin/env bash
# Builds the Go side of the local test lab from the Go module proxy into a
# version-keyed cache directory outside the repository:
#
#   <cache>/bin/{kube-apiserver,etcd,kubectl,velero,kvp-fsobjectstore}
#   <cache>/bin/{kwok,snapshot-controller,csi-snapshotter,mock-driver}
#   <cache>/crds/*.yaml           (one CRD per file, named <metadata.name>.yaml; kwok's included)
#   <cache>/kwok/stages/*.yaml    (kwok's default node and pod Stages, as shipped)
#   <cache>/versions.env          (copy of test/tools/versions.env)
#   <cache>/.complete             (written last; its presence skips everything)
#
# <cache> = ${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-ts/tools-<hash>,
# <hash>  = first 16 hex digits of the sha256 over "sha256  path" lines (sorted by
#           path) of: test/tools/versions.env, scripts/build-go-tools.sh and every
#           go.mod, go.sum and non-test *.go file under test/tools/, and of the CRDs
#           vendored under test/tools/crdgen/vendored/ (embedded by crdgen).
#
# Needs only Go (>= 1.25) and the Go module proxy. Progress goes to stderr; the
# last (only) line on stdout is the cache directory.
#
# Environment:
#   KVP_TOOLS_CACHE_ROOT  overrides ${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-ts
#   KVP_TOOLS_FORCE=1     rebuild even if <cache>/.complete exists
#   GOFLAGS, GOPROXY, GOMODCACHE, GOCACHE are honoured (GOFLAGS gets -mod=readonly appended).
set -euo pipefail

# Everything is inside main() so that bash has parsed the whole file before running it.
main() {

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$REPO/test/tools

log() { printf 'build-go-tools: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null 2>&1 || die "go not found on PATH"

# shellcheck source=../test/tools/versions.env
. "$TOOLS/versions.env"
for v in K8S_VERSION K8S_STAGING_VERSION K8S_BUILD_DATE ETCD_VERSION VELERO_VERSION \
  KUBEVIRT_VERSION KUBEVIRT_API_VERSION CDI_VERSION EXTERNAL_SNAPSHOTTER_CLIENT_VERSION NAD_CLIENT_VERSION \
  KWOK_VERSION EXTERNAL_SNAPSHOTTER_VERSION CSI_TEST_VERSION; do
  [ -n "${!v:-}" ] || die "$v is not set in test/tools/versions.env"
done

# --- the go.mod files must pin what versions.env says ------------------------
check_pin() { # file regex description ("// indirect" may follow: tool-only requirements)
  grep -Eq "${2%\$}( // indirect)?\$" "$1" || die "$1 does not pin $3 (versions.env); run go mod tidy there after editing"
}
check_pin "$TOOLS/k8s/go.mod" "^[[:space:]]*k8s\.io/kubernetes ${K8S_VERSION//./\\.}\$" "k8s.io/kubernetes $K8S_VERSION"
check_pin "$TOOLS/k8s/go.mod" "^[[:space:]]*go\.etcd\.io/etcd/server/v3 ${ETCD_VERSION//./\\.}\$" "go.etcd.io/etcd/server/v3 $ETCD_VERSION"
if grep -E '^[[:space:]]*k8s\.io/[a-z0-9-]+ => k8s\.io/' "$TOOLS/k8s/go.mod" | grep -vq " ${K8S_STAGING_VERSION}\$"; then
  die "test/tools/k8s/go.mod has a staging replace not at $K8S_STAGING_VERSION"
fi
check_pin "$TOOLS/velero/go.mod" "^[[:space:]]*github\.com/vmware-tanzu/velero ${VELERO_VERSION//./\\.}\$" "github.com/vmware-tanzu/velero $VELERO_VERSION"
check_pin "$TOOLS/crdgen/go.mod" "^[[:space:]]*kubevirt\.io/api ${KUBEVIRT_API_VERSION//./\\.}\$" "kubevirt.io/api $KUBEVIRT_API_VERSION"
check_pin "$TOOLS/kwok/go.mod" "^[[:space:]]*sigs\.k8s\.io/kwok ${KWOK_VERSION//./\\.}\$" "sigs.k8s.io/kwok $KWOK_VERSION"
check_pin "$TOOLS/csi/go.mod" "^[[:space:]]*github\.com/kubernetes-csi/external-snapshotter/v8 ${EXTERNAL_SNAPSHOTTER_VERSION//./\\.}\$" "external-snapshotter/v8 $EXTERNAL_SNAPSHOTTER_VERSION"
check_pin "$TOOLS/csimock/go.mod" "^[[:space:]]*github\.com/kubernetes-csi/csi-test/v3 ${CSI_TEST_VERSION//./\\.}\$" "csi-test/v3 $CSI_TEST_VERSION"

# --- cache directory -----------------------------------------------------------
hash_inputs() {
  (
    cd "$REPO"
    {
      echo test/tools/versions.env
      echo scripts/build-go-tools.sh
      find test/tools -type f \( -name go.mod -o -name go.sum -o \( -name '*.go' ! -name '*_test.go' \) \)
      find test/tools/crdgen/vendored -type f
    } | LC_ALL=C sort -u | while IFS= read -r f; do sha256sum "$f"; done
  ) | sha256sum | cut -c1-16
}
CACHE_ROOT=${KVP_TOOLS_CACHE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/kubevirt-velero-plugin-ts}
CACHE=$CACHE_ROOT/tools-$(hash_inputs)

if [ -f "$CACHE/.complete" ] && [ "${KVP_TOOLS_FORCE:-0}" != 1 ]; then
  log "up to date: $CACHE"
  echo "$CACHE"
  exit 0
fi

mkdir -p "$CACHE_ROOT"
# One builder per cache directory at a time (flock is in util-linux, present on Debian).
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
mkdir -p "$CACHE/bin" "$CACHE/work"
log "building into $CACHE"

export CGO_ENABLED=0
# -mod=readonly (last, so it wins over a -mod in the caller's GOFLAGS): the committed
# go.mod/go.sum files are complete (go mod tidy), so a build never rewrites them.
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

# --- kube-apiserver, kubectl, etcd (module test/tools/k8s) ---------------------
k8s_minor=${K8S_VERSION#v1.}
k8s_minor=${k8s_minor%%.*}
K8S_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  K8S_LDFLAGS+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  K8S_LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$K8S_BUILD_DATE"
done
(
  cd "$TOOLS/k8s"
  timed "build kube-apiserver $K8S_VERSION" "${GOBUILD[@]}" -ldflags "$K8S_LDFLAGS" -o "$CACHE/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  timed "build kubectl $K8S_VERSION" "${GOBUILD[@]}" -ldflags "$K8S_LDFLAGS" -o "$CACHE/bin/kubectl" k8s.io/kubernetes/cmd/kubectl
  timed "build etcd $ETCD_VERSION" "${GOBUILD[@]}" -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION-goproxy" -o "$CACHE/bin/etcd" go.etcd.io/etcd/server/v3
)

# --- velero + filesystem object store (module test/tools/velero) ---------------
VELERO_LDFLAGS="-s -w -X github.com/vmware-tanzu/velero/pkg/buildinfo.Version=$VELERO_VERSION"
VELERO_LDFLAGS+=" -X github.com/vmware-tanzu/velero/pkg/buildinfo.GitTreeState=clean"
VELERO_LDFLAGS+=" -X github.com/vmware-tanzu/velero/pkg/buildinfo.ImageRegistry=velero"
VELERO_LDFLAGS+=" -X github.com/vmware-tanzu/velero/pkg/buildinfo.GitSHA=${VELERO_GIT_SHA:-goproxy-$VELERO_VERSION}"
# velero server's controller-runtime manager would otherwise bind its own metrics
# server on ":8080" (all interfaces, no flag to change it), so two labs could not
# run side by side. "0" disables it; Velero's metrics stay on --metrics-address.
VELERO_LDFLAGS+=" -X sigs.k8s.io/controller-runtime/pkg/metrics/server.DefaultBindAddress=0"
(
  cd "$TOOLS/velero"
  timed "build velero $VELERO_VERSION" "${GOBUILD[@]}" -ldflags "$VELERO_LDFLAGS" -o "$CACHE/bin/velero" github.com/vmware-tanzu/velero/cmd/velero
  timed "build kvp-fsobjectstore" "${GOBUILD[@]}" -ldflags "-s -w" -o "$CACHE/bin/kvp-fsobjectstore" ./fsobjectstore
)

# --- kwok (module test/tools/kwok) ---------------------------------------------
KWOK_LDFLAGS="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
(
  cd "$TOOLS/kwok"
  timed "build kwok $KWOK_VERSION" "${GOBUILD[@]}" -ldflags "$KWOK_LDFLAGS" -o "$CACHE/bin/kwok" sigs.k8s.io/kwok/cmd/kwok
)

# --- CSI snapshots (module test/tools/csi) -------------------------------------
(
  cd "$TOOLS/csi"
  timed "build snapshot-controller, csi-snapshotter $EXTERNAL_SNAPSHOTTER_VERSION" \
    "${GOBUILD[@]}" -ldflags "-s -w -X main.version=$EXTERNAL_SNAPSHOTTER_VERSION" -o "$CACHE/bin/" \
    github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller \
    github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter
)
# The mock CSI driver: its own module (csi-test v3 needs CSI spec v1.2 and gRPC 1.25).
(
  cd "$TOOLS/csimock"
  timed "build csi-test mock-driver $CSI_TEST_VERSION" "${GOBUILD[@]}" -ldflags "-s -w" -o "$CACHE/bin/mock-driver" \
    github.com/kubernetes-csi/csi-test/v3/cmd/mock-driver
)

# --- CRDs (module test/tools/crdgen) -------------------------------------------
moddir() { # module@version -> extracted directory in GOMODCACHE
  local out dir
  out=$(cd "$CACHE/work" && GO111MODULE=on go mod download -json "$1") || die "go mod download $1 failed: $out"
  dir=$(printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || die "no directory for $1: $out"
  printf '%s\n' "$dir"
}
log "download CRD source modules ..."
VELERO_DIR=$(moddir "github.com/vmware-tanzu/velero@$VELERO_VERSION")
KUBEVIRT_DIR=$(moddir "kubevirt.io/kubevirt@$KUBEVIRT_VERSION")
CDI_DIR=$(moddir "kubevirt.io/containerized-data-importer@$CDI_VERSION")
SNAP_DIR=$(moddir "github.com/kubernetes-csi/external-snapshotter/client/v8@$EXTERNAL_SNAPSHOTTER_CLIENT_VERSION")
NAD_DIR=$(moddir "github.com/k8snetworkplumbingwg/network-attachment-definition-client@$NAD_CLIENT_VERSION")

KV_COMP=$KUBEVIRT_DIR/pkg/virt-operator/resource/generate/components
CDI_RES=$CDI_DIR/pkg/operator/resources
for f in "$KV_COMP/crds.go" "$KV_COMP/validations_generated.go" "$CDI_RES/crds_generated.go"; do
  [ -f "$f" ] || die "missing $f"
done
OVL=$CACHE/work/overlay
mkdir -p "$OVL"
# crds.go imports kubevirt.io/kubevirt/pkg/pointer (not buildable from here without
# kubevirt's whole replace block); point it at our copy of that 3-line package.
sed 's#"kubevirt.io/kubevirt/pkg/pointer"#"kubevirt-velero-plugin-ts/test/tools/crdgen/internal/pointer"#' \
  "$KV_COMP/crds.go" >"$OVL/crds.go"
grep -q 'kubevirt.io/kubevirt/' "$OVL/crds.go" && die "crds.go of $KUBEVIRT_VERSION imports more of kubevirt.io/kubevirt; extend the overlay"
cat >"$CACHE/work/overlay.json" <<EOF
{"Replace": {
  "$TOOLS/crdgen/internal/kubevirt/crds.go": "$OVL/crds.go",
  "$TOOLS/crdgen/internal/kubevirt/validations_generated.go": "$KV_COMP/validations_generated.go",
  "$TOOLS/crdgen/internal/cdi/crds_generated.go": "$CDI_RES/crds_generated.go"
}}
EOF
(
  cd "$TOOLS/crdgen"
  timed "build crdgen" "${GOBUILD[@]}" -tags kvpoverlay -overlay "$CACHE/work/overlay.json" -o "$CACHE/work/crdgen" .
)
timed "generate CRDs" "$CACHE/work/crdgen" -out "$CACHE/crds" \
  -velero-dir "$VELERO_DIR" -snapshotter-dir "$SNAP_DIR" -nad-dir "$NAD_DIR"

# kwok's CRDs (Stage, Exec, ClusterExec, ...) and default Stages, verbatim from its module.
KWOK_DIR=$(moddir "sigs.k8s.io/kwok@$KWOK_VERSION")
for f in "$KWOK_DIR"/kustomize/crd/bases/kwok.x-k8s.io_*.yaml; do
  plural=${f##*/kwok.x-k8s.io_}
  cp "$f" "$CACHE/crds/${plural%.yaml}.kwok.x-k8s.io.yaml"
done
mkdir -p "$CACHE/kwok/stages"
for f in node/fast/node-initialize.yaml pod/general/pod-create.yaml pod/general/pod-init-container-running.yaml \
  pod/general/pod-init-container-completed.yaml pod/general/pod-ready.yaml pod/general/pod-complete.yaml \
  pod/general/pod-delete.yaml; do
  [ -f "$KWOK_DIR/kustomize/stage/$f" ] || die "kwok $KWOK_VERSION has no stage $f"
  cp "$KWOK_DIR/kustomize/stage/$f" "$CACHE/kwok/stages/"
done
chmod -R u+w "$CACHE/crds" "$CACHE/kwok"

cp "$TOOLS/versions.env" "$CACHE/versions.env"
{
  for b in "$CACHE"/bin/*; do printf '%s %s\n' "$(du -h "$b" | cut -f1)" "${b##*/}"; done
  printf '%s CRDs\n' "$(find "$CACHE/crds" -name '*.yaml' | wc -l)"
} | sed 's/^/build-go-tools:   /' >&2
log "total $((SECONDS - T0))s"
date -u +%Y-%m-%dT%H:%M:%SZ >"$CACHE/.complete"
echo "$CACHE"
}

main "$@"
exit
