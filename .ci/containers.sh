#!/usr/bin/env bash
# Builds the Dockerfile with a real engine (Debian's docker.io 20.10, dockerd started here when not running) and
# runs what a user runs: the image alone on a named volume, then docker-compose.yml (docker-compose 1.29), then its
# `replicas` profile behind Caddy. The base images are stand-ins built from Debian and npm (.ci/bases.sh), cached in
# the engine. Prints "== container: <step>" as each step ends, "!! ..." for a failure, and last
# "containers: P passed, F failed" (.ci/run adds those to its totals). Every address is loopback or a container's.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
docker=/usr/bin/docker # Debian's client (a newer one elsewhere on PATH may default to BuildKit, which needs a registry)
compose=/usr/bin/docker-compose
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
client="node $repo/.ci/containers-client.mjs"
export ADMIN_KEY=ci-admin-key-5c1e9a7d3b2f4e6a JWT_SECRET=ci-jwt-secret-9d4b7e2a1c6f3e8b0a5d7c9e
work=$(mktemp -d /tmp/ci-containers.XXXXXX)
project=jackbox-ci
solo=jackbox-ci-solo
volume=jackbox-ci-data
image=jackbox-gamenight:latest # the name docker-compose.yml gives it, so Compose runs this build
passed=0
failed=0
started=$(date +%s)

pass () { passed=$((passed + 1)); echo "== container: $* ($(($(date +%s) - started)) s)"; }
fail () { failed=$((failed + 1)); echo "!! container: $* ($(($(date +%s) - started)) s)"; }
# A step that later steps need: on failure, show the logs and end the run here.
fatal () {
  fail "$*"
  [ -f "$work/last.txt" ] && tail -n 30 "$work/last.txt"
  finish
}
finish () {
  $docker rm -f $solo >/dev/null 2>&1
  [ -f "$work/docker-compose.yml" ] && (cd "$work" && $compose -p $project --profile replicas down -v --timeout 5 >/dev/null 2>&1)
  $docker volume rm $volume >/dev/null 2>&1
  rm -rf "$work"
  echo "containers: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}
trap 'finish' INT TERM

# Waits up to $2 s for a container to turn healthy; prints the seconds it took (on failure, its log is in last.txt).
wait_healthy () {
  local name=$1 limit=${2:-120} t0 status
  t0=$(date +%s.%N)
  for _ in $(seq 1 $((limit * 2))); do
    status=$($docker inspect -f '{{.State.Health.Status}}' "$name" 2>/dev/null)
    if [ "$status" = healthy ]; then awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }"; return 0; fi
    if [ "$($docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = false ]; then break; fi
    sleep 0.5
  done
  $docker logs --tail 30 "$name" >"$work/last.txt" 2>&1
  return 1
}
cid () { (cd "$work" && $compose -p $project ps -q "$1" | head -n 1); }

# --- the engine ---
if [ ! -x $docker ] || [ ! -x $compose ] || ! command -v debootstrap >/dev/null; then
  echo "   apt-get install docker.io docker-compose debootstrap"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io docker-compose debootstrap) >"$work/last.txt" 2>&1 \
    || fatal "could not install docker.io"
fi
if ! $docker info >/dev/null 2>&1; then
  echo "   starting dockerd"
  mkdir -p /var/log/jackbox-ci
  nohup /usr/sbin/dockerd >>/var/log/jackbox-ci/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do $docker info >/dev/null 2>&1 && break; sleep 1; done
  $docker info >/dev/null 2>&1 || { tail -n 20 /var/log/jackbox-ci/dockerd.log >"$work/last.txt"; fatal "dockerd did not start"; }
fi
pass "engine: $($docker version -f 'docker {{.Server.Version}}'), $($compose version --short 2>/dev/null | sed 's/^/compose /')"

# Leftovers of an interrupted run.
$docker rm -f $solo >/dev/null 2>&1
$docker volume rm $volume >/dev/null 2>&1
for c in $($docker ps -aq --filter label=com.docker.compose.project=$project); do $docker rm -f "$c" >/dev/null 2>&1; done
$docker network rm ${project}_default >/dev/null 2>&1
for v in $($docker volume ls -q --filter label=com.docker.compose.project=$project); do $docker volume rm -f "$v" >/dev/null 2>&1; done

bash "$repo/.ci/bases.sh" $docker >"$work/last.txt" 2>&1 || fatal "base images (node:24-bookworm-slim, postgres:15, caddy:2)"
pass "base images present"

# --- the image alone ---
t0=$(date +%s)
$docker build -t $image . >"$work/last.txt" 2>&1 || fatal "docker build"
pass "docker build ($(($(date +%s) - t0)) s, $(($($docker image inspect -f '{{.Size}}' $image) / 1000000)) MB)"
[ "$($docker image inspect -f '{{json .Config.Healthcheck.Test}}' $image)" != null ] && pass "the image has its HEALTHCHECK" || fail "the image has no HEALTHCHECK"

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
base=http://127.0.0.1:$port
run_solo () {
  $docker run -d --init --name $solo -v $volume:/data -e ADMIN_KEY -e JWT_SECRET -p 127.0.0.1:$port:5000 $image >"$work/last.txt" 2>&1
}
run_solo || fatal "docker run"
secs=$(wait_healthy $solo 120) || fatal "alone: healthy"
pass "alone on a fresh volume: healthy ${secs} s after start"
uid=$($docker exec $solo id -u)
# docker-init (--init) and node both show the command line: every one must be uid 1000.
top=$($docker top $solo -eo pid,uid,args | awk '/dist\/server\.js/ { print $2 }' | sort -u | tr '\n' ' ')
[ "$uid" = 1000 ] && [ "$top" = '1000 ' ] && pass "runs as uid 1000" || fail "uid: exec $uid, server $top"
token=$($client login $base) || fatal "alone: login"
session=$($client new-session $base "$token") && pass "login and a session ($session)" || fail "alone: a session"
$docker stop -t 15 $solo >/dev/null
code=$($docker inspect -f '{{.State.ExitCode}}' $solo)
[ "$code" = 0 ] && $docker logs $solo 2>&1 | grep -q '"shut down"' && pass "docker stop drains: exit 0" || fail "docker stop: exit $code"
$docker rm $solo >/dev/null
run_solo || fatal "docker run (again)"
secs=$(wait_healthy $solo 120) || fatal "alone: healthy on the existing volume"
$client has-session $base "$token" "$session" >/dev/null && pass "a new container on the volume keeps the data (healthy ${secs} s after start)" \
  || fail "the session did not survive a new container"
$docker rm -f $solo >/dev/null
$docker volume rm $volume >/dev/null

# --- Compose ---
cp docker-compose.yml "$work/" && mkdir "$work/deploy" && cp deploy/Caddyfile "$work/deploy/"
app_port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
proxy_port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
printf 'ADMIN_KEY=%s\nJWT_SECRET=%s\nPOSTGRES_PASSWORD=ci-postgres-password\nAPP_PORT=127.0.0.1:%s\nPROXY_PORT=127.0.0.1:%s\n' \
  "$ADMIN_KEY" "$JWT_SECRET" "$app_port" "$proxy_port" >"$work/.env"
base=http://127.0.0.1:$app_port
up () { (cd "$work" && $compose -p $project "$@" >"$work/last.txt" 2>&1); }
up config -q || fatal "docker-compose config"
up up -d --no-build || fatal "docker-compose up"
db=$(cid db) app=$(cid app)
# Compose starts the app only once the database is healthy.
db_healthy=$($docker inspect -f '{{range .State.Health.Log}}{{if eq .ExitCode 0}}{{.End}}{{"\n"}}{{end}}{{end}}' "$db" | head -n 1)
app_started=$($docker inspect -f '{{.State.StartedAt}}' "$app")
if [ -n "$db_healthy" ] && [ "$(date -d "$app_started" +%s%N)" -ge "$(date -d "${db_healthy% UTC}" +%s%N)" ]; then pass "compose: db healthy, then app started"
else fail "compose: app started $app_started, db healthy $db_healthy"; fi
secs=$(wait_healthy "$app" 120) || fatal "compose: app healthy"
pass "compose: app healthy ${secs} s after up returned"
[ "$($docker exec "$app" id -u)" = 1000 ] && pass "compose: uid 1000" || fail "compose: uid"
token=$($client login $base) || fatal "compose: login"
session=$($client new-session $base "$token") && pass "compose: login and a session ($session)" || fail "compose: a session"
up stop || fail "docker-compose stop"
code=$($docker inspect -f '{{.State.ExitCode}}' "$app")
[ "$code" = 0 ] && pass "compose stop drains: exit 0" || fail "compose stop: app exit $code"
up up -d --no-build && wait_healthy "$(cid app)" 120 >/dev/null && $client has-session $base "$token" "$session" >/dev/null \
  && pass "compose: stop, up: the data is kept" || fail "compose: data after stop/up"
up down && up up -d --no-build && wait_healthy "$(cid app)" 120 >/dev/null && $client has-session $base "$token" "$session" >/dev/null \
  && pass "compose: down, up: the data is kept" || fail "compose: data after down/up"

# --- the replicas profile behind Caddy ---
if up --profile replicas up -d --no-build; then
  ok=1
  for c in $(cd "$work" && $compose -p $project ps -q replica); do wait_healthy "$c" 120 >/dev/null || ok=0; done
  [ $ok = 1 ] && pass "replicas: 3 healthy" || fail "replicas: not all healthy"
  out=$($client live http://127.0.0.1:$proxy_port "$token" 2>&1) && pass "replicas behind Caddy: $out" || fail "replicas behind Caddy: $out"
else
  fail "docker-compose --profile replicas up"
  tail -n 20 "$work/last.txt"
fi
finish
