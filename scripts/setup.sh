#!/usr/bin/env bash
# Installs what pkb-hub needs on a fresh Debian / Raspberry Pi OS machine (run as root), then the
# npm dependencies, then builds. Idempotent and quick on a re-run: apt runs only for a package that
# is missing, `npm ci` only when package-lock.json (or the Node.js version, which native modules
# are built for) changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

# command:package — a package counts as present when dpkg says so or its command is on PATH.
need=()
for pair in socat:socat mosquitto:mosquitto udevadm:udev openssl:openssl make:make g++:g++ python3:python3; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  if command -v "$cmd" >/dev/null 2>&1; then continue; fi
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then continue; fi
  need+=("$pkg")
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

# The stamp lives inside node_modules: deleting node_modules forces a fresh install, as it should.
stamp=node_modules/.pkb-hub-install-stamp
want="$(node -p 'process.version + " " + process.arch')"
if [ -f package-lock.json ]; then want="$want $(sha256sum package-lock.json | cut -d' ' -f1)"; fi
if [ -d node_modules ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  : # dependencies already installed from this very lockfile
else
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  printf '%s\n' "$want" >"$stamp"
fi
npm run build --silent
