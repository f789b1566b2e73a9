#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the test suite: its own folder, a free port on
# 127.0.0.1, trust authentication (it only listens locally), no fsync.
#
#   url="$(scripts/postgres_test_cluster.sh start DIR)"   # prints the database URL
#   scripts/postgres_test_cluster.sh pause DIR             # stops the server, keeps the data
#   scripts/postgres_test_cluster.sh resume DIR            # starts it again on the same port
#   scripts/postgres_test_cluster.sh stop DIR              # stops it and deletes DIR
#
# DIR must be new or empty, in a folder every user can traverse (e.g. from mktemp -d).
# PostgreSQL refuses to run as root: as root the server runs as the "postgres" user that
# Debian's package creates (else "nobody"). Needs Debian's postgresql package.
set -euo pipefail

usage() {
  echo "usage: $0 start|pause|resume|stop DIR" >&2
  exit 2
}
[ "$#" -eq 2 ] || usage
command="$1"
dir="$2"

pg_bin() {
  if command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return
  fi
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$newest" ] || { echo "$0: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
  echo "$newest"
}
BIN="$(pg_bin)"

owner=""
if [ "$(id -u)" -eq 0 ]; then
  if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
fi
as_owner() {
  if [ -n "$owner" ]; then runuser -u "$owner" -- "$@"; else "$@"; fi
}

# 0 when something already listens on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {
  local port
  port="$(cat "$dir/port")"
  as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
}

case "$command" in
  start)
    mkdir -p "$dir"
    [ -z "$(ls -A "$dir")" ] || { echo "$0: $dir is not empty" >&2; exit 1; }
    [ -z "$owner" ] || chown "$owner" "$dir"
    as_owner "$BIN/initdb" -D "$dir/data" -U faceid --auth=trust --no-sync -E UTF8 --locale=C >/dev/null
    cat >>"$dir/data/postgresql.conf" <<'EOF'
fsync = off
full_page_writes = off
max_connections = 300
EOF
    port=$((20000 + RANDOM % 20000))
    while port_in_use "$port"; do port=$((port + 1)); done
    as_owner sh -c "echo $port > '$dir/port'"
    start_server
    as_owner "$BIN/createdb" -h "$dir" -p "$port" -U faceid faceid_test
    echo "postgresql://faceid@127.0.0.1:$port/faceid_test"
    ;;
  pause)
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    start_server
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    usage
    ;;
esac
