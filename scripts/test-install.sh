#!/usr/bin/env bash
# npm run test:install — scripts/install.sh for real, as root, in a throwaway Debian root
# (debootstrap + chroot; no systemd as PID 1): a fresh install (user, groups, directories, owners,
# modes, unit, udev rules, pkb-hub on PATH, the agent running as the service user), an upgrade that
# keeps the buffer and secrets, a re-run of the same version, a release that does not run (refused
# before anything switches), an unhealthy one (rolled back), the serial-only drop-in, pruning.
#
# The Debian root (trixie: Node.js 20 from Debian) and the release's node_modules are cached in
# $PKB_HUB_TEST_CACHE (default /var/cache/pkb-hub-test), so a re-run downloads nothing.
# Ends with "install: N passed, N failed"; writes the counts to .test-tmp/install.json.
set -euo pipefail
cd "$(dirname "$0")/.."
project=$(pwd)
[ "$(id -u)" -eq 0 ] || { echo "test:install: run as root (debootstrap, chroot)" >&2; exit 1; }

cache=${PKB_HUB_TEST_CACHE:-/var/cache/pkb-hub-test}
suite=trixie
mirror=${PKB_HUB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
arch=$(dpkg --print-architecture)
base=$cache/debian-$suite-$arch
mkdir -p "$cache" .test-tmp

if ! command -v debootstrap >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
if [ ! -f "$base/.pkb-hub-complete" ]; then
  echo "test:install: debootstrap $suite ($arch) into $base (once; cached)"
  rm -rf "$base.partial"
  debootstrap --variant=minbase --include=nodejs "$suite" "$base.partial" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  rm -rf "$base"
  mv "$base.partial" "$base"
  touch "$base/.pkb-hub-complete"
fi

# --- releases: the real one, and variants made from it ----------------------------------------
rel=$project/.test-tmp/install-releases
rm -rf "$rel"
mkdir -p "$rel"
bundle=$(bash scripts/release.sh --bundle --modules-cache "$cache" "$rel" | tail -n 1)
version=$(node -p 'require("./package.json").version')

# variant NAME VERSION [patch]: the bundle with another version; patch "norun" makes the agent
# exit 1 at once, "unhealthy" makes only `config check` fail (so it passes the pre-switch check).
variant() {
  local v=$2 patch=${3:-} d
  d=$(mktemp -d)
  tar -xzf "$bundle" -C "$d"
  node -e 'const f=process.argv[1];const p=JSON.parse(require("fs").readFileSync(f));p.version=process.argv[2];require("fs").writeFileSync(f,JSON.stringify(p,null,2))' \
    "$d/package/package.json" "$v"
  local main=$d/package/dist/src/cli/main.js
  case "$patch" in
    norun) printf '#!/usr/bin/env node\nprocess.exit(1);\n' >"$main" ;;
    unhealthy)
      { head -n 1 "$main"
        echo 'if (process.argv[2] === "config") { console.error("broken on purpose"); process.exit(1); }'
        tail -n +2 "$main"; } >"$main.new"
      mv "$main.new" "$main" ;;
  esac
  tar -czf "$rel/$1.tgz" -C "$d" package
  rm -rf "$d"
  echo "$rel/$1.tgz"
}
v1=$bundle
v2=$(variant v2 "$version-upgrade.1")
v3=$(variant v3 "$version-norun.1" norun)
v4=$(variant v4 "$version-unhealthy.1" unhealthy)
v5=$(variant v5 "$version-upgrade.2")
v6=$(variant v6 "$version-upgrade.3")

# --- the throwaway root ------------------------------------------------------------------------
work=$(mktemp -d /var/tmp/pkb-hub-install-test.XXXXXX)
root=$work/root
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
if mkdir -p "$work/upper" "$work/work" "$root" &&
  mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/upper,workdir=$work/work" "$root" 2>/dev/null; then
  mounted+=("$root")
else
  cp -a "$base/." "$root/"
fi
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
mkdir -p "$root/tmp/rel"
cp "$rel"/*.tgz "$root/tmp/rel/"
cp scripts/install.sh "$root/tmp/install.sh"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
install_rel() { in_root bash /tmp/install.sh "$@" >"$work/out" 2>&1; }

passed=0
failed=0
check() { # check NAME COMMAND...: one result line, like TAP
  local name=$1
  shift
  if "$@" >"$work/check" 2>&1; then
    passed=$((passed + 1))
    echo "ok - $name"
  else
    failed=$((failed + 1))
    echo "not ok - $name"
    sed 's/^/    /' "$work/check" "$work/out" 2>/dev/null | tail -25
  fi
}
stat_is() { # stat_is PATH "owner:group mode"
  local got
  got=$(in_root stat -c '%U:%G %a' "$1")
  [ "$got" = "$2" ] || { echo "$1: $got, expected $2"; return 1; }
}
current_is() { local got; got=$(in_root readlink /opt/pkb-hub/current); [ "$got" = "$1" ] || { echo "current -> $got, expected $1"; return 1; }; }
says() { grep -qF -- "$1" "$work/out" || { echo "output lacks: $1"; return 1; }; }
fails() { ! "$@"; }
hash_state() { in_root sh -c 'cd / && sha256sum /etc/pkb-hub/config.yaml /etc/pkb-hub/client-secret /var/lib/pkb-hub/buffer.db /var/lib/pkb-hub/secret.key 2>/dev/null || true'; }

# 1. fresh install
check "fresh install of $version succeeds" install_rel /tmp/rel/"$(basename "$v1")"
user_ok() {
  local line uid groups
  line=$(in_root getent passwd pkb-hub) || return 1
  uid=$(echo "$line" | cut -d: -f3)
  [ "$uid" -lt 1000 ] || { echo "uid $uid is not a system uid"; return 1; }
  echo "$line" | grep -q ':/var/lib/pkb-hub:/usr/sbin/nologin$' || { echo "$line"; return 1; }
  groups=$(in_root id -nG pkb-hub)
  for g in pkb-hub dialout bluetooth; do echo " $groups " | grep -q " $g " || { echo "groups: $groups"; return 1; }; done
}
check "system user pkb-hub: system uid, no login shell, groups pkb-hub dialout bluetooth" user_ok
check "/opt/pkb-hub/$version is root's, read-only to others" stat_is "/opt/pkb-hub/$version" "root:root 755"
check "current points at $version" current_is "$version"
check "/etc/pkb-hub root:pkb-hub 0750" stat_is /etc/pkb-hub "root:pkb-hub 750"
check "/var/lib/pkb-hub pkb-hub:pkb-hub 0700" stat_is /var/lib/pkb-hub "pkb-hub:pkb-hub 700"
check "unit installed root 0644" stat_is /etc/systemd/system/pkb-hub.service "root:root 644"
check "unit runs the current release" sh -c "grep -qx 'ExecStart=/usr/bin/node /opt/pkb-hub/current/dist/src/cli/main.js run --config /etc/pkb-hub/config.yaml' '$root/etc/systemd/system/pkb-hub.service'"
check "unit is the release's own" cmp "$root/etc/systemd/system/pkb-hub.service" systemd/pkb-hub.service
check "udev rules installed root 0644" stat_is /etc/udev/rules.d/99-pkb-hub.rules "root:root 644"
check "no serial-only drop-in by default" test ! -e "$root/etc/systemd/system/pkb-hub.service.d/serial-only.conf"
version_is() { local got; got=$(in_root "$@" 2>&1); [ "$got" = "pkb-hub $version_expected" ] || { echo "got '$got'"; return 1; }; }
version_expected=$version
check "pkb-hub --version on PATH" version_is pkb-hub --version
check "pkb-hub --version as the service user" version_is runuser -u pkb-hub -- pkb-hub --version
check "release files cannot be changed by the service user" fails in_root runuser -u pkb-hub -- touch "/opt/pkb-hub/$version/package.json"

# 2. the agent runs as the service user in its directories (config, secret, buffer)
cat >"$root/etc/pkb-hub/config.yaml" <<'YAML'
hub: { id: install-test, dataDir: /var/lib/pkb-hub, timeZone: Europe/London }
clock: { mode: assume-synced }
log: { level: warn }
patients: [{ key: p1, route: pkb-rest }]
routes: { pkbRest: { baseUrl: "http://127.0.0.1:9", clientId: hub, clientSecretFile: /etc/pkb-hub/client-secret } }
YAML
printf 'secret\n' >"$root/etc/pkb-hub/client-secret"
in_root chown root:pkb-hub /etc/pkb-hub/config.yaml /etc/pkb-hub/client-secret
in_root chmod 0640 /etc/pkb-hub/config.yaml /etc/pkb-hub/client-secret
run_agent() { # starts the agent as pkb-hub for a few seconds, stops it with SIGTERM
  in_root timeout -s TERM 8 runuser -u pkb-hub -- pkb-hub run --config /etc/pkb-hub/config.yaml >"$work/out" 2>&1
  local rc=$?
  [ "$rc" -eq 124 ] || { echo "agent ended with $rc before SIGTERM"; return 1; }
  grep -q "running (data in /var/lib/pkb-hub)" "$work/out"
}
check "the agent runs as pkb-hub with the installed config and stops on SIGTERM" run_agent
check "buffer created by the service user, 0600" stat_is /var/lib/pkb-hub/buffer.db "pkb-hub:pkb-hub 600"
check "config check passes as the service user" in_root runuser -u pkb-hub -- pkb-hub config check /etc/pkb-hub/config.yaml
before=$(hash_state)

# 3. upgrade in place
version_expected=$version-upgrade.1
check "upgrade to $version_expected succeeds" install_rel /tmp/rel/v2.tgz
check "current points at $version_expected" current_is "$version_expected"
check "previous release kept for a rollback" test -d "$root/opt/pkb-hub/$version"
check "upgrade keeps the buffer, the config and the secrets byte for byte" test "$before" = "$(hash_state)"
check "pkb-hub --version after the upgrade" version_is pkb-hub --version
check "re-running the same release is harmless" install_rel /tmp/rel/v2.tgz
check "…and leaves current where it was" current_is "$version_expected"
check "…and the buffer and secrets untouched" test "$before" = "$(hash_state)"

# 4. a release that does not run here is refused before anything switches
check "a release that does not run is refused" fails install_rel /tmp/rel/v3.tgz
check "…saying nothing was changed" says "does not run on this machine; nothing was changed"
check "…current unchanged" current_is "$version-upgrade.1"
check "…its folder not left behind" test ! -e "$root/opt/pkb-hub/$version-norun.1"

# 5. a release that runs but is not healthy is rolled back
check "an unhealthy release fails the install" fails install_rel /tmp/rel/v4.tgz
check "…rolled back to the previous release" says "upgrade to $version-unhealthy.1 failed; $version-upgrade.1 is running again"
check "…current points at the previous release again" current_is "$version-upgrade.1"
check "…the unhealthy release is removed" test ! -e "$root/opt/pkb-hub/$version-unhealthy.1"
check "…pkb-hub on PATH is the previous release" version_is pkb-hub --version
check "…buffer and secrets untouched" test "$before" = "$(hash_state)"

# 6. serial-only drop-in: installed on request, kept by later upgrades, removed with --ble
version_expected=$version-upgrade.2
check "install --serial-only" install_rel --serial-only /tmp/rel/v5.tgz
check "serial-only drop-in installed" cmp "$root/etc/systemd/system/pkb-hub.service.d/serial-only.conf" systemd/serial-only/serial-only.conf
keep_dropin() { install_rel /tmp/rel/v6.tgz && test -f "$root/etc/systemd/system/pkb-hub.service.d/serial-only.conf"; }
check "a later upgrade keeps the serial-only drop-in" keep_dropin
ble() { install_rel --ble /tmp/rel/v6.tgz && test ! -e "$root/etc/systemd/system/pkb-hub.service.d/serial-only.conf"; }
check "--ble removes the serial-only drop-in" ble

# 7. old releases pruned: current, previous and one more are kept
releases() { in_root sh -c 'cd /opt/pkb-hub && ls -1d */ | tr -d / | grep -vx current | sort | tr "\n" " "'; }
pruned() {
  local got
  got=$(releases)
  [ "$got" = "$version $version-upgrade.2 $version-upgrade.3 " ] || [ "$got" = "$version-upgrade.1 $version-upgrade.2 $version-upgrade.3 " ] ||
    { echo "releases kept: $got"; return 1; }
}
check "at most three releases kept, the current one among them" pruned

echo "install: $passed passed, $failed failed"
printf '{"passed":%d,"failed":%d}\n' "$passed" "$failed" >"$project/.test-tmp/install.json"
[ "$failed" -eq 0 ]
