#!/usr/bin/env bash
# Installs what pkb-hub needs on a fresh Debian / Raspberry Pi OS machine (run as root), then the
# npm dependencies, then builds. Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in socat:socat mosquitto:mosquitto udevadm:udev openssl:openssl make:make g++:g++ python3:python3; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
if ! command -v node >/dev/null 2>&1; then need+=(nodejs npm); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install: ${need[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

node -e 'const [maj]=process.versions.node.split(".").map(Number); if (maj < 20) { console.error("setup: Node >= 20 needed, found " + process.version); process.exit(1) }'

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run build --silent
