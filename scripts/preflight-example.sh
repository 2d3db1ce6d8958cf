#!/usr/bin/env bash
# Records the README's preflight example (test/lab/preflight-example.ts) into build/pf-example.txt:
# a lab of its own, sample VMs, `preflight backup`, a real backup, `preflight restore` of its tarball.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
[ -x dist/kubevirt-velero-plugin ] || bash scripts/setup.sh
export PATH="$REPO/node_modules/.bin:$PATH"
KVP_TOOLS_DIR=$(bash scripts/build-go-tools.sh | tail -1)
export KVP_TOOLS_DIR
mkdir -p build
esbuild test/lab/preflight-example.ts --bundle --platform=node --packages=external --outfile=build/preflight-example.cjs --log-level=warning
node_modules/.bin/node build/preflight-example.cjs
cat build/pf-example.txt
