#!/usr/bin/env bash
# The README's test command: system packages, dependencies, then lint + typecheck + all test suites.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm test
