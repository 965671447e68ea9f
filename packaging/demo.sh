#!/usr/bin/env bash
# The README's first command: installs what is missing, builds regfs
# (Release, into build/), creates a demo registry at demo/store with example
# data, and mounts it at demo/mnt. Re-running starts fresh: the old demo
# mount is unmounted and the old store removed.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly repo=$PWD
readonly demo=$repo/demo
readonly store=$demo/store
readonly mnt=$demo/mnt
readonly examples=$demo/examples
readonly bin=$repo/build/regfs

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# Shows a command the way a user would type it, then runs it.
run() {
  local shown=() arg
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./=:@,+-]+$ ]]; then
      shown+=("$arg")
    else
      shown+=("\"$arg\"")
    fi
  done
  printf '$ %s\n' "${shown[*]}"
  "$@"
}
# `regfs` as the user will call it (with REGFS_STORE exported below).
regfs() { "$bin" "$@"; }

# True if PATH is a mount point, also when its daemon died and left it
# answering "Transport endpoint is not connected" (so no stat of PATH).
is_mounted() {
  local path=$1 escaped
  escaped=${path// /\\040}
  awk -v p="$escaped" '$2 == p { found = 1 } END { exit !found }' /proc/self/mounts
}

unmount_old_demo() {
  is_mounted "$mnt" || return 0
  echo "demo: unmounting the previous demo mount at $mnt"
  fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null ||
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  local _
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    is_mounted "$mnt" || return 0
    sleep 0.2
  done
  die "$mnt is still mounted; unmount it (fusermount3 -u $mnt) and run again"
}

say "installing missing packages (packaging/install-deps.sh)"
packaging/install-deps.sh

say "building regfs (Release, into build/; the tests are built by tests/run.sh)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build --target regfs -j"$(nproc)"
[[ -x $bin ]] || die "the build did not produce $bin"

say "creating a fresh demo store at demo/store"
unmount_old_demo
rm -rf -- "$store" "$examples"
mkdir -p "$demo" "$mnt"
packaging/examples/make-examples.sh "$examples"
export REGFS_STORE=$store
echo "(below, regfs is build/regfs with REGFS_STORE=demo/store; the files" \
     "pushed are fake artifacts from packaging/examples/make-examples.sh)"
cd "$examples"

run regfs init
run regfs push models model/v0/model.pt --tag baseline \
  --meta epoch=1 --meta val_acc=0.71 --description "first training run"
run regfs push models model/v1/model.pt --alias candidate \
  --meta epoch=5 --meta val_acc=0.84
run regfs push models model/v2/model.pt --tag best \
  --meta epoch=9 --meta val_acc=0.88
run regfs alias set models production v1
run regfs protect production
run regfs tag add models/v1 reviewed
cd zoo
run regfs push zoo-dataset zoo_dataset.pt zoo_labels.pt \
  --alias production-us --alias production-eu
cd "$repo"

say "the registry"
run regfs ls
run regfs ls models
run regfs history

say "mounting it at demo/mnt"
run build/regfs mount --store demo/store demo/mnt
run ls -l demo/mnt
run ls -l demo/mnt/models
run head demo/mnt/models/.history

cat <<MSG

regfs: the demo registry is mounted at demo/mnt (store: demo/store).
  Try:      cat demo/mnt/models/latest; readlink demo/mnt/models/production
            getfattr -d demo/mnt/models/v1; cat demo/mnt/.regfs/history
  The CLI:  export REGFS_STORE=$store; build/regfs --help
  Unmount:  fusermount3 -u demo/mnt
MSG
