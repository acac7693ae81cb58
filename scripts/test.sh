#!/usr/bin/env bash
# The README's test command: system packages, dependencies, then lint + typecheck + build + every
# vitest suite. Ends with a plain "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p .test-tmp
rm -f .test-tmp/vitest.json
status=0
VITEST_JSON=.test-tmp/vitest.json npm test || status=$?
node -e '
const fs = require("fs");
const file = ".test-tmp/vitest.json";
if (!fs.existsSync(file)) { console.log("tests: 0 passed, 1 failed (the suites did not run: see lint/typecheck/build output above)"); process.exit(0); }
const r = JSON.parse(fs.readFileSync(file, "utf8"));
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests + (r.numRuntimeErrors ?? 0)} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
'
exit $status
