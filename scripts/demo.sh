#!/usr/bin/env bash
# The README's demo command: installs what is needed (system packages, npm dependencies, build),
# then runs the demo. Extra arguments go to the demo, e.g. --route hl7 --readings 50.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/scripts/demo/main.js "$@"
