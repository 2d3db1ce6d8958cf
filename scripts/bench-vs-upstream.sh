#!/usr/bin/env bash
# Benchmark (not a test): this plugin side by side with upstream's Go kubevirt-velero-plugin, both driven by
# Velero's own plugin client against one real kube-apiserver (test/conformance/cmd/bench-vs-upstream).
# Prints the table of issue 12 (peak RSS of backup and restore passes, exec → handshake, first Execute in a
# new process, first call that needs the cluster, exit after Shutdown, restore action phase, LISTs per
# (namespace, resource), additional items) with TS/Go ratios.
#
#   bash scripts/bench-vs-upstream.sh <upstream source dir> [bench flags]
#     bench flags: -sizes 10,100,1000  -reps 1  -starts 20  -cold 5  -save FILE.json  -reuse-go FILE.json
#                  -label TEXT
#   KVP_TS_PLUGIN=<binary> benchmarks another build of this plugin (default dist/kubevirt-velero-plugin,
#   built when missing).
#
# The upstream source is not fetched here: the module is not served by the Go module proxy, and nothing of
# upstream is committed to this repository. The Go binary is built with `go build -mod=vendor` into the
# lab's tools cache (<tools>/upstream/kubevirt-velero-plugin-<source hash>), once per source tree.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC=${1:-}
if [ -z "$SRC" ] || [ ! -f "$SRC/go.mod" ] || ! grep -q '^module kubevirt.io/kubevirt-velero-plugin' "$SRC/go.mod"; then
  cat >&2 <<'USAGE'
bench-vs-upstream: give the source of upstream kubevirt-velero-plugin (tag v0.9.0) as the first argument.

  1. Get the repository: the search tool's fetch verb, source github:kubevirt/kubevirt-velero-plugin,
     answers with a bare git directory (/work/.mirror/kubevirt+kubevirt-velero-plugin/repo), or
     git clone https://github.com/kubevirt/kubevirt-velero-plugin where GitHub is reachable.
  2. Check out v0.9.0 into a directory of its own (it has a vendor/ tree; nothing else is downloaded):
       mkdir -p /tmp/kvp-upstream && git --git-dir=<that git dir> archive v0.9.0 | tar -x -C /tmp/kvp-upstream
  3. bash scripts/bench-vs-upstream.sh /tmp/kvp-upstream [-sizes 10,100,1000] [-save before.json]

A 1,000-VM backup pass of the Go plugin takes 8 to 15 minutes on 2 cores (it lists every pod of the
namespace three times per VM); -reuse-go FILE takes its figures from an earlier -save FILE instead.
USAGE
  exit 2
fi
shift
SRC=$(cd "$SRC" && pwd)
export KVP_BENCH_CALLER_DIR=$PWD
cd "$REPO"
export PATH="$REPO/node_modules/.bin:$PATH"
TOOLS=$(bash scripts/build-go-tools.sh | tail -1)

# The Go plugin, once per source tree (hash of every file's content, vendor/ included).
HASH=$(cd "$SRC" && find . -type f -not -path './.git/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
GO_BIN="$TOOLS/upstream/kubevirt-velero-plugin-$HASH"
if [ ! -x "$GO_BIN" ]; then
  mkdir -p "$TOOLS/upstream"
  echo "bench-vs-upstream: go build -mod=vendor in $SRC -> $GO_BIN" >&2
  # CGO_ENABLED=0 as upstream's Makefile builds its release binary.
  (cd "$SRC" && GOFLAGS= CGO_ENABLED=0 go build -mod=vendor -o "$GO_BIN.tmp" .)
  mv "$GO_BIN.tmp" "$GO_BIN"
fi

TS_BIN=${KVP_TS_PLUGIN:-$REPO/dist/kubevirt-velero-plugin}
if [ ! -x "$TS_BIN" ]; then
  [ -x node_modules/.bin/node ] || bash scripts/setup.sh
  node_modules/.bin/node scripts/build.mjs
fi

cd "$REPO/test/conformance"
exec go run ./cmd/bench-vs-upstream -tools "$TOOLS" -ts "$TS_BIN" -go "$GO_BIN" "$@"
