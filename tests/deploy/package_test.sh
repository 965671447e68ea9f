#!/usr/bin/env bash
# The Debian package: builds it with `cpack -G DEB` from this build tree
# (which first builds the whole tree: run after the build) into a temporary
# directory, checks its metadata (dependencies found by
# dpkg-shlibdeps, fuse3) and its files, extracts it with `dpkg-deb -x` into
# a temporary root and uses what it installs there: regfs --version, the
# mount helper mounting a store with the packaged binary, the unit (the
# verified build-tree unit with /usr/bin/regfs), the man page through
# `man -l`, and the bash completion.
#
# Not `dpkg -i`: installing into a throwaway root (dpkg --root) needs a
# dpkg database and every dependency inside that root; extraction checks the
# same files without touching this machine's package database.
source "$(dirname "$0")/lib.sh"
enter_private_mount_namespace "$@"
need_root
need_env REGFS_BINARY REGFS_BUILD_DIR REGFS_PACKAGING_BUILD_DIR
need cpack "cmake"
need dpkg-deb "dpkg"
need dpkg-shlibdeps "dpkg-dev; CPACK_DEBIAN_PACKAGE_SHLIBDEPS uses it"
need man "man-db"

tmp=$(make_tmp)
on_exit "rm -rf -- '$tmp'"

# ---- build ---------------------------------------------------------------
# Exactly what a user runs. cpack first builds the "preinstall" target,
# i.e. brings the whole build tree up to date (a no-op after a full build):
# a tree that does not build fails here, with the build's output below.
if ! (cd "$REGFS_BUILD_DIR" &&
  cpack -G DEB --config "$REGFS_BUILD_DIR/CPackConfig.cmake" -B "$tmp/pkg") \
  >"$tmp/cpack.log" 2>&1; then
  preinstall_logs=("$tmp"/pkg/_CPack_Packages/*/DEB/PreinstallOutput.log)
  die "cpack -G DEB failed:"$'\n'"$(cat "$tmp/cpack.log")" \
    ${preinstall_logs:+$'\n'"$(grep -E -B3 -A3 'error|Error' "${preinstall_logs[0]}" | tail -n 40)"}
fi
debs=("$tmp"/pkg/regfs_*.deb)
((${#debs[@]} == 1)) || die "expected one regfs_*.deb in $tmp/pkg, found ${#debs[@]}"
deb=${debs[0]}
note "built $(basename "$deb")"

# ---- metadata --------------------------------------------------------------
field() { dpkg-deb --field "$deb" "$1"; }
version=$("$REGFS_BINARY" --version)
expect_eq "Package" regfs "$(field Package)"
expect_eq "Version" "${version#regfs }" "$(field Version)"
expect_eq "Architecture" "$(dpkg --print-architecture)" "$(field Architecture)"
depends=$(field Depends)
# libfuse 3.17 is linked statically; only a REGFS_SYSTEM_FUSE build needs
# Debian's libfuse3-3.
deps=(fuse3 libsqlite3-0 libxxhash0 libc6 libstdc++6)
if ldd "$REGFS_BINARY" | grep -q 'libfuse3[.]so'; then deps+=(libfuse3-3); fi
for dep in "${deps[@]}"; do
  [[ ", $depends," == *", $dep"[\ ,]* ]] || die "Depends lacks $dep: $depends"
done
[[ -n $(field Maintainer) && -n $(field Description) ]] ||
  die "Maintainer or Description is empty"
note "Depends: $depends"

dpkg-deb -e "$deb" "$tmp/control"
for script in postinst postrm; do
  [[ -x $tmp/control/$script ]] || die "control/$script is missing or not executable"
  sh -n "$tmp/control/$script" || die "control/$script is not valid sh"
done

# ---- files -----------------------------------------------------------------
listing=$(dpkg-deb -c "$deb")
# expect_file MODE PATH
expect_file() {
  grep -Eq "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \./$2\$" <<<"$listing" ||
    die "the package lacks $2 with mode $1 owned by root:"$'\n'"$listing"
}
expect_file -rwxr-xr-x usr/bin/regfs
expect_file -rwxr-xr-x usr/sbin/mount.fuse.regfs
expect_file -rw-r--r-- 'usr/lib/systemd/system/regfs@\.service'
expect_file -rw-r--r-- 'usr/lib/systemd/system/regfs-automations@\.service'
expect_file -rw-r--r-- 'usr/share/man/man1/regfs\.1\.gz'
expect_file -rw-r--r-- usr/share/bash-completion/completions/regfs
for example in README.md Dockerfile docker-run.sh compose.yaml podman-run.sh \
  kubernetes.yaml kubernetes-shared.yaml registry.mount regfs-instance.conf; do
  expect_file -rw-r--r-- "usr/share/doc/regfs/examples/${example//./\\.}"
done

root=$tmp/root
dpkg-deb -x "$deb" "$root"
expect_eq "packaged regfs --version" "$version" "$("$root/usr/bin/regfs" --version)"
note "extracted; $root/usr/bin/regfs --version: $version"

# ---- the packaged helper runs the packaged binary ---------------------------
store=$tmp/store
mnt=$tmp/mnt
mkdir "$mnt"
make_store "$store"
on_exit "kill_daemons '$mnt'; unmount_all '$mnt'"
out=$("$root/usr/sbin/mount.fuse.regfs" "$store" "$mnt" -v -o rw,allow_other,_netdev 2>&1) ||
  die "the packaged mount helper failed: $out"
expect_contains "packaged helper -v" \
  "$root/usr/sbin/../bin/regfs --store $store mount $mnt -o rw,allow_other" "$out"
expect_eq "cat through the packaged mount" "weights epoch 5" "$(cat "$mnt/models/production")"
pid=$(daemon_pids "$mnt")
umount "$mnt" || die "umount failed"
wait_for "the packaged daemon to exit" gone "$pid"
note "the packaged mount.fuse.regfs mounted with the packaged regfs"

# ---- the unit: the verified build-tree unit, naming /usr/bin/regfs --------
unit=$root/usr/lib/systemd/system/regfs@.service
grep -qx 'ExecStart=/usr/bin/regfs --store ${REGFS_STORE} mount %f .*' "$unit" ||
  die "the packaged unit does not run /usr/bin/regfs: $(grep ExecStart= "$unit")"
diff <(sed "s|$REGFS_BINARY|/usr/bin/regfs|" \
  "$REGFS_PACKAGING_BUILD_DIR/build-tree/regfs@.service") "$unit" >/dev/null ||
  die "the packaged unit differs from the build-tree unit that systemd_unit_test verifies"
unit=$root/usr/lib/systemd/system/regfs-automations@.service
grep -qx 'ExecStart=/usr/bin/regfs --store ${REGFS_STORE} automation run' "$unit" ||
  die "the packaged automations unit does not run /usr/bin/regfs: $(grep ExecStart= "$unit")"
diff <(sed "s|$REGFS_BINARY|/usr/bin/regfs|" \
  "$REGFS_PACKAGING_BUILD_DIR/build-tree/regfs-automations@.service") "$unit" >/dev/null ||
  die "the packaged automations unit differs from the build-tree unit that systemd_unit_test verifies"

# ---- the man page -------------------------------------------------------------
page=$root/usr/share/man/man1/regfs.1.gz
rendered=$(MANWIDTH=80 man --warnings -l "$page" 2>"$tmp/man.err") ||
  die "man -l failed: $(cat "$tmp/man.err")"
[[ ! -s $tmp/man.err ]] || die "man -l warned: $(cat "$tmp/man.err")"
for section in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS MOUNTING ENVIRONMENT \
  FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
  grep -qx "$section" <<<"$rendered" || die "the man page lacks the section $section"
done
for word in "alias set" "mount.fuse.regfs" "allow_other" "regfs@.service" \
  "fuse.regfs" "user_allow_other" "${version#regfs }"; do
  [[ $rendered == *"$word"* ]] || die "the man page does not mention '$word'"
done
note "man -l renders regfs(1) without warnings"

# ---- bash completion ------------------------------------------------------------
completion=$root/usr/share/bash-completion/completions/regfs
bash -n "$completion" || die "the completion script is not valid bash"
# complete LINE: what the completion offers for LINE (cursor at the end).
complete_line() {
  PATH=$root/usr/bin:$PATH REGFS_STORE=$store bash -c '
    source "$1"
    COMP_LINE=$2 COMP_POINT=${#2}
    read -r -a COMP_WORDS <<<"$2"
    [[ $2 == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _regfs
    printf "%s\n" "${COMPREPLY[*]}"' _ "$completion" "$1" 2>&1
}
expect_contains "complete 'regfs '" "alias" "$(complete_line 'regfs ')"
expect_contains "complete 'regfs '" "mount" "$(complete_line 'regfs ')"
expect_eq "complete 'regfs alias s'" "set" "$(complete_line 'regfs alias s')"
expect_eq "complete 'regfs alias set '" "models" "$(complete_line 'regfs alias set ')"
expect_eq "complete 'regfs alias set models c'" "candidate" \
  "$(complete_line 'regfs alias set models c')"
expect_eq "complete 'regfs resolve models/p'" "models/production" \
  "$(complete_line 'regfs resolve models/p')"
expect_eq "complete 'regfs mount -o ro,allow_o'" "ro,allow_other" \
  "$(complete_line 'regfs mount -o ro,allow_o')"
expect_eq "complete 'regfs unprotect '" "production" "$(complete_line 'regfs unprotect ')"
note "bash completion offers subcommands, store names and mount options"
