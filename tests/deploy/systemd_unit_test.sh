#!/usr/bin/env bash
# The systemd units:
#  1. `systemd-analyze verify` accepts regfs@.service and
#     regfs-automations@.service (the build-tree copies, which run the regfs
#     built here) and the registry.mount example, with
#     no warning at all (verify exits 0 on unknown keys and bad values, so
#     any output fails the test), including their man:regfs(1) page;
#  2. the service's command lines do what the unit relies on, run the way
#     systemd runs them (there is no systemd manager here): ExecStartPre
#     refuses an instance without REGFS_STORE; ExecStart (Type=forking)
#     returns with the registry mounted and ready; SIGTERM (systemctl stop)
#     unmounts and ends the daemon; after a SIGKILL (a crash), ExecStopPost
#     detaches the dead mount and ExecStart (Restart=on-failure) mounts
#     again;
#  3. regfs-automations@.service's: ExecStartPre refuses an instance
#     without REGFS_STORE; ExecStart (`regfs automation run`, Type=exec)
#     delivers an alias move to a command automation; SIGTERM ends it with
#     exit 0.
source "$(dirname "$0")/lib.sh"
enter_private_mount_namespace "$@"
need_root
need_env REGFS_BINARY REGFS_PACKAGING_BUILD_DIR
need systemd-analyze "systemd"
need systemd-escape "systemd"
need man "man-db"

readonly unit_template=$REGFS_PACKAGING_BUILD_DIR/build-tree/regfs@.service
readonly automations_template=$REGFS_PACKAGING_BUILD_DIR/build-tree/regfs-automations@.service
readonly mount_example=$(dirname "$0")/../../packaging/systemd/registry.mount
[[ -f $unit_template ]] || die "no unit at $unit_template (build the project first)"
[[ -f $automations_template ]] || die "no unit at $automations_template (build the project first)"
[[ -f $mount_example ]] || die "no example mount unit at $mount_example"

tmp=$(make_tmp)
on_exit "rm -rf -- '$tmp'"
mnt=$tmp/mnt
mkdir "$mnt"
on_exit "kill_daemons '$mnt'; unmount_all '$mnt'"
store=$tmp/store
make_store "$store"

# ---- 1. systemd-analyze verify -------------------------------------------
mkdir "$tmp/units"
cp "$unit_template" "$tmp/units/regfs@.service"
cp "$automations_template" "$tmp/units/regfs-automations@.service"
cp "$mount_example" "$tmp/units/registry.mount"
instance=$(systemd-escape --path "$mnt")
# The command lines below go through the shell: keep the instance free of
# systemd-escape's \xNN (make_tmp's names are).
[[ $instance != *\\* ]] || die "choose a mount point whose escaped name has no '\\': $instance"
# Documentation=man:regfs(1) is checked with `man`: point it at the page
# built here.
export MANPATH=$REGFS_PACKAGING_BUILD_DIR/man
for unit in "regfs@$instance.service" "regfs-automations@$instance.service" \
  registry.mount; do
  out=$(systemd-analyze verify "$tmp/units/$unit" 2>&1) ||
    die "systemd-analyze verify $unit failed: $out"
  [[ -z $out ]] || die "systemd-analyze verify $unit warned: $out"
done
note "systemd-analyze verify: regfs@$instance.service, regfs-automations@$instance.service and registry.mount are clean"

# ---- 2. the unit's command lines, run as systemd runs them ----------------
# unit_lines KEY: the values of KEY= in the unit under test, one per line.
unit=regfs@.service
unit_lines() { sed -n "s/^$1=//p" "$tmp/units/$unit"; }
# Settings the way systemd applies them: Environment=, then the
# EnvironmentFile= (which overrides), specifiers %i and %f, "$$" -> "$".
# The unit's fixed directories are moved into $tmp: /etc/regfs (the
# instance configs) and /var/log/regfs (LogsDirectory=, which systemd
# creates).
mkdir -p "$tmp/etc/regfs" "$tmp/log"
conf=$tmp/etc/regfs/$instance.conf
run_unit_command() {
  local line=$1 ignore_failure=0
  if [[ $line == -* ]]; then
    ignore_failure=1
    line=${line#-}
  fi
  line=${line//%i/$instance}
  line=${line//%f/$mnt}
  line=${line//'$$'/'$'}
  line=${line//\/etc\/regfs\//$tmp/etc/regfs/}
  line=${line//\/var\/log\/regfs\//$tmp/log/}
  local -a env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  local setting
  while IFS= read -r setting; do
    env+=("$setting")
  done < <(unit_lines Environment)
  [[ -f $conf ]] || die "EnvironmentFile $conf is missing"
  while IFS= read -r setting; do
    [[ $setting =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && env+=("$setting")
  done <"$conf"
  # systemd expands ${VAR} into one word; so does this with paths
  # without blanks.
  if env -i "${env[@]}" bash -c 'eval "set -- $1"; exec "$@"' _ "$line"; then
    return 0
  fi
  ((ignore_failure))
}

exec_start_pre=$(unit_lines ExecStartPre)
exec_start=$(unit_lines ExecStart)
exec_stop_post=$(unit_lines ExecStopPost)
[[ -n $exec_start_pre && -n $exec_start && -n $exec_stop_post ]] ||
  die "the unit lacks ExecStartPre=, ExecStart= or ExecStopPost="
grep -qx 'Type=forking' "$tmp/units/regfs@.service" || die "the unit is not Type=forking"
grep -qx 'Restart=on-failure' "$tmp/units/regfs@.service" || die "the unit does not restart on failure"

# An instance config without the store: refused before mounting.
printf '# no store\n' >"$conf"
set +e
out=$(run_unit_command "$exec_start_pre" 2>&1)
rc=$?
set -e
((rc != 0)) || die "ExecStartPre accepted a config without REGFS_STORE"
expect_contains "ExecStartPre without REGFS_STORE" "set REGFS_STORE in" "$out"

printf 'REGFS_STORE=%s\nREGFS_MOUNT_OPTIONS=allow_other\n' "$store" >"$conf"

# start: ExecStartPre, ExecStart; returns with the registry ready.
start_service() {
  run_unit_command "$exec_start_pre" || die "ExecStartPre failed"
  run_unit_command "$exec_start" || die "ExecStart failed (exit $?)"
  is_mounted "$mnt" || die "ExecStart returned, but nothing is mounted at $mnt"
  expect_eq "after start: cat production" "weights epoch 5" \
    "$(cat "$mnt/models/production")"
  main_pid=$(daemon_pids "$mnt")
  [[ $main_pid =~ ^[0-9]+$ ]] || die "expected one daemon for $mnt, found: $main_pid"
}

start_service
[[ -s $tmp/log/$instance.log ]] || die "the daemon did not log to $tmp/log/$instance.log"
note "ExecStart returned with the registry mounted and readable (Type=forking)"

# systemctl stop: SIGTERM to the main process; the daemon unmounts itself.
kill -TERM "$main_pid"
wait_for "the daemon to exit on SIGTERM" gone "$main_pid"
is_mounted "$mnt" && die "the daemon exited on SIGTERM but left $mnt mounted"
run_unit_command "$exec_stop_post" || die "ExecStopPost failed"
note "SIGTERM (systemctl stop): the daemon unmounted and exited"

# A crash: the mount is left dead until ExecStopPost detaches it; then
# Restart=on-failure runs ExecStart again.
start_service
kill -KILL "$main_pid"
wait_for "the killed daemon to go" gone "$main_pid"
set +e
out=$(ls "$mnt/models" 2>&1)
rc=$?
set -e
((rc != 0)) || die "the mount of a killed daemon still answers"
expect_contains "ls on the mount of a killed daemon" "Transport endpoint is not connected" "$out"
run_unit_command "$exec_stop_post" || die "ExecStopPost failed"
is_mounted "$mnt" && die "ExecStopPost left the dead mount at $mnt"
start_service
note "after a crash: ExecStopPost detached the dead mount, ExecStart mounted again"
kill -TERM "$main_pid"
wait_for "the restarted daemon to exit on SIGTERM" gone "$main_pid"
is_mounted "$mnt" && die "the restarted daemon left $mnt mounted"

# ---- 3. regfs-automations@.service, run as systemd runs it -----------------
unit=regfs-automations@.service
exec_start_pre=$(unit_lines ExecStartPre)
exec_start=$(unit_lines ExecStart)
[[ -n $exec_start_pre && -n $exec_start ]] ||
  die "$unit lacks ExecStartPre= or ExecStart="
grep -qx 'Type=exec' "$tmp/units/$unit" || die "$unit is not Type=exec"
grep -qx 'Restart=on-failure' "$tmp/units/$unit" || die "$unit does not restart on failure"
printf '# no store\n' >"$conf"
set +e
out=$(run_unit_command "$exec_start_pre" 2>&1)
rc=$?
set -e
((rc != 0)) || die "$unit: ExecStartPre accepted a config without REGFS_STORE"
expect_contains "$unit: ExecStartPre without REGFS_STORE" "set REGFS_STORE in" "$out"
printf 'REGFS_STORE=%s\n' "$store" >"$conf"
run_unit_command "$exec_start_pre" || die "$unit: ExecStartPre failed"

# A command automation appends each move to a file.
events=$tmp/events
"$REGFS_BINARY" --store "$store" automation add tell --on alias.move \
  --exec "cat >>'$events'" >/dev/null || die "automation add failed"
(run_unit_command "$exec_start") &
service=$!
on_exit "pkill -KILL -P $service 2>/dev/null || true"
"$REGFS_BINARY" --store "$store" alias set models candidate v2 >/dev/null ||
  die "alias set failed"
delivered() { [[ -s $events ]] && grep -q '"alias.move"' "$events"; }
wait_for "$unit to deliver the move" delivered
expect_contains "$unit: the delivered event" '"alias":"candidate"' "$(tr -d ' ' <"$events")"
# systemctl stop: SIGTERM to the main process (regfs, the subshell's child).
runner=$(pgrep -P "$service") || die "$unit: no regfs under the service's shell"
kill -TERM "$runner"
wait "$service" || die "$unit: regfs automation run did not exit 0 on SIGTERM"
note "$unit: ExecStart delivered a move, SIGTERM ended it with exit 0"
true
