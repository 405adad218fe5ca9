#!/usr/bin/env bash
# The full test suite: type check, every Deno test (runtime, kernels vs float64 references, io, ...), then the
# same kernel table in Chromium (SwiftShader WebGPU) through Playwright, and a tiny model forward in Chromium
# against the same forward in Deno. Ends with one line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
export NO_COLOR=1
deno=node_modules/.bin/deno
[ -x "$deno" ] || { echo "test: $deno missing — run scripts/setup.sh first" >&2; exit 1; }

passed=0; failed=0
# add the counts of the last line matching $2 in log $1 (N passed ... M failed); a missing line is one failure
count() {
  local line p f
  line=$(grep -E "$2" "$1" | tail -n 1)
  if [ -z "$line" ]; then echo "$3: no summary line (crashed?)"; failed=$((failed + 1)); return; fi
  p=$(echo "$line" | sed -E 's/.*[|:] ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.*[|,] ([0-9]+) failed.*/\1/')
  passed=$((passed + p)); failed=$((failed + f))
}
mkdir -p out
echo "== type check =="
if $deno check src harness test; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "type check FAILED"; fi

echo "== deno tests =="
$deno test -A --no-check test/ 2>&1 | tee out/deno-test.log
count out/deno-test.log '^(ok|FAILED) \| [0-9]+ passed' 'deno tests'

echo "== chromium (SwiftShader) kernel tests =="
node test/browser/kernels.browser.mjs 2>&1 | tee out/browser-test.log
count out/browser-test.log '^browser kernels: [0-9]+ passed, [0-9]+ failed' 'browser kernels'

echo "== chromium (SwiftShader) model forward vs Deno (llvmpipe) =="
node test/browser/model.browser.mjs 2>&1 | tee out/browser-model.log
count out/browser-model.log '^browser model: [0-9]+ passed, [0-9]+ failed' 'browser model'
echo "== chromium (SwiftShader) KV cache explorer =="; node test/browser/explorer.browser.mjs 2>&1 | tee out/browser-explorer.log; count out/browser-explorer.log '^browser explorer: [0-9]+ passed, [0-9]+ failed' 'browser explorer'

echo "== chromium (SwiftShader) forward profile =="; node test/browser/profile.browser.mjs 2>&1 | tee out/browser-profile.log; count out/browser-profile.log '^browser profile: [0-9]+ passed, [0-9]+ failed' 'browser profile'

echo "== chromium (SwiftShader) probe task in the tab vs the CLI =="; node test/browser/probe.browser.mjs 2>&1 | tee out/browser-probe.log; count out/browser-probe.log '^browser probe: [0-9]+ passed, [0-9]+ failed' 'browser probe'

echo "== chromium (SwiftShader) bench kernels --browser both =="; node test/browser/bench.browser.mjs 2>&1 | tee out/browser-bench.log; count out/browser-bench.log '^browser bench: [0-9]+ passed, [0-9]+ failed' 'browser bench'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
