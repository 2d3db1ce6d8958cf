#!/usr/bin/env bash
# Benchmark (not a test): the cluster-access layer under the backup actions against a lab of its own
# (real kube-apiserver + etcd; the velero server only with --velero). Creates N running VMs (default
# 1,000) in one namespace, runs the backup action cores in-process as one plugin process would, and
# prints API requests by verb and resource, bytes read, requests per VM, LISTs per (namespace, resource),
# the wall time of the action phase and RSS. Exit status 1 when a target is missed.
#   bash scripts/bench-graph.sh [--vms N] [--velero] [--preflight] [--profile] [--keep]
# --preflight also runs `dist/kubevirt-velero-plugin preflight backup` over the namespace (needs the build).
# See test/lab/bench/graph-bench.ts. Lab process logs: build/bench/logs/.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
# npm ci and the plugin build only when missing: the in-process run needs no plugin binary, and
# rebuilding dist/ under other users of the checkout is not this script's business.
if [ ! -x node_modules/.bin/node ] || { [[ " $* " == *" --velero "* || " $* " == *" --preflight "* ]] && [ ! -x dist/kubevirt-velero-plugin ]; }; then
  bash scripts/setup.sh
fi
export PATH="$REPO/node_modules/.bin:$PATH"
KVP_TOOLS_DIR=$(bash scripts/build-go-tools.sh | tail -1)
export KVP_TOOLS_DIR
mkdir -p build/bench
esbuild test/lab/bench/graph-bench.ts --bundle --platform=node --packages=external \
  --outfile=build/bench/graph-bench.cjs --log-level=warning
exec node_modules/.bin/node build/bench/graph-bench.cjs "$@"
