#!/usr/bin/env bash
# The README's test command: system packages, dependencies, then lint + typecheck + build + every
# vitest suite, then the install test in a throwaway Debian root (npm run test:install; needs
# root — skipped with a note otherwise). Ends with a plain "N passed, N failed" line for both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p .test-tmp
rm -f .test-tmp/vitest.json .test-tmp/install.json
status=0
VITEST_JSON=.test-tmp/vitest.json npm test || status=$?
if [ "$(id -u)" -eq 0 ]; then
  npm run --silent test:install || status=1
else
  echo "test:install skipped: it needs root (debootstrap, chroot)"
fi
node -e '
const fs = require("fs");
const read = (f) => (fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8")) : undefined);
const v = read(".test-tmp/vitest.json");
const i = read(".test-tmp/install.json");
let passed = 0, failed = 0, skipped = 0;
if (v) { passed += v.numPassedTests; failed += v.numFailedTests + (v.numRuntimeErrors ?? 0); skipped += v.numPendingTests + v.numTodoTests; }
else { failed += 1; console.log("(the suites did not run: see lint/typecheck/build output above)"); }
if (i) { passed += i.passed; failed += i.failed; }
else if (process.getuid && process.getuid() === 0) { failed += 1; console.log("(the install test did not finish: see its output above)"); }
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
'
exit $status
