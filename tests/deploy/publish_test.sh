#!/usr/bin/env bash
# Publishing from a container that sees only the mount (issue "members
# publish new versions through the mount"): a member (uid 20062, not the
# store's owner) starts bubblewrap, which makes new user and mount
# namespaces where the member is uid 1000, with the registry bound at
# /registry and the regfs binary at /opt/regfs. Inside, with plain shell
# tools and the CLI:
#   - the Valohai flow: cp to a draft, a .metadata.json sidecar naming an
#     alias, mv onto latest;
#   - a tree with cp -r and with rsync -a, published by mv onto an alias;
#   - the W&B example: `regfs --store /registry push zoo-dataset ...
#     --alias production-us --alias production-eu` prints the new version;
#   - refusals change nothing: a protected alias (EPERM), a kind mismatch
#     (EINVAL); the draft stays.
# Outside, the history names the member (the outside uid) as the creator
# of every version it published, interface fs, and fsck is clean. A viewer
# cannot even write a draft (EACCES).
source "$(dirname "$0")/lib.sh"
enter_private_mount_namespace "$@"
need_root
need_env REGFS_BINARY
need bwrap "bubblewrap"
need setpriv "util-linux"
need rsync "rsync"

readonly viewer_uid=20061 member_uid=20062
regfs() { "$REGFS_BINARY" --store "$store" "$@"; }

tmp=$(make_tmp)
on_exit "rm -rf -- '$tmp'"
store=$tmp/store
make_store "$store"
regfs role grant "$member_uid" member >/dev/null
mnt=$tmp/registry
mkdir -p "$mnt"
on_exit "kill_daemons '$mnt'; unmount_all '$mnt'"
regfs mount "$mnt" -o allow_other || die "regfs mount failed"

# sandbox UID SCRIPT: runs SCRIPT with sh as uid 1000 in new namespaces,
# started by UID; prints what it prints.
sandbox() {
  local uid=$1 script=$2 dir
  local -a args=(--unshare-all --die-with-parent --uid 1000 --gid 1000
    --proc /proc --dev /dev --tmpfs /tmp --setenv LC_ALL C
    --setenv PATH /usr/bin:/bin --chdir /tmp)
  args+=(--ro-bind /usr /usr)
  for dir in bin sbin lib lib32 lib64 libx32; do
    if [[ -L /$dir ]]; then
      args+=(--symlink "$(readlink "/$dir")" "/$dir")
    elif [[ -d /$dir ]]; then
      args+=(--ro-bind "/$dir" "/$dir")
    fi
  done
  args+=(--bind "$mnt" /registry --ro-bind "$REGFS_BINARY" /opt/regfs)
  setpriv --reuid="$uid" --regid="$uid" --clear-groups \
    bwrap "${args[@]}" sh -c "$script"
}

if ! out=$(sandbox "$member_uid" 'true' 2>&1); then
  die "bwrap cannot make a user namespace as uid $member_uid ($out); enable" \
    "unprivileged user namespaces (sysctl user.max_user_namespaces," \
    "kernel.unprivileged_userns_clone, or the container's seccomp profile)"
fi

inside=$(cat <<'EOF'
set -u
fail() { echo "inside: FAIL: $*" >&2; exit 1; }
expect() { [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"; }
refused() {  # refused WHAT ERRNO-TEXT COMMAND...
  what=$1 text=$2; shift 2
  if out=$("$@" 2>&1); then fail "$what succeeded"; fi
  case $out in *"$text"*) ;; *) fail "$what: expected '$text', got: $out" ;; esac
}
expect "uid inside" 1000 "$(id -u)"

# The Valohai flow, with plain shell.
printf 'weights epoch 12\n' > model.pt
cp model.pt /registry/models/.model.pt || fail "cp to a draft"
echo '{"valohai.alias": "model-prod", "valohai.tags": ["nightly"]}' \
  > /registry/models/.model.pt.metadata.json || fail "writing the sidecar"
mv /registry/models/.model.pt /registry/models/latest || fail "mv onto latest"
expect "model-prod" v3 "$(readlink /registry/models/model-prod)"
expect "latest" v3 "$(readlink /registry/models/latest)"
expect "the published bytes" "weights epoch 12" "$(cat /registry/models/model-prod)"
[ ! -e /registry/models/.model.pt ] || fail "the draft is still there"
[ ! -e /registry/models/.model.pt.metadata.json ] || fail "the sidecar is still there"
echo "valohai flow: model-prod -> $(readlink /registry/models/model-prod)"

# Refusals change nothing: a protected alias, a kind mismatch.
printf 'weights epoch 13\n' > /registry/models/.next.pt
refused "mv onto the protected production" "Operation not permitted" \
  mv /registry/models/.next.pt /registry/models/production
expect "production after the refusal" v1 "$(readlink /registry/models/production)"
expect "latest after the refusal" v3 "$(readlink /registry/models/latest)"
expect "the refused draft" "weights epoch 13" "$(cat /registry/models/.next.pt)"
mkdir /registry/models/.dir && printf x > /registry/models/.dir/f
# (rename(2) says EINVAL, which mv words as a move into itself.)
refused "a tree draft into a file collection" "subdirectory of itself" \
  mv /registry/models/.dir /registry/models/fresh
[ ! -e /registry/models/fresh ] || fail "the refused tree draft made an alias"
rm -r /registry/models/.dir /registry/models/.next.pt || fail "rm of drafts"

# Trees: cp -r and rsync -a.
mkdir -p data/sub && printf 'a\n' > data/a.txt && printf 'b\n' > data/sub/b.txt
mkdir /registry/zoo || fail "mkdir of a collection"
cp -r data /registry/zoo/.data || fail "cp -r to a draft"
mv /registry/zoo/.data /registry/zoo/candidate || fail "mv of a tree onto an alias"
expect "zoo/candidate" v0 "$(readlink /registry/zoo/candidate)"
expect "a file of the tree" b "$(cat /registry/zoo/candidate/sub/b.txt)"
printf 'c\n' > data/c.txt
rsync -a data/ /registry/zoo/.data/ || fail "rsync -a to a draft"
# A directory cannot replace a symlink (the kernel refuses it): a tree
# draft is published onto a new alias name, and latest follows.
mv /registry/zoo/.data /registry/zoo/nightly || fail "mv of the rsync draft"
expect "zoo/nightly" v1 "$(readlink /registry/zoo/nightly)"
expect "zoo/latest" v1 "$(readlink /registry/zoo/latest)"
expect "the rsynced file" c "$(cat /registry/zoo/latest/c.txt)"
echo "trees: candidate -> v0 (cp -r), nightly -> v1 (rsync -a)"

# The W&B example, with the CLI through the mount.
printf 'zoo data\n' > zoo_dataset.pt && printf 'zoo labels\n' > zoo_labels.pt
out=$(/opt/regfs --store /registry push zoo-dataset zoo_dataset.pt \
  zoo_labels.pt --alias production-us --alias production-eu 2>&1) ||
  fail "regfs push through the mount: $out"
case $out in *"zoo-dataset/v0"*) ;; *) fail "push printed: $out" ;; esac
expect "production-us" v0 "$(readlink /registry/zoo-dataset/production-us)"
expect "production-eu" v0 "$(readlink /registry/zoo-dataset/production-eu)"
expect "a pushed file" "zoo labels" "$(cat /registry/zoo-dataset/v0/zoo_labels.pt)"
echo "regfs push through the mount: $out"
EOF
)

out=$(sandbox "$member_uid" "$inside" 2>&1) || die "the member's sandbox failed:"$'\n'"$out"
sed "s/^/$test_name: /" <<<"$out"

# Outside: the member created every version it published, through the
# mount; nothing else was published; the store is consistent.
history=$(regfs history --json)
creations=$(grep '"event":"version.create"' <<<"$history") ||
  die "no version.create in the history"
for what in models/v3 zoo/v0 zoo/v1 zoo-dataset/v0; do
  row=$(grep -F "\"collection\":\"${what%/*}\"" <<<"$creations" |
    grep -F "\"new\":\"${what#*/}\"") || die "no creation of $what: $creations"
  expect_contains "the creation of $what" "\"uid\":$member_uid" "$row"
  expect_contains "the creation of $what" '"interface":"fs"' "$row"
done
expect_eq "versions created" 7 "$(wc -l <<<"$creations")"
regfs fsck >/dev/null || die "fsck is not clean after the publishes"

# A viewer cannot write a draft.
out=$(sandbox "$viewer_uid" 'printf x > /registry/models/.v.pt' 2>&1) &&
  die "a viewer wrote a draft"
expect_contains "a viewer's draft" "Permission denied" "$out"
note "a member published from a container; the history names uid $member_uid"
