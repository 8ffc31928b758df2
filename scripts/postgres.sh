#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite's PostgreSQL pass (Debian's postgresql).
#   scripts/postgres.sh start DIR   -> prints an admin URL; scripts/postgres.sh stop DIR
# Listens only on a Unix socket inside DIR; trust authentication; gone when DIR is removed.
set -euo pipefail
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "no PostgreSQL installed" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
case $cmd in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U siaga -E UTF8 >"$dir/initdb.log"
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p 54329 -k $dir -c listen_addresses='' -c fsync=off" start >/dev/null
    echo "postgresql+psycopg://siaga@/postgres?host=$dir&port=54329" ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true ;;
esac
