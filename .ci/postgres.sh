#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 server on loopback and prints its connection URL on stdout.
#   .ci/postgres.sh start DIR PORT   initdb DIR (if new) and start; the URL is postgres://postgres@127.0.0.1:PORT/postgres
#   .ci/postgres.sh stop DIR         stop it (fast shutdown)
# Used by .ci/run and by bench/ so both run on a fresh machine with one command.
set -euo pipefail

find_bin () {
  for dir in /usr/lib/postgresql/15/bin $(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)"); do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

PGBIN=$(find_bin || true)
if [ -z "$PGBIN" ]; then
  echo "installing PostgreSQL 15 from Debian" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15; } >&2
  PGBIN=$(find_bin)
fi

# The server refuses to run as root: run it as the postgres user when we are root.
as_pg () {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:?usage: postgres.sh start DIR PORT | stop DIR}
dir=${2:?data directory}
case "$cmd" in
  start)
    port=${3:?port}
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_pg "$PGBIN/initdb" -D "$dir" -A trust -U postgres --no-sync >/dev/null
    fi
    # Throwaway data: durability off makes the server as fast as it can be; sockets in the data dir.
    as_pg "$PGBIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
