#!/usr/bin/env bash
# A registry in a container, the rootless way: a non-root user (uid 20061,
# the store's default role, viewer) starts bubblewrap, which makes new user
# and mount namespaces where the user is uid 1000, with the root-mounted
# (allow_other) registry bound in three times:
#   /data        read-only bind of the mount point itself
#   /mnt/regfs   read-only bind of the directory holding the mount point,
#                with slave propagation (bwrap makes every mount a slave),
#                as packaging/containers/ recommends
#   /rw          read-write bind of the mount point, to reach the daemon
# Inside, it checks what the daemon sees (.regfs/whoami: the outside uid),
# reads through relative alias links, is refused moves (EROFS on /data,
# EACCES from the registry on /rw), and sees an alias moved outside with
# the CLI. Then the daemon is killed: both views answer ENOTCONN; the host
# detaches the dead mount and mounts again (what regfs@.service does): the
# parent bind sees the new mount, the bound mount point stays dead (that
# container would need a restart), and the registry still refuses the
# viewer. Then a member (uid 20062) moves an alias from inside, and the
# history names that outside uid. Last, a pinned volume: a job container
# gets a mount frozen at its start (--as-of now) and keeps reading its
# version while the live alias moves.
source "$(dirname "$0")/lib.sh"
enter_private_mount_namespace "$@"
need_root
need_env REGFS_BINARY
need bwrap "bubblewrap"
need setpriv "util-linux"

readonly viewer_uid=20061 member_uid=20062
regfs() { "$REGFS_BINARY" --store "$store" "$@"; }

tmp=$(make_tmp)
on_exit "rm -rf -- '$tmp'"
store=$tmp/store
make_store "$store"
regfs role grant "$member_uid" member >/dev/null

# The directory holding the mount point is a shared mount of its own, as
# on a systemd host, so that mounts below it propagate to the sandbox.
share=$tmp/share
mnt=$share/registry
mkdir -p "$mnt"
mount --bind "$share" "$share"
mount --make-shared "$share"
on_exit "umount -l '$share'"
on_exit "kill_daemons '$mnt'; unmount_all '$mnt'"
regfs mount "$mnt" -o allow_other || die "regfs mount failed"

ipc=$tmp/ipc
mkdir "$ipc"
chown "$viewer_uid:$viewer_uid" "$ipc"

# sandbox UID SCRIPT: runs SCRIPT with sh as uid 1000 in new namespaces,
# started by UID.
sandbox() {
  local uid=$1 script=$2 dir
  local -a args=(--unshare-all --die-with-parent --uid 1000 --gid 1000
    --proc /proc --dev /dev --tmpfs /tmp --setenv LC_ALL C
    --setenv PATH /usr/bin:/bin --chdir /)
  args+=(--ro-bind /usr /usr)
  for dir in bin sbin lib lib32 lib64 libx32; do
    if [[ -L /$dir ]]; then
      args+=(--symlink "$(readlink "/$dir")" "/$dir")
    elif [[ -d /$dir ]]; then
      args+=(--ro-bind "/$dir" "/$dir")
    fi
  done
  args+=(--ro-bind "$mnt" /data --ro-bind "$share" /mnt/regfs --bind "$mnt" /rw
    --bind "$ipc" /ipc)
  setpriv --reuid="$uid" --regid="$uid" --clear-groups \
    bwrap "${args[@]}" sh -c "$script"
}

# Without unprivileged user namespaces there is no rootless container.
if ! out=$(sandbox "$viewer_uid" 'true' 2>&1); then
  die "bwrap cannot make a user namespace as uid $viewer_uid ($out); enable" \
    "unprivileged user namespaces (sysctl user.max_user_namespaces," \
    "kernel.unprivileged_userns_clone, or the container's seccomp profile)"
fi

# The viewer's sandbox; it reports progress by creating files in /ipc.
inside=$(cat <<'EOF'
set -u
fail() { echo "inside: FAIL: $*" >&2; exit 1; }
wait_file() {
  n=0
  while [ ! -e "/ipc/$1" ]; do
    n=$((n + 1)); [ $n -lt 400 ] || fail "timed out waiting for $1"; sleep 0.05
  done
}
expect() { [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"; }
refused() {  # refused WHAT ERRNO-TEXT COMMAND...
  what=$1 text=$2; shift 2
  if out=$("$@" 2>&1); then fail "$what succeeded"; fi
  case $out in *"$text"*) ;; *) fail "$what: expected '$text', got: $out" ;; esac
}

expect "uid inside" 1000 "$(id -u)"
who=$(cat /data/.regfs/whoami)
case $who in *'"uid":20061'*) ;; *) fail "daemon should see uid 20061: $who" ;; esac
case $who in *'"role":"viewer"'*) ;; *) fail "expected role viewer: $who" ;; esac
echo "inside uid 1000; the daemon sees: $who"

expect "readlink /data/models/production" v1 "$(readlink /data/models/production)"
expect "cat /data/models/production" "weights epoch 5" "$(cat /data/models/production)"
expect "readlink via the parent bind" v1 \
  "$(readlink /mnt/regfs/registry/models/production)"
expect "cat via the parent bind" "weights epoch 9" \
  "$(cat /mnt/regfs/registry/models/latest)"

refused "ln -sf on read-only /data" "Read-only file system" \
  ln -sf v2 /data/models/candidate
refused "ln -sf by a viewer on /rw" "Permission denied" \
  ln -sf v2 /rw/models/candidate
expect "candidate after the refusals" v0 "$(readlink /data/models/candidate)"
touch /ipc/ready

# The store's owner moves candidate to v2 with the CLI, outside.
n=0
until [ "$(readlink /data/models/candidate)" = v2 ]; do
  n=$((n + 1)); [ $n -lt 400 ] || fail "the move outside never showed in /data"
  sleep 0.05
done
echo "the move outside showed inside after about $((n * 50)) ms of polling"
touch /ipc/seen-move

wait_file killed
refused "ls /data after the daemon died" "Transport endpoint is not connected" \
  ls /data/models
refused "ls /mnt/regfs/registry after the daemon died" \
  "Transport endpoint is not connected" ls /mnt/regfs/registry/models
touch /ipc/seen-dead

wait_file restarted
n=0
until [ "$(cat /mnt/regfs/registry/models/production 2>/dev/null)" = "weights epoch 5" ]; do
  n=$((n + 1)); [ $n -lt 400 ] || fail "the restarted mount never reached /mnt/regfs"
  sleep 0.05
done
expect "readlink via the parent bind after the restart" v2 \
  "$(readlink /mnt/regfs/registry/models/candidate)"
refused "ls /data (the bound mount point) after the restart" \
  "Transport endpoint is not connected" ls /data/models
if out=$(ln -sf v0 /mnt/regfs/registry/models/candidate 2>&1); then
  fail "a viewer moved an alias after the restart"
fi
case $out in
  *"Permission denied"* | *"Read-only file system"*) ;;
  *) fail "unexpected refusal after the restart: $out" ;;
esac
echo "after the restart: parent bind live, bound mount point dead, viewer refused: $out"
EOF
)

log=$tmp/sandbox.log
sandbox "$viewer_uid" "$inside" >"$log" 2>&1 &
sandbox_pid=$!
on_exit "kill $sandbox_pid 2>/dev/null"

# step FILE: waits until the sandbox creates /ipc/FILE (fails if it ends).
step() {
  local end=$((SECONDS + deadline_seconds))
  until [[ -e $ipc/$1 ]]; do
    if ! kill -0 "$sandbox_pid" 2>/dev/null; then
      wait "$sandbox_pid" || true
      die "the sandbox ended before '$1':"$'\n'"$(cat "$log")"
    fi
    ((SECONDS < end)) || die "timed out waiting for the sandbox's '$1':"$'\n'"$(cat "$log")"
    sleep 0.05
  done
}

step ready
regfs alias set models candidate v2 >/dev/null || die "regfs alias set failed"
step seen-move

daemon=$(daemon_pids "$mnt")
[[ $daemon =~ ^[0-9]+$ ]] || die "expected one daemon for $mnt, found: $daemon"
kill -KILL "$daemon"
wait_for "the killed daemon to go" gone "$daemon"
touch "$ipc/killed"
step seen-dead

# What regfs@.service does on a crash: ExecStopPost detaches the dead
# mount, Restart= mounts again.
umount -l "$mnt" || die "cannot detach the dead mount"
regfs mount "$mnt" -o allow_other || die "regfs mount (restart) failed"
touch "$ipc/restarted"

if ! wait "$sandbox_pid"; then
  die "the sandbox failed:"$'\n'"$(cat "$log")"
fi
sed "s/^/$test_name: /" "$log"

history=$(regfs history --json)
[[ $history != *"\"uid\":$viewer_uid"* ]] ||
  die "the history records a change by the viewer: $history"

# A member moves an alias from inside; the history names the outside uid.
out=$(sandbox "$member_uid" 'ln -sf v1 /rw/models/candidate && readlink /rw/models/candidate' 2>&1) ||
  die "a member could not move an alias from inside: $out"
expect_eq "candidate after the member's move" v1 "$out"
last=$(regfs history --json | tail -n 1)
expect_contains "the member's move in the history" '"event":"alias.move"' "$last"
expect_contains "the member's move in the history" "\"uid\":$member_uid" "$last"
expect_contains "the member's move in the history" '"interface":"fs"' "$last"
note "a member inside (uid 1000, outside $member_uid) moved candidate; history: $last"

# A pinned volume: a job's container gets a mount frozen when the job
# starts (regfs mount --as-of now); the live alias moves; the job keeps
# reading the version it started with, from an open file and by path.
pinned=$tmp/pinned
mkdir -p "$pinned"
on_exit "unmount_all '$pinned'"
regfs mount "$pinned" --as-of now -o allow_other || die "regfs mount --as-of now failed"
rm -f "$ipc"/pinned-* "$ipc"/moved-live
pinned_script=$(cat <<'EOF'
set -u
fail() { echo "inside: FAIL: $*" >&2; exit 1; }
[ "$(readlink /job/models/candidate)" = v1 ] || fail "pinned candidate is not v1"
exec 3</job/models/candidate
touch /ipc/pinned-ready
n=0
while [ ! -e /ipc/moved-live ]; do
  n=$((n + 1)); [ $n -lt 400 ] || fail "timed out waiting for the live move"; sleep 0.05
done
n=0
until [ "$(readlink /data/models/candidate)" = v2 ]; do
  n=$((n + 1)); [ $n -lt 400 ] || fail "the live move never showed"; sleep 0.05
done
[ "$(readlink /job/models/candidate)" = v1 ] || fail "the pinned alias moved"
[ "$(cat /job/models/candidate)" = "weights epoch 5" ] || fail "pinned content changed"
[ "$(cat <&3)" = "weights epoch 5" ] || fail "the open file changed"
echo "live candidate -> v2, pinned candidate -> v1, open file unchanged"
EOF
)
job_log=$tmp/job.log
setpriv --reuid="$viewer_uid" --regid="$viewer_uid" --clear-groups \
  bwrap --unshare-all --die-with-parent --uid 1000 --gid 1000 \
  --proc /proc --dev /dev --tmpfs /tmp --setenv LC_ALL C \
  --setenv PATH /usr/bin:/bin --ro-bind /usr /usr \
  --symlink usr/bin /bin --symlink usr/sbin /sbin --symlink usr/lib /lib \
  --symlink usr/lib64 /lib64 \
  --ro-bind "$pinned" /job --ro-bind "$mnt" /data --bind "$ipc" /ipc \
  sh -c "$pinned_script" >"$job_log" 2>&1 &
job=$!
on_exit "kill $job 2>/dev/null"
end=$((SECONDS + deadline_seconds))
until [[ -e $ipc/pinned-ready ]]; do
  kill -0 "$job" 2>/dev/null || break
  ((SECONDS < end)) || die "timed out waiting for the pinned job"
  sleep 0.05
done
regfs alias set models candidate v2 >/dev/null || die "regfs alias set failed"
touch "$ipc/moved-live"
wait "$job" || die "the pinned job failed:"$'\n'"$(cat "$job_log")"
note "pinned volume: $(cat "$job_log")"
