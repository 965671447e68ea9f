#!/usr/bin/env bash
# Builds libfuse >= 3.17 (kernel passthrough) from Debian trixie's patched
# source package into a private prefix, as a static library, for regfs to
# link. Debian 12 ships libfuse 3.14; its fuse3 package stays installed for
# fusermount3.
#
# Usage: packaging/build-libfuse.sh [PREFIX]   (default: .deps/libfuse)
#
# It also keeps, in PREFIX/share/examples, the sources of libfuse's
# passthrough_hp example (tests/bench builds it as the reference FUSE file
# system with passthrough); a prefix built without them is built again.
#
# A second run finds PREFIX built and does no network work. The source is
# fetched with a private apt configuration (a deb-src-only list for trixie
# in a temporary directory): the system's apt never sees trixie, so no
# `apt-get install` can pull trixie's libc. apt verifies the download
# against the Debian archive keyring, as it does for any source package.
# Needs: apt, dpkg-dev (dpkg-source), meson, ninja-build, a C compiler
# (packaging/install-deps.sh installs them).
set -euo pipefail

readonly SELF=$(realpath "$0")
readonly REPO=$(dirname "$(dirname "$SELF")")
readonly PREFIX=$(realpath -m "${1:-$REPO/.deps/libfuse}")
readonly MIN_VERSION=3.17
readonly SUITE=trixie
readonly MIRROR=${REGFS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The example's files, from the source tree's example/ directory.
readonly EXAMPLES=(passthrough_hp.cc cxxopts.hpp)

say() { printf 'build-libfuse: %s\n' "$*"; }
die() { printf 'build-libfuse: %s\n' "$*" >&2; exit 1; }

# version_ge A B: whether dotted version A >= B.
version_ge() { [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1) == "$2" ]]; }

installed_version() {
  local pc=$PREFIX/lib/pkgconfig/fuse3.pc
  [[ -f $pc && -f $PREFIX/lib/libfuse3.a ]] || return 1
  local name
  for name in "${EXAMPLES[@]}"; do
    [[ -f $PREFIX/share/examples/$name ]] || return 1
  done
  sed -n 's/^Version: *//p' "$pc"
}

if version=$(installed_version) && version_ge "$version" "$MIN_VERSION"; then
  say "libfuse $version is built in $PREFIX"
  exit 0
fi
[[ -f $PREFIX/lib/libfuse3.a ]] &&
  say "$PREFIX has no share/examples (passthrough_hp's sources): building it again"

for tool in apt-get dpkg-source meson ninja cc; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool is missing: run packaging/install-deps.sh"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/regfs-libfuse.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/src"
printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
  "$MIRROR" "$SUITE" > "$work/sources.list"
apt_private=(
  -o "Dir::Etc::sourcelist=$work/sources.list"
  -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::lists=$work/lists"
  -o "Dir::Cache::archives=$work/archives"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
  -q
)
# apt drops root for downloads to _apt, who cannot write a private mktemp
# directory; the download is still verified against the keyring.
((EUID == 0)) && apt_private+=(-o "APT::Sandbox::User=root")

say "fetching the fuse3 source package from $SUITE (private apt configuration)"
apt-get "${apt_private[@]}" update > "$work/apt.log" 2>&1 ||
  { cat "$work/apt.log" >&2; die "apt-get update of $SUITE's sources failed"; }
(cd "$work/src" && apt-get "${apt_private[@]}" source --download-only fuse3) \
  > "$work/apt.log" 2>&1 ||
  { cat "$work/apt.log" >&2; die "apt-get source fuse3 failed"; }
dsc=$(ls "$work"/src/fuse3_*.dsc)
version=$(sed -n 's/^Version: *//p' "$dsc")
upstream=${version%%-*}
version_ge "$upstream" "$MIN_VERSION" ||
  die "$SUITE has fuse3 $version, older than $MIN_VERSION"

say "building libfuse $version (Debian's patches applied) into $PREFIX"
dpkg-source -x "$dsc" "$work/src/fuse3" > "$work/dpkg-source.log" 2>&1 ||
  { cat "$work/dpkg-source.log" >&2; die "dpkg-source -x failed"; }
staging=$PREFIX.new
rm -rf "$staging"
(cd "$work/src/fuse3" &&
  meson setup "$work/build" --prefix="$staging" --libdir=lib \
    --buildtype=release -Ddefault_library=static -Dutils=false \
    -Dexamples=false -Dtests=false &&
  ninja -C "$work/build" install) > "$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log" >&2; die "building libfuse failed"; }
# The .pc names the staging prefix; point it at the final one.
sed -i "s|$staging|$PREFIX|g" "$staging/lib/pkgconfig/fuse3.pc"
cp "$dsc" "$staging/"
mkdir -p "$staging/share/examples"
for name in "${EXAMPLES[@]}"; do
  cp "$work/src/fuse3/example/$name" "$staging/share/examples/" ||
    die "the source package has no example/$name"
done
rm -rf "$PREFIX"
mkdir -p "$(dirname "$PREFIX")"
mv "$staging" "$PREFIX"
say "libfuse $upstream is built in $PREFIX"
