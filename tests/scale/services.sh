#!/usr/bin/env bash
# Starts (or stops) the servers a shared store needs, for trying the
# shared mode by hand: a throwaway PostgreSQL 15 reached over a unix
# socket, in a directory of its own, as the tests start theirs; and a
# local S3-compatible server (@20minutes/s3rver under Node.js, which
# checks SigV4 signatures) for blobs in S3 (issue 17).
#
# Usage (as root):
#   eval "$(tests/scale/services.sh start)"   # prints `export` lines
#   tests/scale/services.sh start pg           # PostgreSQL only
#   tests/scale/services.sh stop               # stops them, removes their files
#
# `start` prints REGFS_TEST_PG_URL (a libpq URL of the database
# "registry", owned by the PostgreSQL role "regfs", trust authentication
# on the socket: no password anywhere) and REGFS_SERVICES_DIR; and for S3
# the AWS variables of the s3rver account (AWS_ENDPOINT_URL,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) and
# REGFS_TEST_S3_BUCKET. s3rver listens on 127.0.0.1, port REGFS_S3_PORT
# (default 9000; 0: one the system picks), with the bucket
# REGFS_TEST_S3_BUCKET (default "regfs") and its data in
# $REGFS_SERVICES_DIR/s3; packaging/install-s3rver.sh installs it. The
# servers keep running until `stop`; they are not for production (fsync
# off, a test S3 account).
set -euo pipefail

readonly BIN=/usr/lib/postgresql/15/bin
readonly STATE=${REGFS_SERVICES_DIR:-/tmp/regfs-services}
S3RVER=$(cd "$(dirname "$0")/../.." && pwd)/.deps/s3rver
readonly S3RVER
readonly S3_PORT=${REGFS_S3_PORT:-9000}
readonly S3_BUCKET=${REGFS_TEST_S3_BUCKET:-regfs}

die() { printf 'services: %s\n' "$*" >&2; exit 1; }
as_postgres() { setpriv --reuid postgres --regid postgres --clear-groups -- "$@"; }
# Whether process $1 runs (a zombie, exited but not yet waited for, does not).
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $st != Z* ]]; }

check_pg() {
  [[ $(id -u) -eq 0 ]] || die "run as root: the server runs as the postgres user"
  [[ -x $BIN/initdb ]] || die "no $BIN/initdb: run packaging/install-deps.sh"
  id postgres > /dev/null 2>&1 || die "no postgres user: run packaging/install-deps.sh"
}

check_s3() {
  command -v node > /dev/null 2>&1 ||
    die "no 'node' on PATH: run packaging/install-deps.sh"
  [[ -f $S3RVER/launch.js &&
     -f $S3RVER/node_modules/@20minutes/s3rver/lib/cli.js ]] ||
    die "s3rver is not installed in $S3RVER: run packaging/install-s3rver.sh"
  [[ $S3_PORT =~ ^[0-9]+$ ]] || die "REGFS_S3_PORT='$S3_PORT' is not a port number"
}

start_pg() {
  mkdir -p "$STATE/pg/socket"
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
  exports+=("export REGFS_TEST_PG_URL='postgresql://regfs@/registry?host=$STATE/pg/socket'")
}

# s3rver in a session of its own, so that it outlives this script and the
# terminal; its pid in s3/s3rver.pid for `stop`. Waits (up to 10 s; a
# start takes about half a second) until it prints that it listens and
# the port accepts a connection.
start_s3() {
  local log=$STATE/s3/s3rver.log pid port='' i
  mkdir -p "$STATE/s3"
  chmod 700 "$STATE/s3"  # the objects are the test's own
  setsid node --openssl-legacy-provider "$S3RVER/launch.js" -d "$STATE/s3/data" -a 127.0.0.1 \
    -p "$S3_PORT" --configure-bucket "$S3_BUCKET" < /dev/null > "$log" 2>&1 &
  pid=$!
  echo "$pid" > "$STATE/s3/s3rver.pid"
  for ((i = 0; i < 200 && ${#port} == 0; i++)); do
    alive "$pid" || die "s3rver exited: $(tail -n 5 "$log")"
    if [[ $(< "$log") =~ S3rver\ listening\ on\ 127\.0\.0\.1:([0-9]+) ]] &&
       (exec 3<> "/dev/tcp/127.0.0.1/${BASH_REMATCH[1]}") 2> /dev/null; then
      port=${BASH_REMATCH[1]}
    else
      sleep 0.05
    fi
  done
  [[ -n $port ]] || die "s3rver is not answering after 10 s: $(tail -n 5 "$log")"
  exports+=("export AWS_ENDPOINT_URL=http://127.0.0.1:$port"
            "export AWS_ACCESS_KEY_ID=S3RVER"
            "export AWS_SECRET_ACCESS_KEY=S3RVER"
            "export AWS_REGION=us-east-1"
            "export REGFS_TEST_S3_BUCKET=$S3_BUCKET")
}

# start [pg] [s3]: both when none is named. A server that fails to start
# stops the others: nothing is left running, and nothing is printed.
start() {
  local services=("$@") service
  ((${#services[@]})) || services=(pg s3)
  for service in "${services[@]}"; do
    case $service in
      pg) check_pg ;;
      s3) check_s3 ;;
      *) die "unknown service '$service' (pg, s3)" ;;
    esac
  done
  if [[ -f $STATE/pg/data/postmaster.pid || -f $STATE/s3/s3rver.pid ]]; then
    die "already running in $STATE (tests/scale/services.sh stop first)"
  fi
  rm -rf "$STATE"
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  exports=("export REGFS_SERVICES_DIR=$STATE")
  trap 'stop' EXIT  # until every server answers
  for service in "${services[@]}"; do
    "start_$service"
  done
  trap - EXIT
  printf '%s\n' "${exports[@]}"
}

# Stops the s3rver that `start` recorded, by its pid, and only if that pid
# still runs our launcher on this data directory (a pid reused since is
# left alone): SIGTERM, then SIGKILL after 5 s.
stop_s3() {
  local pid i
  [[ -f $STATE/s3/s3rver.pid ]] || return 0
  pid=$(< "$STATE/s3/s3rver.pid")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 0
  tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null |
    grep -qF -- "$S3RVER/launch.js -d $STATE/s3/data " || return 0
  kill -TERM "$pid" 2> /dev/null || true
  kill -CONT "$pid" 2> /dev/null || true  # a stopped one acts once woken
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || return 0
    sleep 0.05
  done
  kill -KILL "$pid" 2> /dev/null || true
}

stop() {
  stop_s3
  if [[ -f $STATE/pg/data/postmaster.pid ]]; then
    as_postgres "$BIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop > /dev/null ||
      die "pg_ctl stop failed (the server stays in $STATE)"
  fi
  rm -rf "$STATE"
}

case ${1:-} in
  start) shift; start "$@" ;;
  stop) stop ;;
  *) die "usage: $0 start [pg] [s3] | stop" ;;
esac
