#!/usr/bin/env bash
# Installs every Debian package that regfs needs to build, mount and run its
# tests (Debian 12 "bookworm"). Does no apt work at all when everything is
# already installed; otherwise runs `apt-get update` once and installs only
# what is missing. Needs root (or sudo) only when something is missing.
#
# Usage: packaging/install-deps.sh [--check]
#   --check   only report what is missing; exit 1 if anything is.
set -euo pipefail

# Build: compiler, CMake, pkg-config and the libraries of DESIGN.md.
# Mount: fuse3 (fusermount3, /etc/fuse.conf).
# Tests and demo: attr (getfattr/setfattr), procps (pgrep/ps), coreutils
# (ln, readlink, stat, tail), util-linux (mountpoint, findmnt, setpriv,
# runuser), diffutils (cmp), findutils (find), passwd (useradd), tar,
# rsync (publishing drafts with rsync -a).
# Containers and packaging (tests/deploy): bubblewrap (bwrap), systemd
# (systemd-analyze verify), dpkg-dev and fakeroot (cpack -G DEB), man-db
# (man -l of the man page).
# Shared store (issue 14): libpq-dev (the PostgreSQL engine) and
# postgresql-15 (initdb/pg_ctl of the throwaway server in the tests).
# Automations (issue 16): libcurl4-openssl-dev (webhook delivery) and
# libssl-dev (their HMAC-SHA256 signatures). The web view (`regfs serve`):
# libcpp-httplib-dev (its HTTP server) and chromium (its browser test).
# Benchmarks (tests/bench): Google Benchmark, fio, hyperfine, linux-perf.
# Fuzzing (tests/fuzz) and the thread-safety compile of tests/run.sh:
# clang 19 (bookworm main), with libFuzzer (clang 14 lacks the C++23
# std::expected of GCC 12's libstdc++). ccache: for developers' own
# trees (-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); tests/run.sh does not use
# it (see there).
# Blobs in S3 (issue 17): Node.js and npm run the tests' local S3 server
# (packaging/install-s3rver.sh); a Node.js that the machine already has,
# from any source, is used as it is, so Debian's packages are added only
# for a tool that is missing.
PACKAGES=(
  build-essential g++ cmake pkg-config
  libfuse3-dev fuse3
  libsqlite3-dev sqlite3
  libpq-dev postgresql-15
  libcurl4-openssl-dev libssl-dev
  libcpp-httplib-dev chromium
  libxxhash-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libcli11-dev nlohmann-json3-dev
  attr procps coreutils util-linux diffutils findutils passwd tar rsync
  bubblewrap systemd dpkg-dev fakeroot man-db
  libbenchmark-dev fio hyperfine linux-perf
  clang-19 libclang-rt-19-dev
  meson ninja-build ccache
)
command -v node > /dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm > /dev/null 2>&1 || PACKAGES+=(npm)
readonly PACKAGES

check_only=0
case "${1:-}" in
  --check) check_only=1 ;;
  "") ;;
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "install-deps: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps: dpkg-query not found: this script is for Debian 12 (or a" \
       "Debian-based system). Install the equivalents of: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if ((check_only)); then
  exit 1
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: installing packages needs root. Run:" >&2
  echo "  sudo $0" >&2
  echo "or install them yourself:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=300)
apt-get "${apt_opts[@]}" update
apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${#missing[@]} package(s)"
