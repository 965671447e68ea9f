# Shared by the deployment tests (sourced; bash).
#
# Each test runs as root, fails (never skips) with a message saying what is
# missing, and removes what it made: mounts, daemons and its temporary
# directory, in reverse order, whatever way it exits (the EXIT trap). Tests
# that mount re-run themselves in a private mount namespace first
# (enter_private_mount_namespace), so that nothing they mount is visible
# outside, not even after a crash.
#
# Environment (set by tests/deploy/CMakeLists.txt): REGFS_BINARY, the regfs
# built here; REGFS_BUILD_DIR; REGFS_PACKAGING_BUILD_DIR, with the
# build-tree copies of the mount helper and the unit.
set -euo pipefail
shopt -s nullglob

test_name=$(basename "$0" .sh)
readonly test_name
deadline_seconds=20  # for waits on things that take milliseconds

die() {
  printf '%s: FAIL: %s\n' "$test_name" "$*" >&2
  exit 1
}
note() { printf '%s: %s\n' "$test_name" "$*"; }

# need TOOL WHY: fails unless TOOL is on PATH.
need() {
  command -v "$1" >/dev/null 2>&1 ||
    die "'$1' is missing ($2); install it: packaging/install-deps.sh"
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (it mounts and acts as several users)"
}

need_env() {
  local var
  for var in "$@"; do
    [[ -n ${!var:-} ]] || die "$var is not set (run through ctest)"
  done
}

# Cleanup actions, run last-registered first on exit.
cleanup_actions=()
on_exit() { cleanup_actions+=("$*"); }
run_cleanup() {
  local status=$? i
  for ((i = ${#cleanup_actions[@]} - 1; i >= 0; i--)); do
    eval "${cleanup_actions[i]}" || true
  done
  if ((status == 0)); then
    note "PASS"
  fi
  exit "$status"
}
trap run_cleanup EXIT
trap 'exit 130' INT TERM

# Re-runs this script in a new mount namespace whose mounts propagate
# nowhere. Call first, with "$@".
enter_private_mount_namespace() {
  if [[ -z ${REGFS_DEPLOY_PRIVATE_NS:-} ]]; then
    need unshare "util-linux"
    trap - EXIT
    REGFS_DEPLOY_PRIVATE_NS=1 exec unshare --mount --propagation private \
      -- bash "$0" "$@"
  fi
}

# make_tmp: a fresh directory (mode 0755, so that other uids reach mount
# points inside), removed on exit; prints its path.
make_tmp() {
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/regfs_$test_name.XXXXXX")
  chmod 755 "$dir"
  printf '%s\n' "$dir"
}

# is_mounted PATH: true if something is mounted at PATH (also a dead FUSE
# mount: no stat of PATH).
is_mounted() {
  awk -v p="$1" '$5 == p { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# fs_type PATH: the type of the topmost mount at PATH ("fuse.regfs").
fs_type() {
  awk -v p="$1" '$5 == p { for (i = 7; $i != "-"; i++) {} t = $(i + 1) }
                 END { print t }' /proc/self/mountinfo
}

# unmount_all PATH: unmounts everything stacked at PATH (lazily if busy).
unmount_all() {
  local tries=0
  while is_mounted "$1" && ((tries++ < 20)); do
    umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
  done
}

# daemon_pids MOUNTPOINT: the pids of regfs processes serving MOUNTPOINT
# (argv[0] is regfs, one argument is exactly MOUNTPOINT; not the daemon's
# watchdog, which has the same command line and is named regfs-watchdog).
daemon_pids() {
  local proc
  for proc in /proc/[0-9]*; do
    [[ $(cat "$proc/comm" 2>/dev/null) == regfs ]] || continue
    tr '\0' '\n' 2>/dev/null <"$proc/cmdline" |
      awk -v m="$1" 'NR == 1 && $0 !~ /(^|\/)regfs$/ { exit 1 }
                     $0 == m { found = 1 } END { exit !found }' &&
      printf '%s\n' "${proc#/proc/}"
  done
  return 0
}

# gone PID: true once PID has exited (a zombie counts: the daemon's parent
# may be an init that does not reap).
gone() {
  local state
  state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) ||
    return 0
  [[ -z $state || $state == Z ]]
}

# wait_for DESCRIPTION COMMAND...: polls COMMAND until it succeeds; fails
# the test after deadline_seconds.
wait_for() {
  local what=$1
  shift
  local end=$((SECONDS + deadline_seconds))
  until "$@"; do
    ((SECONDS < end)) || die "timed out after ${deadline_seconds}s waiting for: $what"
    sleep 0.05
  done
}

# kill_daemons MOUNTPOINT: SIGKILLs what still serves MOUNTPOINT (cleanup).
kill_daemons() {
  local pid
  for pid in $(daemon_pids "$1"); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  [[ $2 == "$3" ]] || die "$1: expected '$2', got '$3'"
}

# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
  [[ $3 == *"$2"* ]] || die "$1: expected to contain '$2', got: $3"
}

# A store with a file collection `models`:
#   v0 "weights epoch 1", v1 "weights epoch 5", v2 "weights epoch 9"
#   candidate -> v0, production -> v1 (protected), latest -> v2
# make_store DIR [COMMAND...]: COMMAND (e.g. setpriv ...) runs regfs, so
# that its user becomes the store's owner.
make_store() {
  local store=$1 src
  shift
  local -a regfs=("$@" "$REGFS_BINARY" --store "$store")
  src=$(mktemp -d "${TMPDIR:-/tmp}/regfs_$test_name.src.XXXXXX")
  chmod 755 "$src"
  printf 'weights epoch 1\n' >"$src/model-1.pt"
  printf 'weights epoch 5\n' >"$src/model-5.pt"
  printf 'weights epoch 9\n' >"$src/model-9.pt"
  {
    "${regfs[@]}" init
    "${regfs[@]}" push models "$src/model-1.pt" --alias candidate
    "${regfs[@]}" push models "$src/model-5.pt" --alias production
    "${regfs[@]}" push models "$src/model-9.pt"
    "${regfs[@]}" protect production
  } >/dev/null || die "cannot create the test store at $store"
  rm -rf -- "$src"
}
