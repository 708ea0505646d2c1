#!/usr/bin/env bash
# Repeats the Dockerfile's build outside Docker (there is no Docker engine here), in a temporary directory:
#   context  the working tree filtered by .dockerignore (what `COPY . .` sees)
#   build    npm ci, then `npm run build` (dist/ plus the bundled catalog CSV)
#   deps     npm ci --omit=dev in a directory of its own
#   app      package.json + deps' node_modules + build's dist, like the runtime stage
# then starts the Dockerfile's CMD from `app` with only production dependencies, as an unprivileged user when run as
# root (the image runs as `node`), on the embedded PGlite in a fresh DATA_DIR: /api/health must answer 200, the
# Dockerfile's HEALTHCHECK command must pass, and SIGTERM must end the process with exit code 0 within 10 s.
# With DOCKER_STEPS_PG_PORT set, it runs the same checks again on a throwaway PostgreSQL 15 (compose's setup).
#   .ci/docker-steps.sh                  copy the working tree, as `docker build .` would
#   DOCKER_STEPS_REF=HEAD .ci/docker-steps.sh   copy a commit instead (git archive), ignoring uncommitted work
# Differences from a real image build: Node is this machine's (the image uses node:24), npm may answer from its
# cache, and the base image, USER/ownership, EXPOSE and compose networking are not exercised.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

started=$(date +%s)
work=$(mktemp -d /tmp/docker-steps.XXXXXX)
pgdir=""
server_pid=""
cleanup () {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  [ -n "$pgdir" ] && .ci/postgres.sh stop "$pgdir" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

fail () {
  echo "docker-steps: FAIL: $*"
  exit 1
}
step () { echo "== $* ($(($(date +%s) - started)) s)"; }

# Prints the exec-form JSON array of a Dockerfile instruction (CMD, or HEALTHCHECK's CMD), one argument a line.
dockerfile_exec () {
  node -e '
    const text = require("fs").readFileSync(process.argv[1], "utf8").replace(/\\\n/g, " ")
    const line = text.split("\n").filter((l) => l.startsWith(process.argv[2] + " ")).pop()
    const json = line.slice(line.indexOf("["))
    for (const arg of JSON.parse(json)) console.log(arg)
  ' Dockerfile "$1"
}

step "context (.dockerignore applied)"
mkdir -p "$work/context"
if [ -n "${DOCKER_STEPS_REF:-}" ]; then
  mkdir "$work/tree"
  git archive "$DOCKER_STEPS_REF" | tar -x -C "$work/tree" || fail "git archive $DOCKER_STEPS_REF"
  src="$work/tree"
else
  src="$repo"
fi
# .dockerignore semantics: patterns anchored at the context root, `*` within a path segment, `**` across segments,
# a matching directory excludes its contents, the last matching line wins, `!` re-includes.
node -e '
  const fs = require("fs"), path = require("path")
  const [src, dest, ignoreFile] = process.argv.slice(1)
  const rules = fs.readFileSync(ignoreFile, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!")
      const pattern = path.posix.normalize(negate ? l.slice(1) : l).replace(/^\/+/, "")
      const re = pattern.split("/").map((seg) => seg === "**" ? "(?:.*)" : seg.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")).join("/")
      return { negate, re: new RegExp("^" + re.replace(/\(\?:\.\*\)\//g, "(?:.*/)?") + "$") }
    })
  const ignored = (rel) => {
    const parts = rel.split("/")
    let out = false
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join("/")
      for (const r of rules) if (r.re.test(prefix)) out = !r.negate
    }
    return out
  }
  const walk = (rel) => {
    for (const entry of fs.readdirSync(path.join(src, rel), { withFileTypes: true })) {
      const child = rel ? rel + "/" + entry.name : entry.name
      if (ignored(child)) continue
      if (entry.isDirectory()) { fs.mkdirSync(path.join(dest, child), { recursive: true }); walk(child) }
      else fs.copyFileSync(path.join(src, child), path.join(dest, child))
    }
  }
  walk("")
' "$src" "$work/context" "$src/.dockerignore" || fail "copying the build context"
for secret in .env node_modules dist data .git; do
  [ -e "$work/context/$secret" ] && fail "the build context contains $secret"
done

npm_ci () { npm ci --no-audit --no-fund --prefer-offline "$@" >"$work/npm.log" 2>&1 || { cat "$work/npm.log"; fail "npm ci $*"; }; }

step "build stage: npm ci"
mkdir "$work/build"
cp "$work/context/package.json" "$work/context/package-lock.json" "$work/build/"
(cd "$work/build" && npm_ci) || exit 1
step "build stage: COPY . . && npm run build"
cp -a "$work/context/." "$work/build/"
(cd "$work/build" && npm run --silent build) || fail "npm run build"
[ -f "$work/build/dist/server.js" ] || fail "dist/server.js was not built"
[ -f "$work/build/dist/db/catalog/jackbox-games.csv" ] || fail "the bundled catalog was not copied into dist/"

step "deps stage: npm ci --omit=dev"
mkdir "$work/deps"
cp "$work/context/package.json" "$work/context/package-lock.json" "$work/deps/"
(cd "$work/deps" && npm_ci --omit=dev) || exit 1

step "runtime stage"
mkdir "$work/app" "$work/data"
cp "$work/context/package.json" "$work/app/"
mv "$work/deps/node_modules" "$work/app/node_modules"
mv "$work/build/dist" "$work/app/dist"
for dev in typescript tap eslint @types/node; do
  [ -e "$work/app/node_modules/$dev" ] && fail "dev dependency $dev is in the runtime node_modules"
done
# Like the image: code readable by all and writable by none but root, only DATA_DIR writable by the service user.
chmod -R a+rX,go-w "$work/app"
chmod 755 "$work"
as_user=()
if [ "$(id -u)" = 0 ]; then
  chown nobody "$work/data"
  as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi

mapfile -t cmd < <(dockerfile_exec CMD)
mapfile -t healthcheck < <(dockerfile_exec HEALTHCHECK)
[ "${#cmd[@]}" -gt 0 ] || fail "no exec-form CMD in the Dockerfile"
[ "${#healthcheck[@]}" -gt 0 ] || fail "no exec-form HEALTHCHECK CMD in the Dockerfile"

# run_service LABEL ENV...: start CMD, wait for health, run HEALTHCHECK, SIGTERM, expect exit 0 within 10 s.
run_service () {
  local label=$1
  shift
  local port
  port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')
  local log="$work/server-$label.log"
  (cd "$work/app" && exec env -i PATH="$PATH" HOME=/nonexistent NODE_ENV=production HOST=127.0.0.1 PORT="$port" \
    ADMIN_KEY=docker-steps-admin-key JWT_SECRET=docker-steps-secret-docker-steps-secret-0123 "$@" \
    "${as_user[@]}" "${cmd[@]}") >"$log" 2>&1 &
  server_pid=$!
  local up=""
  for _ in $(seq 1 300); do
    kill -0 "$server_pid" 2>/dev/null || { cat "$log"; fail "$label: the service exited during boot"; }
    if [ "$(node -e 'fetch(process.argv[1]).then((r) => console.log(r.status), () => console.log(0))' "http://127.0.0.1:$port/api/health")" = 200 ]; then
      up=1
      break
    fi
    sleep 0.2
  done
  [ -n "$up" ] || { cat "$log"; fail "$label: /api/health did not answer 200 within 60 s"; }
  echo "   $label: /api/health 200"
  (cd "$work/app" && env PORT="$port" "${healthcheck[@]}") || fail "$label: the HEALTHCHECK command failed against a healthy service"
  echo "   $label: HEALTHCHECK command exits 0"
  head -n 1 "$log" | node -e 'JSON.parse(require("fs").readFileSync(0, "utf8"))' 2>/dev/null \
    || { head -n 3 "$log"; fail "$label: the log is not JSON lines"; }
  echo "   $label: logs are JSON lines"
  kill -TERM "$server_pid"
  local waited=0
  while kill -0 "$server_pid" 2>/dev/null && [ "$waited" -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
  kill -0 "$server_pid" 2>/dev/null && { kill -KILL "$server_pid"; fail "$label: still running 10 s after SIGTERM"; }
  wait "$server_pid"
  local status=$?
  server_pid=""
  [ "$status" -eq 0 ] || { tail -n 5 "$log"; fail "$label: exit code $status after SIGTERM"; }
  echo "   $label: SIGTERM -> exit 0"
}

step "start ${cmd[*]} on PGlite (DATA_DIR), production dependencies only"
run_service pglite DATA_DIR="$work/data"
[ -n "$(ls -A "$work/data")" ] || fail "nothing was written to DATA_DIR"

if [ -n "${DOCKER_STEPS_PG_PORT:-}" ]; then
  step "start ${cmd[*]} on PostgreSQL 15 (DATABASE_URL), production dependencies only"
  pgdir="$work/pg"
  mkdir "$pgdir"
  url=$(.ci/postgres.sh start "$pgdir" "$DOCKER_STEPS_PG_PORT") || fail "could not start PostgreSQL 15"
  run_service postgres DATABASE_URL="$url"
fi

echo "docker-steps: PASS ($(($(date +%s) - started)) s)"
