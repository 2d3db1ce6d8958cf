#!/usr/bin/env bash
# Benchmark (not a test): start-up, AppliesTo/Execute latency and RSS of the plugin binary, measured
# through Velero's own plugin client; plus exec → handshake line timing of the bare binary.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$REPO/scripts/setup.sh"
BIN=${1:-$REPO/dist/kubevirt-velero-plugin}
"$REPO/node_modules/.bin/node" "$REPO/scripts/bench-startup.mjs" "$BIN"
cd "$REPO/test/conformance" && go run ./cmd/bench -plugin "$BIN"
