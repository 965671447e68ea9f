#!/usr/bin/env bash
# Three nodes, one registry: a throwaway PostgreSQL 15 (services.sh) and a
# shared blob directory; three store directories, each mounted by its own
# daemon, act as three machines. Covers (issue 14): push on A, read on B
# and C; ln -sfn on A seen on B and C within 1 s; movers on every node on
# one alias make one chain in a gap-free history that names each change's
# host (this machine: the nodes share it); protected names refused
# for a member on every node; the server restarted under load loses no
# acknowledged move; the server frozen (SIGSTOP) fails changes within the
# configured bound while open files still read, and everything recovers
# after SIGCONT; the listening connections killed (pg_terminate_backend)
# catch up; a node SIGKILLed in the middle of moves leaves fsck clean.
source "$(dirname "$0")/../deploy/lib.sh"
enter_private_mount_namespace "$@"
need_root
need_env REGFS_BINARY
need setpriv "util-linux"
# Each step says when it ended: the test's time is CI's time.
note() { printf '%s: [%3ds] %s\n' "$test_name" "$SECONDS" "$*"; }
# A failure shows the end of every node's log.
die() {
  local n
  for n in a b c; do
    [[ -f ${tmp:-}/node-$n/regfs-mount.log ]] || continue
    printf -- '--- the end of node %s'"'"'s log\n' "$n"
    tail -n 12 "$tmp/node-$n/regfs-mount.log" | cut -c 1-300
  done >&2
  if [[ -n ${REGFS_TEST_PG_URL:-} && -d ${tmp:-}/node-a ]]; then
    echo "--- the last events, and candidate on each node" >&2
    timeout 10 "$R" --store "$tmp/node-a" history models 2>&1 | tail -n 4 >&2
    for n in a b c; do
      echo "node $n: candidate -> $(timeout 5 readlink "$tmp/mnt-$n/models/candidate" 2>&1)" >&2
    done
  fi
  printf '%s: FAIL: %s\n' "$test_name" "$*" >&2
  exit 1
}

readonly R=$REGFS_BINARY
readonly MEMBER=64101 # a uid with no passwd entry: known by its number
tmp=$(make_tmp)
on_exit "rm -rf -- '$tmp'"
export REGFS_SERVICES_DIR=$tmp/services
eval "$(bash "$(dirname "$0")/services.sh" start pg)" ||
  die "cannot start the test PostgreSQL"
on_exit "bash '$(dirname "$0")/services.sh' stop"
readonly PG_DATA=$REGFS_SERVICES_DIR/pg/data
psql_() {
  setpriv --reuid postgres --regid postgres --clear-groups -- \
    /usr/lib/postgresql/15/bin/psql -qtA -h "$REGFS_SERVICES_DIR/pg/socket" \
    -U postgres -d registry -c "$1"
}
# The server's processes: the postmaster and its children.
server_pids() {
  local pm
  pm=$(head -n 1 "$PG_DATA/postmaster.pid")
  echo "$pm" $(ps -o pid= --ppid "$pm")
}

mkdir -p "$tmp/blobs" "$tmp/src"
chmod 755 "$tmp/src"
nodes=(a b c)
for n in "${nodes[@]}"; do
  out=$("$R" init --store "$tmp/node-$n" --metadata "$REGFS_TEST_PG_URL" \
    --blobs "$tmp/blobs") || die "init on node $n failed"
  if [[ $n == a ]]; then
    expect_contains "init on the first node" "initialized an empty shared registry" "$out"
  else
    expect_contains "init on node $n" "joined the existing registry" "$out"
  fi
  # A short bound, so that the frozen-server case below takes seconds.
  echo "timeout = 2" >>"$tmp/node-$n/shared-store.conf"
  mkdir -p "$tmp/mnt-$n"
  "$R" --store "$tmp/node-$n" mount "$tmp/mnt-$n" -o allow_other ||
    die "mount on node $n failed"
  on_exit "unmount_all '$tmp/mnt-$n'; kill_daemons '$tmp/mnt-$n'"
done
note "three nodes mounted on one registry"

# ---- push on A, read on B and C ----
head -c 3000000 /dev/urandom >"$tmp/src/model-0.pt"
head -c 3000000 /dev/urandom >"$tmp/src/model-1.pt"
"$R" --store "$tmp/node-a" push models "$tmp/src/model-0.pt" --alias production >/dev/null
"$R" --store "$tmp/node-a" push models "$tmp/src/model-1.pt" >/dev/null
for n in b c; do
  cmp "$tmp/src/model-0.pt" "$tmp/mnt-$n/models/production" ||
    die "node $n reads other bytes than node a pushed"
done
note "pushed on a, read on b and c"

# ---- a move on A is seen on B and C within 1 s ----
points_at() { [[ $(readlink "$tmp/mnt-$1/models/$2" 2>/dev/null) == "$3" ]]; }
seen_within() { # NODE ALIAS TARGET: polls for at most 1 s
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(readlink "$tmp/mnt-$1/models/$2" 2>/dev/null) == "$3" ]] && return 0
    sleep 0.01
  done
  return 1
}
for target in v1 v0 v1; do
  ln -sfn "$target" "$tmp/mnt-a/models/production"
  for n in b c; do
    seen_within "$n" production "$target" ||
      die "node $n did not see production -> $target within 1 s"
  done
done
note "ln -sfn on a seen on b and c within 1 s"

# ---- movers on every node: one chain, gap-free history ----
"$R" --store "$tmp/node-a" alias set models shared v0 >/dev/null
mover() { # NODE COUNT: moves `shared` back and forth
  local i ok=0
  for ((i = 0; i < $2; i++)); do
    ln -sfn "v$((i % 2))" "$tmp/mnt-$1/models/shared" 2>/dev/null && ((ok += 1))
  done
  echo "$ok"
}
pids=()
for n in "${nodes[@]}"; do
  for m in 1 2; do
    mover "$n" 30 >"$tmp/moved-$n-$m" &
    pids+=($!)
  done
done
for p in "${pids[@]}"; do wait "$p"; done
acknowledged=$(cat "$tmp"/moved-* | awk '{ s += $1 } END { print s }')
((acknowledged > 0)) || die "no mover succeeded"
"$R" --store "$tmp/node-b" history --json >"$tmp/history.json"
python3 - "$tmp/history.json" "$acknowledged" <<'EOF' || die "history check failed"
import json, socket, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
seqs = [e["seq"] for e in events]
assert seqs == list(range(1, len(seqs) + 1)), "history seqs have gaps or are out of order"
# Every node here is this machine: each change, from the CLI or a mount,
# names its host.
host = socket.gethostname()
for e in events:
    assert e.get("host") == host, f"seq {e['seq']}: host {e.get('host')!r}, not {host!r}"
chain = [e for e in events if e.get("alias") == "shared"]
prev = None
moves = 0
for e in chain:
    if prev is not None and e.get("old") is not None:
        assert e["old"] == prev, f"seq {e['seq']}: old {e['old']} but the alias was {prev}"
    if e["event"] == "alias.move":
        moves += 1
    prev = e.get("new")
# ln -sfn onto the target the alias already has moves nothing.
assert moves <= int(sys.argv[2]), f"{moves} moves recorded, {sys.argv[2]} acknowledged"
EOF
note "6 movers on 3 nodes: $acknowledged moves acknowledged, one chain, history gap-free"

# ---- protected names: refused for a member on every node ----
"$R" --store "$tmp/node-a" role grant "$MEMBER" member >/dev/null
"$R" --store "$tmp/node-a" protect production >/dev/null
for n in "${nodes[@]}"; do
  err=$(setpriv --reuid "$MEMBER" --regid "$MEMBER" --clear-groups -- \
    ln -sfn v0 "$tmp/mnt-$n/models/production" 2>&1) &&
    die "a member moved the protected alias on node $n"
  expect_contains "member moving production on node $n" "Operation not permitted" "$err"
  setpriv --reuid "$MEMBER" --regid "$MEMBER" --clear-groups -- \
    ln -sfn v0 "$tmp/mnt-$n/models/cand-$n" ||
    die "a member could not create an alias on node $n"
done
note "protected production refused for a member on a, b and c"

# ---- the server restarted under load: nothing acknowledged is lost ----
# Each change makes a new alias, so that every acknowledged one can be
# looked for afterwards (a failed move followed by a move onto the same
# target would make counts of moves ambiguous).
for n in a b; do
  (
    for ((i = 1; i <= 300; i++)); do
      ln -s v0 "$tmp/mnt-$n/models/load-$n-$i" 2>/dev/null && echo "load-$n-$i"
      [[ -e $tmp/stop-load ]] && break
    done
  ) >"$tmp/load-$n" &
  pids+=($!)
done
sleep 0.3
setpriv --reuid postgres --regid postgres --clear-groups -- \
  /usr/lib/postgresql/15/bin/pg_ctl -D "$PG_DATA" -m fast -w restart \
  -o "-k $REGFS_SERVICES_DIR/pg/socket -c listen_addresses= -c fsync=off" \
  -l "$REGFS_SERVICES_DIR/pg/postgres.log" >/dev/null || die "pg_ctl restart failed"
sleep 1.5
touch "$tmp/stop-load"
wait
"$R" --store "$tmp/node-c" alias ls models >"$tmp/aliases.txt" ||
  die "cannot list the aliases after the restart"
for n in a b; do
  acked=0
  while read -r name; do
    grep -qw -- "$name" "$tmp/aliases.txt" ||
      die "$name was acknowledged on node $n but is not in the registry after the restart"
    ((acked += 1))
  done <"$tmp/load-$n"
  ((acked > 0)) || die "node $n acknowledged no change around the restart"
  note "server restarted under load: node $n's $acked acknowledged aliases are all there"
done
ln -sfn v1 "$tmp/mnt-c/models/candidate" || die "node c cannot move after the restart"
seen_within a candidate v1 || die "node a did not see node c's move after the restart"

# ---- the server frozen: changes fail within the bound, reads go on ----
# Node b has read `stable` and v0 before: it serves them from memory while
# the database is away (aliases as last known), and says since when.
ln -sfn v0 "$tmp/mnt-a/models/stable" || die "cannot make the alias stable"
wait_for "node b sees stable" points_at b stable v0
cat "$tmp/mnt-b/models/stable" >/dev/null
exec 7<"$tmp/mnt-b/models/v0"
view_of() { # NODE: .regfs/whoami's "mount": {"view": ...}
  timeout 5 cat "$tmp/mnt-$1/.regfs/whoami" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["mount"]["view"])'
}
is_stale() { [[ $(view_of "$1") == "stale since "* ]]; }
is_current() { [[ $(view_of "$1") == current ]]; }
is_current b || die "node b's view is not current before the freeze: $(view_of b)"
frozen=$(server_pids)
kill -STOP $frozen
on_exit "kill -CONT $frozen 2>/dev/null"
thaw_and_die() { kill -CONT $frozen; die "$@"; }
start=$SECONDS
ln -sfn v0 "$tmp/mnt-b/models/candidate" 2>/dev/null &&
  thaw_and_die "a move succeeded with the database frozen"
elapsed=$((SECONDS - start))
cmp <(cat <&7) "$tmp/src/model-0.pt" ||
  thaw_and_die "an open version stopped reading with the database frozen"
exec 7<&-
wait_for "node b says its view is stale" is_stale b
# Past the kernel's one-second entry timeout: the lookup reaches the
# daemon, which answers from what it knows (a hung read fails here).
sleep 1.1
[[ $(timeout 5 readlink "$tmp/mnt-b/models/stable") == v0 ]] ||
  thaw_and_die "readlink of a known alias failed with the database frozen"
timeout 5 cmp "$tmp/mnt-b/models/stable" "$tmp/src/model-0.pt" ||
  thaw_and_die "a known alias's version did not read with the database frozen"
stale_view=$(view_of b)
kill -CONT $frozen
((elapsed <= 10)) || die "a move with the database frozen took ${elapsed}s (bound: timeout 2 s)"
wait_for "node b's view is current again" is_current b
# The registry takes changes again (the CLI of node b: its own
# connection), and every daemon shows them.
wait_for "node b's registry takes a change after SIGCONT" \
  "$R" --store "$tmp/node-b" alias set models candidate v0
for n in a b c; do
  wait_for "node $n sees the change after the freeze" points_at "$n" candidate v0
done
# And the daemons take changes again.
wait_for "node b moves an alias after the freeze" ln -sfn v1 "$tmp/mnt-b/models/candidate"
for n in a c; do
  wait_for "node $n sees node b's move after the freeze" points_at "$n" candidate v1
done
note "server frozen: the move failed after ${elapsed}s; open files, known aliases and versions read on (whoami: $stale_view); all recovered"

# ---- the listening connections killed: every node catches up ----
psql_ "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'regfs listener'" >/dev/null ||
  die "cannot terminate the listening connections"
ln -sfn v0 "$tmp/mnt-a/models/candidate"
for n in b c; do
  seen_within "$n" candidate v0 || die "node $n missed a move after its listener was killed"
done
note "listening connections terminated: b and c caught up"

# ---- a node SIGKILLed in the middle of moves: fsck clean ----
(
  for ((i = 0; ; i++)); do ln -sfn "v$((i % 2))" "$tmp/mnt-c/models/shared" 2>/dev/null || true; done
) &
killer=$!
sleep 0.5
kill_daemons "$tmp/mnt-c"
kill "$killer" 2>/dev/null || true
wait "$killer" 2>/dev/null || true
unmount_all "$tmp/mnt-c"
"$R" --store "$tmp/node-c" fsck >"$tmp/fsck.txt" 2>&1 || die "fsck after killing node c: $(cat "$tmp/fsck.txt")"
"$R" --store "$tmp/node-c" mount "$tmp/mnt-c" -o allow_other || die "node c does not mount again"
[[ $(readlink "$tmp/mnt-c/models/shared") == "$(readlink "$tmp/mnt-a/models/shared")" ]] ||
  die "node c and node a disagree on shared after the restart"
note "node c killed mid-move: fsck clean, mounted again, agrees with a"
