#!/usr/bin/env bash
# Starts (or stops) the servers a shared store needs, for trying the
# shared mode by hand: a throwaway PostgreSQL 15 reached over a unix
# socket, in a directory of its own, as the tests start theirs.
#
# Usage (as root):
#   eval "$(tests/scale/services.sh start)"   # prints `export` lines
#   tests/scale/services.sh stop               # stops it, removes its files
#
# `start` prints REGFS_TEST_PG_URL (a libpq URL of the database
# "registry", owned by the PostgreSQL role "regfs", trust authentication
# on the socket: no password anywhere) and REGFS_SERVICES_DIR. The server
# keeps running until `stop`; it is not for production (fsync off).
set -euo pipefail

readonly BIN=/usr/lib/postgresql/15/bin
readonly STATE=${REGFS_SERVICES_DIR:-/tmp/regfs-services}

die() { printf 'services: %s\n' "$*" >&2; exit 1; }
as_postgres() { setpriv --reuid postgres --regid postgres --clear-groups -- "$@"; }

start() {
  [[ $(id -u) -eq 0 ]] || die "run as root: the server runs as the postgres user"
  [[ -x $BIN/initdb ]] || die "no $BIN/initdb: run packaging/install-deps.sh"
  id postgres > /dev/null 2>&1 || die "no postgres user: run packaging/install-deps.sh"
  if [[ -f $STATE/pg/data/postmaster.pid ]]; then
    die "already running in $STATE (tests/scale/services.sh stop first)"
  fi
  rm -rf "$STATE"
  mkdir -p "$STATE/pg/socket"
  chmod 755 "$STATE"
  chown -R postgres:postgres "$STATE/pg"
  as_postgres "$BIN/initdb" -D "$STATE/pg/data" --auth=trust -U postgres \
    -E UTF8 --locale=C > "$STATE/pg/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -n 5 "$STATE/pg/initdb.log")"
  as_postgres "$BIN/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/postgres.log" \
    -w -t 60 -o "-k $STATE/pg/socket -c listen_addresses= -c fsync=off" \
    start > /dev/null ||
    die "pg_ctl start failed: $(tail -n 5 "$STATE/pg/postgres.log")"
  as_postgres "$BIN/psql" -q -h "$STATE/pg/socket" -U postgres \
    -d postgres -c "CREATE ROLE regfs LOGIN" -c "CREATE DATABASE registry OWNER regfs" \
    > /dev/null || die "cannot create the role and database"
  cat <<EOF
export REGFS_SERVICES_DIR=$STATE
export REGFS_TEST_PG_URL='postgresql://regfs@/registry?host=$STATE/pg/socket'
EOF
}

stop() {
  if [[ -f $STATE/pg/data/postmaster.pid ]]; then
    as_postgres "$BIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop > /dev/null ||
      die "pg_ctl stop failed (the server stays in $STATE)"
  fi
  rm -rf "$STATE"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
