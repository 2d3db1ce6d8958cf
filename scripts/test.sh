#!/usr/bin/env bash
# The one test command (npm test): setup, then unit tests (jest), the Velero-client conformance suite
# (Go, Velero's own plugin client driving the single executable), and the lab suites (real
# kube-apiserver, etcd and velero server). Ends with a "N passed, N failed" line. Every suite has a time
# limit and jest exits when its run is over (--forceExit), so a leaked handle or a hang fails CI instead of
# stalling it.
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
mkdir -p build
started=$(date +%s)

bash scripts/setup.sh || { echo "setup failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
export PATH="$REPO/node_modules/.bin:$PATH"
TOOLS=$(bash scripts/build-go-tools.sh | tail -1) || { echo "building the Go test tools failed"; echo "tests: 0 passed, 1 failed"; exit 1; }
export KVP_TOOLS_DIR="$TOOLS"

passed=0
failed=0
status=0

count_jest() { # build/jest-*.json
  local p f
  local counts
  counts=$(node -e 'const r=require(require("node:path").resolve(process.argv[1]));console.log(r.numPassedTests, r.numFailedTests + r.numRuntimeErrorTestSuites)' "$1" 2>/dev/null || echo "0 1")
  p=${counts% *}; f=${counts#* }
  passed=$((passed + p)); failed=$((failed + f))
}

echo "== typecheck"
if ! { node scripts/gen-proto.mjs && tsc -p .; }; then failed=$((failed + 1)); status=1; fi

echo "== unit tests (jest)"
NODE_OPTIONS=--experimental-vm-modules timeout -k 30 900 jest --ci --forceExit --json --outputFile=build/jest-unit.json || status=1
count_jest build/jest-unit.json

echo "== packaging (the single executable in a glibc-only root filesystem)"
NODE_OPTIONS=--experimental-vm-modules timeout -k 30 900 jest -c test/packaging/jest.config.js --ci --forceExit --json --outputFile=build/jest-packaging.json || status=1
count_jest build/jest-packaging.json

echo "== conformance (Velero v1.18 plugin client, Go)"
( cd test/conformance && KVP_PLUGIN_BINARY="$REPO/dist/kubevirt-velero-plugin" go test -count=1 -timeout 15m -v ./... ) > build/conformance.log 2>&1
rc=$?
grep -E '^(=== RUN|\s*--- (PASS|FAIL)|ok|FAIL|PASS)' build/conformance.log
cp=$(grep -cE '^\s*--- PASS' build/conformance.log); cf=$(grep -cE '^\s*--- FAIL' build/conformance.log)
passed=$((passed + cp)); failed=$((failed + cf))
if [ $rc -ne 0 ]; then status=1; [ "$cf" -eq 0 ] && failed=$((failed + 1)); tail -40 build/conformance.log; fi

echo "== fuzz and process lifecycle (the single executable over gRPC: generated items, parent death, Shutdown)"
rm -f build/fuzz-figures.json
NODE_OPTIONS=--experimental-vm-modules timeout -k 30 900 jest -c test/fuzz/jest.config.js --ci --forceExit --runInBand --json --outputFile=build/jest-fuzz.json || status=1
count_jest build/jest-fuzz.json
[ -f build/fuzz-figures.json ] && node -e 'const f=require(require("node:path").resolve("build/fuzz-figures.json"));console.log(`fuzz: ${f.items} items in ${f.seconds} s (seed ${f.seed}), ${f.failures} item errors, ${f.unclear} unclear, ${f.unnamed} unnamed`)'

if [ -d test/lab ] && [ "${KVP_SKIP_LAB:-0}" != "1" ]; then
  echo "== lab (real kube-apiserver, etcd, velero server)"
  NODE_OPTIONS=--experimental-vm-modules timeout -k 30 3600 jest -c test/lab/jest.config.js --ci --forceExit --runInBand --json --outputFile=build/jest-lab.json || status=1
  count_jest build/jest-lab.json
fi

echo "== done in $(( $(date +%s) - started ))s"
echo "tests: $passed passed, $failed failed"
[ $failed -eq 0 ] || status=1
exit $status
