#!/usr/bin/env bash
# Packs a release for scripts/install.sh:
#   bash scripts/release.sh [--bundle] [OUT_DIR]      (default OUT_DIR: .release)
# Always: OUT_DIR/pkb-hub-<version>.tgz — `npm pack` of the built agent (dist/, systemd/, config/,
# scripts/install.sh, npm-shrinkwrap.json); install.sh then builds the dependencies on the hub.
# --bundle: also OUT_DIR/pkb-hub-<version>-linux-<arch>-node<major>.tgz with the production
# node_modules, native modules built for this machine, for hubs of the same architecture and
# Node.js major version (build it on a Pi for arm64 hubs).
# --modules-cache DIR: when they must be built afresh, keep the built node_modules in DIR, keyed by
# the lockfile, architecture and Node.js ABI (npm run test:install uses this).
# Prints the path of the last file written.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=no
out=.release
cache=
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle=yes ;;
    --modules-cache) cache=${2:?--modules-cache DIR}; shift ;;
    -*) echo "release: unknown option $1" >&2; exit 2 ;;
    *) out=$1 ;;
  esac
  shift
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
npm run build --silent >&2
# npm pack leaves package-lock.json out; a shrinkwrap (the same lockfile) goes in.
cp package-lock.json npm-shrinkwrap.json
trap 'rm -f npm-shrinkwrap.json' EXIT
name=$(npm pack --silent --pack-destination "$out" | tail -n 1)
tgz=$out/$name
if [ "$bundle" = no ]; then
  echo "$tgz"
  exit 0
fi
version=$(node -p 'require("./package.json").version')
arch=$(uname -m)
major=$(node -p 'process.versions.node.split(".")[0]')
stage=$(mktemp -d)
trap 'rm -f npm-shrinkwrap.json; rm -rf "$stage"' EXIT
tar -xzf "$tgz" -C "$stage"
# Production dependencies: copied from this checkout's node_modules when it holds every one of
# them (already built here, for this machine), else installed and built afresh (npm ci).
mods=$(cd node_modules 2>/dev/null && pwd -P || true)
if [ -n "$mods" ] && list=$(npm ls --omit=dev --all --parseable 2>/dev/null); then
  mkdir -p "$stage/package/node_modules"
  printf '%s\n' "$list" | sed -n "s|^$(pwd)/node_modules/||p; s|^$mods/||p" |
    grep -E '^(@[^/]+/)?[^/]+$' | sort -u | tar -C "$mods" -cf - -T - | tar -C "$stage/package/node_modules" -xf -
else
  key=$(printf '%s %s %s' "$(sha256sum package-lock.json | cut -d' ' -f1)" "$arch" "$(node -p process.versions.modules)" | sha256sum | cut -c1-16)
  if [ -n "$cache" ] && [ -d "$cache/modules-$key/node_modules" ]; then
    cp -a "$cache/modules-$key/node_modules" "$stage/package/"
  else
    echo "release: node_modules here lacks production dependencies: installing them afresh (npm ci)" >&2
    (cd "$stage/package" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >&2)
    if [ -n "$cache" ]; then
      rm -rf "$cache/modules-$key.tmp"
      mkdir -p "$cache/modules-$key.tmp"
      cp -a "$stage/package/node_modules" "$cache/modules-$key.tmp/"
      mv -T "$cache/modules-$key.tmp" "$cache/modules-$key"
    fi
  fi
fi
bundled=$out/pkb-hub-$version-linux-$arch-node$major.tgz
tar -czf "$bundled" -C "$stage" package
echo "$bundled"
