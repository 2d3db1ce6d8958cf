#!/usr/bin/env bash
# npm start: the demo. Sets up a fresh clone (npm ci, plugin build, Go test tools), then runs
# test/lab/demo.ts: local lab up, namespace "demo" with three VMs, velero backup and restore with the
# real velero CLI, and a readable summary on stdout. Every lab process is stopped at the end, on
# failure and on Ctrl-C. Logs: build/demo/logs/.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

bash scripts/setup.sh
export PATH="$REPO/node_modules/.bin:$PATH"
KVP_TOOLS_DIR=$(bash scripts/build-go-tools.sh | tail -1)
export KVP_TOOLS_DIR
# csi-provisioner and kube-controller-manager (restored claims provisioned from their snapshots):
# their own cache key, see docs/decisions/021-lab-provisioning.md.
KVP_PV_TOOLS_DIR=$(bash scripts/build-go-tools-pv.sh | tail -1)
export KVP_PV_TOOLS_DIR
mkdir -p build/demo
esbuild test/lab/demo.ts --bundle --platform=node --packages=external \
  --outfile=build/demo/demo.cjs --log-level=warning
exec node build/demo/demo.cjs
