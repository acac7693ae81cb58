#!/usr/bin/env bash
# Installs or upgrades pkb-hub on Debian / Raspberry Pi OS (x86_64, arm64) from a packed release
# (scripts/release.sh: `npm pack`, with node_modules built for the target, or without them:
# then `npm ci` builds them here). Run as root:
#
#   bash install.sh [--serial-only | --ble] [--no-start] pkb-hub-<version>[-linux-<arch>].tgz
#
# What it leaves:
#   user pkb-hub (system, no login, groups dialout and bluetooth)
#   /opt/pkb-hub/<version>/        the release, owned by root, read-only to the service
#   /opt/pkb-hub/current           link to the running release (switched atomically)
#   /etc/pkb-hub/                  root:pkb-hub 0750: config.yaml and secrets (never overwritten)
#   /var/lib/pkb-hub/              pkb-hub 0700: buffer, links, key (never touched)
#   /etc/systemd/system/pkb-hub.service (+ pkb-hub.service.d/serial-only.conf with --serial-only)
#   /etc/udev/rules.d/99-pkb-hub.rules
#   /usr/local/bin/pkb-hub
# Re-running it with a newer release upgrades in place; if the new release is not healthy (it
# does not run, or the service does not report READY in time) the previous one is put back.
set -euo pipefail

PREFIX=/opt/pkb-hub
ETC=/etc/pkb-hub
STATE=/var/lib/pkb-hub
UNIT_DIR=/etc/systemd/system
RULES_DIR=/etc/udev/rules.d
BIN=/usr/local/bin/pkb-hub
KEEP=3                       # releases kept (current, previous, one more)
HEALTH_TIMEOUT=${PKB_HUB_HEALTH_TIMEOUT:-90}

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }

variant=keep
start=yes
release=
while [ $# -gt 0 ]; do
  case "$1" in
    --serial-only) variant=serial-only ;;
    --ble) variant=ble ;;
    --no-start) start=no ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$release" ] || die "give one release file"; release=$1 ;;
  esac
  shift
done
[ -n "$release" ] || die "usage: install.sh [--serial-only|--ble] [--no-start] pkb-hub-<version>.tgz"
[ -f "$release" ] || die "no such release file: $release"
[ "$(id -u)" -eq 0 ] || die "run as root (sudo bash install.sh …)"

case "$(uname -m)" in
  x86_64 | aarch64) ;;
  *) die "unsupported machine $(uname -m): pkb-hub supports x86_64 and arm64 (aarch64)" ;;
esac

# Node.js 20 or newer (Debian 13 ships it; on Debian 12 / Raspberry Pi OS 12 install Node 20 first).
if ! command -v node >/dev/null 2>&1; then
  if apt-cache policy nodejs 2>/dev/null | grep -Eq 'Candidate: (2[0-9]|[3-9][0-9])\.'; then
    say "installing nodejs from the distribution"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs >/dev/null
  else
    die "Node.js 20 or newer is needed and this distribution's nodejs is older: install Node.js 20 (e.g. from NodeSource) and run again"
  fi
fi
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  die "Node.js $(node --version) is too old: pkb-hub needs 20 or newer"
NODE=$(command -v node)

version=$(tar -xOzf "$release" package/package.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s);if(p.name!=="pkb-hub")process.exit(3);process.stdout.write(p.version)})') ||
  die "$release is not a pkb-hub release (npm pack of pkb-hub)"
case "$version" in
  "" | *[!A-Za-z0-9.+-]*) die "release version '$version' is not usable as a folder name" ;;
esac

# --- the service user and its directories -----------------------------------------------------
for group in dialout bluetooth; do
  getent group "$group" >/dev/null || groupadd --system "$group"
done
if ! getent passwd pkb-hub >/dev/null; then
  useradd --system --user-group --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin \
    --comment "pkb-hub home medical device hub" pkb-hub
  say "created system user pkb-hub"
fi
usermod -a -G dialout,bluetooth pkb-hub
install -d -o root -g root -m 0755 "$PREFIX"
install -d -o root -g pkb-hub -m 0750 "$ETC"
install -d -o pkb-hub -g pkb-hub -m 0700 "$STATE"

# --- unpack the release beside the running one ------------------------------------------------
dest=$PREFIX/$version
work=$PREFIX/.$version.new
rm -rf "$work"
install -d -o root -g root -m 0755 "$work"
tar -xzf "$release" -C "$work" --strip-components=1 --no-same-owner
if [ ! -d "$work/node_modules" ]; then
  # A release without dependencies: build them here, for this machine (needs npm, make, g++, python3).
  [ -f "$work/npm-shrinkwrap.json" ] || die "the release has neither node_modules nor npm-shrinkwrap.json"
  command -v npm >/dev/null 2>&1 || die "this release needs npm to build its dependencies: apt-get install npm (and make g++ python3)"
  say "building dependencies for $(uname -m) (npm ci --omit=dev)"
  (cd "$work" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
fi
chown -R root:root "$work"
chmod -R u+rwX,go+rX,go-w "$work"

# The release must run here before anything switches to it: its version, and its native modules
# (better-sqlite3, serialport, unix-dgram) built for this machine, loaded as the service user.
smoke() {
  local dir=$1 got
  got=$(runuser -u pkb-hub -- "$NODE" "$dir/dist/src/cli/main.js" --version 2>&1) || { say "$got"; return 1; }
  [ "$got" = "pkb-hub $version" ] || { say "release says '$got', expected 'pkb-hub $version'"; return 1; }
  (cd "$dir" && runuser -u pkb-hub -- "$NODE" --input-type=module -e '
    for (const m of ["better-sqlite3", "serialport", "unix-dgram"]) {
      try { await import(m); } catch (e) { console.error(`native module ${m} does not load: ${e.message}`); process.exit(1); }
    }')
}
if ! smoke "$work"; then
  rm -rf "$work"
  die "release $version does not run on this machine; nothing was changed"
fi

previous=
if [ -L "$PREFIX/current" ]; then previous=$(basename "$(readlink "$PREFIX/current")"); fi
if [ "$previous" = "$version" ]; then
  # Same version again: replace its files in place (the old copy is kept until the switch is done).
  rm -rf "$PREFIX/.$version.old"
  mv "$dest" "$PREFIX/.$version.old"
elif [ -e "$dest" ]; then
  rm -rf "$dest"
fi
mv "$work" "$dest"

# --- files outside the release ----------------------------------------------------------------
install -o root -g root -m 0644 "$dest/systemd/pkb-hub.service" "$UNIT_DIR/pkb-hub.service"
dropin_dir=$UNIT_DIR/pkb-hub.service.d
case "$variant" in
  serial-only)
    install -d -o root -g root -m 0755 "$dropin_dir"
    install -o root -g root -m 0644 "$dest/systemd/serial-only/serial-only.conf" "$dropin_dir/serial-only.conf"
    ;;
  ble) rm -f "$dropin_dir/serial-only.conf" ;;
  keep) # a serial-only hub stays serial-only: refresh the drop-in from the new release
    if [ -f "$dropin_dir/serial-only.conf" ]; then
      install -o root -g root -m 0644 "$dest/systemd/serial-only/serial-only.conf" "$dropin_dir/serial-only.conf"
    fi ;;
esac
install -d -m 0755 "$RULES_DIR"
install -o root -g root -m 0644 "$dest/systemd/99-pkb-hub.rules" "$RULES_DIR/99-pkb-hub.rules"
install -o root -g pkb-hub -m 0640 "$dest/config/example.yaml" "$ETC/config.example.yaml"
tmpbin=$(mktemp "$BIN.XXXXXX")
printf '#!/bin/sh\n# pkb-hub, the release %s/current points at (written by install.sh)\nexec %s %s/current/dist/src/cli/main.js "$@"\n' \
  "$PREFIX" "$NODE" "$PREFIX" >"$tmpbin"
chmod 0755 "$tmpbin"
mv "$tmpbin" "$BIN"

# --- switch, then check health; put the previous release back if the new one is not healthy ----
switch_to() {
  ln -sfn "$1" "$PREFIX/.current.tmp"
  mv -T "$PREFIX/.current.tmp" "$PREFIX/current"
}
systemd_running() { [ -d /run/systemd/system ]; }

healthy() {
  local got
  got=$("$BIN" --version 2>&1) || { say "$got"; return 1; }
  [ "$got" = "pkb-hub $version" ] || { say "pkb-hub on PATH says '$got'"; return 1; }
  if [ -f "$ETC/config.yaml" ]; then
    runuser -u pkb-hub -- "$BIN" config check "$ETC/config.yaml" || return 1
  fi
  if systemd_running && [ "$start" = yes ] && [ -f "$ETC/config.yaml" ]; then
    # Type=notify: "active" only once the agent said READY=1 (buffer open, devices and routes up).
    local waited=0 state
    while [ "$waited" -lt "$HEALTH_TIMEOUT" ]; do
      state=$(systemctl is-active pkb-hub 2>/dev/null || true)
      [ "$state" = active ] && return 0
      [ "$state" = failed ] && break
      sleep 2
      waited=$((waited + 2))
    done
    say "pkb-hub.service did not become active (state: ${state:-unknown}); see journalctl -u pkb-hub"
    return 1
  fi
  return 0
}

backup=
if systemd_running; then
  systemctl daemon-reload
  command -v udevadm >/dev/null 2>&1 && udevadm control --reload || true
  if systemctl is-active --quiet pkb-hub; then
    systemctl stop pkb-hub
    # The new release may migrate the buffer forward; an older release refuses a newer schema, so
    # a rollback needs the file as it was. Copied while the service is stopped.
    backup=$STATE/upgrade-backup
    rm -rf "$backup"
    install -d -o pkb-hub -g pkb-hub -m 0700 "$backup"
    for f in "$STATE"/buffer.db "$STATE"/buffer.db-wal "$STATE"/buffer.db-shm; do
      [ -f "$f" ] && cp -p "$f" "$backup/"
    done
  fi
fi

switch_to "$version"
if systemd_running && [ "$start" = yes ] && [ -f "$ETC/config.yaml" ]; then
  systemctl enable --quiet pkb-hub
  systemctl restart pkb-hub || true
fi

if ! healthy; then
  if [ -n "$previous" ] && [ "$previous" != "$version" ] && [ -d "$PREFIX/$previous" ]; then
    say "release $version is not healthy: rolling back to $previous"
    systemd_running && systemctl stop pkb-hub 2>/dev/null || true
    switch_to "$previous"
    if [ -n "$backup" ] && [ -f "$backup/buffer.db" ]; then
      # Readings the failed release stored are kept beside, never deleted.
      kept=$STATE/buffer-from-$version-$(date +%Y%m%d%H%M%S)
      install -d -o pkb-hub -g pkb-hub -m 0700 "$kept"
      for f in "$STATE"/buffer.db "$STATE"/buffer.db-wal "$STATE"/buffer.db-shm; do
        [ -f "$f" ] && mv "$f" "$kept/"
      done
      cp -p "$backup"/buffer.db* "$STATE/"
      say "the buffer as $version left it is kept in $kept"
    fi
    rm -rf "$PREFIX/$version"
    if systemd_running && [ "$start" = yes ] && [ -f "$ETC/config.yaml" ]; then systemctl restart pkb-hub || true; fi
    die "upgrade to $version failed; $previous is running again"
  fi
  if [ -d "$PREFIX/.$version.old" ]; then
    rm -rf "$PREFIX/$version"
    mv "$PREFIX/.$version.old" "$PREFIX/$version"
    die "reinstalling $version failed; the previous copy of $version is back"
  fi
  die "release $version is installed but not healthy (nothing to roll back to)"
fi
rm -rf "$PREFIX/.$version.old" "${backup:-/nonexistent-pkb-hub-backup}"

# Keep the newest releases (by install time; the previous one is the newest after the current).
ls -1dt "$PREFIX"/*/ 2>/dev/null | sed 's:/*$::' | while read -r dir; do
  name=$(basename "$dir")
  [ "$name" = current ] || [ "$name" = "$version" ] || echo "$dir"
done | tail -n +"$KEEP" | xargs -r rm -rf

say "pkb-hub $version installed in $PREFIX/$version (current)${previous:+, previous $previous}"
if [ ! -f "$ETC/config.yaml" ]; then
  say "next: write $ETC/config.yaml (see $ETC/config.example.yaml; pkb-hub config check $ETC/config.yaml),"
  say "      then: systemctl enable --now pkb-hub"
elif ! systemd_running; then
  say "systemd is not running here: start the service once it is (systemctl enable --now pkb-hub)"
fi
