#!/usr/bin/env bash
# What the MQTT monitor adds to an idle agent's memory: `pkb-hub run` (one HL7 patient, no devices,
# clock assume-synced) without and with monitor.mqtt (a local mosquitto on a free port, connected),
# RUNS times each, alternating; VmRSS read SETTLE_SEC after "agent started", then SIGTERM.
# Needs `npm run build` and mosquitto. Usage: scripts/measure/monitor-rss.sh [RUNS] [SETTLE_SEC]
# Last line: MONITOR_RSS runs=N without_median_kib=… with_median_kib=… delta_kib=…
set -euo pipefail
RUNS=${1:-5}
SETTLE=${2:-15}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLI="$ROOT/dist/src/cli/main.js"
TMP=$(mktemp -d /tmp/pkb-rss-XXXXXX)
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cleanup() { [[ -n "${BROKER:-}" ]] && kill "$BROKER" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$PORT" >"$TMP/mosquitto.conf"
mosquitto -c "$TMP/mosquitto.conf" >"$TMP/mosquitto.log" 2>&1 &
BROKER=$!
printf 'partner-password\n' >"$TMP/hl7-password" && chmod 600 "$TMP/hl7-password"

config() { # $1 name, $2 with monitor (yes/no)
  cat <<YAML
hub: { id: rss-hub, timeZone: UTC, dataDir: $TMP/$1 }
clock: { mode: assume-synced }
patients:
  - { key: p1, route: hl7, nhsNumber: "9434765919", firstName: Ann, lastName: Example, dob: "1950-01-31", sex: F }
routes:
  hl7: { url: "http://127.0.0.1:9/hl7", username: partner, passwordFile: $TMP/hl7-password, sendingFacility: DEMOALIAS }
YAML
  [[ $2 == yes ]] && printf 'monitor:\n  mqtt: { url: "mqtt://127.0.0.1:%s" }\n' "$PORT"
  return 0
}

rss_of() { # $1 name, $2 monitor → prints VmRSS in kB
  config "$1" "$2" >"$TMP/$1.yaml"
  node "$CLI" run --config "$TMP/$1.yaml" >"$TMP/$1.log" 2>&1 &
  local pid=$! i
  for i in $(seq 1 600); do grep -q '"agent started"' "$TMP/$1.log" && break; sleep 0.1; done
  grep -q '"agent started"' "$TMP/$1.log" || { echo "agent $1 did not start" >&2; cat "$TMP/$1.log" >&2; exit 1; }
  if [[ $2 == yes ]]; then
    for i in $(seq 1 100); do grep -q 'monitoring connected' "$TMP/$1.log" && break; sleep 0.1; done
    grep -q 'monitoring connected' "$TMP/$1.log" || { echo "monitor $1 never connected" >&2; exit 1; }
  fi
  sleep "$SETTLE"
  awk '/^VmRSS/ {print $2}' "/proc/$pid/status"
  kill -TERM "$pid"
  wait "$pid" || true
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

: >"$TMP/without"
: >"$TMP/with"
for r in $(seq 1 "$RUNS"); do
  a=$(rss_of "nomon-$r" no)
  b=$(rss_of "mon-$r" yes)
  echo "run $r without_kib=$a with_kib=$b"
  echo "$a" >>"$TMP/without"
  echo "$b" >>"$TMP/with"
done
w=$(median <"$TMP/without")
m=$(median <"$TMP/with")
echo "MONITOR_RSS runs=$RUNS without_median_kib=$w with_median_kib=$m delta_kib=$((m - w))"
