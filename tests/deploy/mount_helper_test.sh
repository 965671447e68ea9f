#!/usr/bin/env bash
# The mount helper, mount.fuse.regfs (the build-tree copy, which runs the
# regfs built here):
#  1. called directly the way mount(8) calls it, with the options mount(8)
#     and fstab pass along: mounts, is ready when it returns, serves other
#     users (allow_other), and `umount` stops the daemon;
#  2. -f (fake), -v, usage errors and a failed mount (exit 1 and 32);
#  3. setuid=nobody: the daemon runs as that user;
#  4. util-linux itself: `mount -t fuse.regfs` and `mount --fstab FILE MNT`
#     with the helper visible as /sbin/mount.fuse.regfs, in this test's
#     private mount namespace only.
source "$(dirname "$0")/lib.sh"
enter_private_mount_namespace "$@"
need_root
need_env REGFS_BINARY REGFS_PACKAGING_BUILD_DIR
need mount "util-linux"
need setpriv "util-linux"
need fusermount3 "fuse3"

readonly helper=$REGFS_PACKAGING_BUILD_DIR/build-tree/mount.fuse.regfs
[[ -x $helper ]] || die "no mount helper at $helper (build the project first)"

tmp=$(make_tmp)
on_exit "rm -rf -- '$tmp'"
store=$tmp/store
mnt=$tmp/mnt
mkdir "$mnt"
on_exit "kill_daemons '$mnt'; unmount_all '$mnt'"
make_store "$store"
readonly reader_uid=20051

# check_mounted_and_stop HOW: the registry is mounted at $mnt and ready:
# reads through an alias as root and as another user; then umount stops
# the daemon.
check_mounted_and_stop() {
  local how=$1 pids pid
  is_mounted "$mnt" || die "$how: nothing mounted at $mnt"
  expect_eq "$how: type" "fuse.regfs" "$(fs_type "$mnt")"
  expect_eq "$how: readlink production" "v1" "$(readlink "$mnt/models/production")"
  expect_eq "$how: cat production" "weights epoch 5" "$(cat "$mnt/models/production")"
  expect_eq "$how: cat as uid $reader_uid (allow_other)" "weights epoch 9" \
    "$(setpriv --reuid=$reader_uid --regid=$reader_uid --clear-groups \
      cat "$mnt/models/latest")"
  pids=$(daemon_pids "$mnt")
  [[ -n $pids ]] || die "$how: no regfs daemon serves $mnt"
  umount "$mnt" || die "$how: umount $mnt failed"
  is_mounted "$mnt" && die "$how: still mounted after umount"
  for pid in $pids; do
    wait_for "$how: daemon $pid to exit after umount" gone "$pid"
  done
  note "$how: mounted, read through aliases, umount stopped the daemon"
}

# ---- 1. as mount(8) calls it, with every option fstab may pass ----------
"$helper" "$store" "$mnt" -o \
  rw,allow_other,_netdev,nofail,noauto,user,users,nouser,defaults,x-systemd.automount,X-mount.mkdir,comment=regfs,relatime,nosuid,nodev ||
  die "the helper failed (exit $?)"
check_mounted_and_stop "helper -o <fstab options>"

# ---- 2. -f, -v, errors ---------------------------------------------------
out=$("$helper" "$store" "$mnt" -f -v -o rw,allow_other,_netdev 2>&1) ||
  die "helper -f -v failed: $out"
expect_contains "helper -v" \
  "$REGFS_BINARY --store $store mount $mnt -o rw,allow_other" "$out"
is_mounted "$mnt" && die "helper -f (fake) mounted"

set +e
out=$("$helper" "$store" 2>&1)
rc=$?
set -e
expect_eq "helper with one argument: exit code" 1 "$rc"
expect_contains "helper usage" "usage:" "$out"

set +e
out=$("$helper" "$tmp/no-such-store" "$mnt" -o allow_other 2>&1)
rc=$?
set -e
expect_eq "helper on a missing store: exit code" 32 "$rc"
expect_contains "helper on a missing store" "no-such-store" "$out"
is_mounted "$mnt" && die "a failed mount left $mnt mounted"
note "-f, -v, usage error (1) and failed mount (32) behave"

# ---- 3. setuid=USER: the daemon runs as the store's owner ---------------
# Without allow_other: it needs user_allow_other in /etc/fuse.conf for a
# non-root daemon, which this test leaves alone. Only the owner reads.
# A non-root daemon opens /dev/fuse itself (then fusermount3 mounts): udev
# makes it mode 0666; a machine without udev may have 0600. Then give this
# namespace (only) a 0666 node of the same device.
if [[ $(stat -c %a /dev/fuse) != 666 ]]; then
  mknod -m 0666 "$tmp/fuse" c "$((16#$(stat -c %t /dev/fuse)))" \
    "$((16#$(stat -c %T /dev/fuse)))"
  mount --bind "$tmp/fuse" /dev/fuse
  on_exit "umount -l /dev/fuse"
fi
mkdir "$tmp/nobody"
chown nobody: "$tmp/nobody"
owned_store=$tmp/nobody/store
make_store "$owned_store" setpriv --reuid=nobody --regid=nogroup --clear-groups
owned_mnt=$tmp/nobody-mnt
mkdir "$owned_mnt"
chown nobody: "$owned_mnt"
on_exit "kill_daemons '$owned_mnt'; unmount_all '$owned_mnt'"
"$helper" "$owned_store" "$owned_mnt" -o rw,setuid=nobody,_netdev ||
  die "helper -o setuid=nobody failed"
pid=$(daemon_pids "$owned_mnt")
[[ -n $pid ]] || die "setuid=nobody: no daemon serves $owned_mnt"
expect_eq "setuid=nobody: daemon uid" "$(id -u nobody)" \
  "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")"
whoami=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
  cat "$owned_mnt/.regfs/whoami")
expect_contains "setuid=nobody: whoami of the owner" '"role":"admin"' "$whoami"
umount "$owned_mnt" || die "umount $owned_mnt failed"
wait_for "the nobody daemon to exit" gone "$pid"
note "setuid=nobody: the daemon ran as nobody, the owner is admin"

# ---- 4. util-linux mount(8) finds the helper in /sbin ----------------------
# mount(8) looks for /sbin/mount.fuse.regfs only. In this private mount
# namespace, /sbin (usr/sbin) is replaced by a directory of links to the
# real one plus the helper; nothing outside sees it.
sbin=$(readlink -f /sbin)
mkdir "$tmp/sbin.real" "$tmp/sbin"
mount --bind "$sbin" "$tmp/sbin.real"
on_exit "umount -l '$tmp/sbin.real'"
for f in "$tmp"/sbin.real/*; do
  ln -s "$f" "$tmp/sbin/${f##*/}"
done
ln -sf "$helper" "$tmp/sbin/mount.fuse.regfs"
mount --bind "$tmp/sbin" "$sbin"
on_exit "umount -l '$sbin'"
[[ -x /sbin/mount.fuse.regfs ]] || die "cannot put the helper at /sbin/mount.fuse.regfs"

# -v: mount(8) passes it on, and the helper then shows its command line,
# which proves that mount(8) ran it (not mount.fuse3).
out=$(mount -v -t fuse.regfs "$store" "$mnt" -o allow_other 2>&1) ||
  die "mount -t fuse.regfs failed (exit $?): $out"
expect_contains "mount -v -t fuse.regfs" \
  "mount.fuse.regfs: $REGFS_BINARY --store $store mount $mnt -o rw,allow_other" "$out"
check_mounted_and_stop "mount -t fuse.regfs"

printf '%s %s fuse.regfs allow_other,_netdev,nofail,x-systemd.requires=network-online.target 0 0\n' \
  "$store" "$mnt" >"$tmp/fstab"
out=$(mount -v --fstab "$tmp/fstab" "$mnt" 2>&1) ||
  die "mount --fstab failed (exit $?): $out"
expect_contains "mount -v --fstab" \
  "mount.fuse.regfs: $REGFS_BINARY --store $store mount $mnt -o rw,allow_other" "$out"
check_mounted_and_stop "mount --fstab (fstab line)"
