#!/usr/bin/env bash
# Builds regfs and runs every test, FUSE integration tests included, twice:
# a Release build in build/ and an AddressSanitizer + UndefinedBehavior-
# Sanitizer build in build-asan/; between them, a clang-19 -Wthread-safety
# compile of the libraries in build-tsa/ checks the lock annotations.
# Installs missing Debian packages and the tests' S3 server first
# (packaging/install-deps.sh, packaging/install-s3rver.sh; quick no-ops
# when all are present).
# Exits non-zero if any step fails. Run as root (or with sudo): the mount
# tests act as several users.
#
# Environment: REGFS_TEST_JOBS (ctest -j, default 3: most tests wait on
# mounts, servers and subprocesses rather than compute), REGFS_TEST_TIMEOUT
# (seconds per test, default 600), REGFS_SKIP_ASAN=1 (only the Release run;
# for quick local checks, never in CI).
set -euo pipefail

cd "$(dirname "$0")/.."
readonly jobs=${REGFS_TEST_JOBS:-3}
readonly timeout=${REGFS_TEST_TIMEOUT:-600}
build_jobs=$(nproc)
readonly build_jobs

# Each step's line carries the clock and the seconds since the start, so a
# CI log shows where the time goes.
say() { printf '\n==> [%s, %d s] %s\n' "$(date -u +%T)" "$SECONDS" "$*"; }
die() { printf 'regfs: %s\n' "$*" >&2; exit 1; }

say "installing missing packages (packaging/install-deps.sh)"
packaging/install-deps.sh
# The tests' local S3 server (issue 17), from the committed npm lock file
# into .deps/s3rver; no npm work at all when it is already installed.
say "installing the tests' S3 server (packaging/install-s3rver.sh)"
packaging/install-s3rver.sh

# The integration tests mount for real; without /dev/fuse they cannot run,
# and a test run that silently left them out would claim more than it did.
if [[ ! -c /dev/fuse ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v modprobe >/dev/null 2>&1; then
    modprobe fuse 2>/dev/null || true
  fi
  [[ -c /dev/fuse ]] || die "the FUSE integration tests need /dev/fuse, and this machine has none.
  Load the module (sudo modprobe fuse), or in a container pass the device and
  the capability: docker run --device /dev/fuse --cap-add SYS_ADMIN ..."
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "regfs: note: not running as root; the mount tests that act as other" \
       "users (setresuid) need root: run 'sudo $0'" >&2
fi

total_passed=0
total_failed=0
failed_steps=()
# The tests that failed, with their tree, and the failure lines of their
# output: printed again at the very end, where a CI log's tail shows them
# (ctest prints them during its own run, which a later step's output
# pushes out of view).
failed_tests=()
failure_excerpts=$(mktemp "${TMPDIR:-/tmp}/regfs-failures.XXXXXX")
trap 'rm -f "$failure_excerpts"' EXIT

# run_ctest DIR [CTEST_ARGS...]: runs the tests in DIR (every one, unless
# CTEST_ARGS select), adds their counts to the totals.
run_ctest() {
  local dir=$1 log rc line line_failed
  shift
  log=$(mktemp "${TMPDIR:-/tmp}/regfs-ctest.XXXXXX")
  set +e
  ctest --test-dir "$dir" --output-on-failure --no-tests=error \
    --timeout "$timeout" -j"$jobs" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  # "100% tests passed, 0 tests failed out of 42"
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' \
         "$log" | tail -n 1 || true)
  # "The following tests FAILED:" then lines like
  # "	 123 - fs.ReadTest.Name (Failed)"
  while IFS= read -r line_failed; do
    failed_tests+=("$dir: ${line_failed#"${line_failed%%[![:space:]]*}"}")
  done < <(sed -n '/^The following tests FAILED:/,/^[^[:space:]]/{/^[[:space:]]/p}' "$log")
  # Each failed test's output (--output-on-failure) runs from its
  # " 12/345 Test #N: name ...***Failed" line (the count is padded to the
  # total's width) to the next test's line; keep its assertion and
  # sanitizer lines, with some context.
  awk -v dir="$dir" '
    /^ *Start +[0-9]+: / || /^ *[0-9]+\/[0-9]+ Test +#/ || /^[0-9]+% tests passed/ { keep = 0 }
    /^ *[0-9]+\/[0-9]+ Test +#[0-9]+: .*[*][*][*](Failed|Timeout|Exception)/ {
      keep = 1; print "--- " dir ": " $0; next }
    keep' "$log" |
    grep -E -A8 '^--- |: Failure$|FAILED|Timeout|ERROR|runtime error|terminate called' |
    head -n 200 >> "$failure_excerpts" || true
  rm -f "$log"
  if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    total_failed=$((total_failed + BASH_REMATCH[1]))
    total_passed=$((total_passed + BASH_REMATCH[2] - BASH_REMATCH[1]))
  fi
  if ((rc != 0)); then
    failed_steps+=("tests in $dir")
  fi
}

# build_and_test DIR CMAKE_ARGS...: configures, builds, and tests one tree.
build_and_test() {
  local dir=$1
  shift
  say "configuring $dir ($*)"
  if ! configure "$dir" "$@"; then
    failed_steps+=("configure $dir")
    return
  fi
  say "building $dir"
  if ! cmake --build "$dir" -j"$build_jobs"; then
    failed_steps+=("build $dir")
    return
  fi
  say "testing $dir"
  run_ctest "$dir" "${ctest_extra[@]}"
}

# Extra ctest arguments for the next build_and_test (none for Release).
ctest_extra=()

# configure DIR CMAKE_ARGS...: cmake for DIR. A new tree uses Ninja, which
# keeps both cores busy across targets; a tree configured before keeps its
# generator (cmake refuses to change it). No ccache: the trees persist, so
# a second run of this command recompiles only what changed anyway, and
# with precompiled headers ccache cost more than it saved (it hashes the
# 150 MB header for every file: 0.8 s of a 1.9 s compile, measured).
configure() {
  local dir=$1
  shift
  local generator=()
  [[ -f $dir/CMakeCache.txt ]] || generator=(-G Ninja)
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_CXX_COMPILER_LAUNCHER= "$@"
}

# check_thread_safety: compiles the libraries (no link, no tests) with
# clang's -Wthread-safety, which checks the lock contracts written as
# GUARDED_BY/REQUIRES (registry/thread_annotations.h); -Werror makes a
# broken contract fail the step. Build type None: no optimizer, a quick
# compile.
check_thread_safety() {
  local dir=build-tsa
  say "configuring $dir (clang-19 -Wthread-safety, compile only)"
  if ! CC=clang-19 CXX=clang++-19 configure "$dir" \
      -DCMAKE_BUILD_TYPE=None -DREGFS_BUILD_TESTS=OFF \
      -DCMAKE_CXX_FLAGS=-Wthread-safety; then
    failed_steps+=("configure $dir")
    return
  fi
  say "compiling the libraries in $dir (thread-safety analysis)"
  if ! cmake --build "$dir" -j"$build_jobs" \
      --target registry regfs_fs regfs_cli; then
    failed_steps+=("thread-safety compile in $dir")
  fi
}

build_and_test build -DCMAKE_BUILD_TYPE=Release -DREGFS_BUILD_TESTS=ON
check_thread_safety

# The variant for the system's libfuse (3.14 on Debian 12, no passthrough):
# the daemon and the mount tests of reading, run against it.
fuse314_dir=build-system-fuse
say "configuring $fuse314_dir (-DREGFS_SYSTEM_FUSE=ON)"
if ! configure "$fuse314_dir" -DCMAKE_BUILD_TYPE=Release \
     -DREGFS_BUILD_TESTS=ON -DREGFS_SYSTEM_FUSE=ON; then
  failed_steps+=("configure $fuse314_dir")
elif ! cmake --build "$fuse314_dir" -j"$build_jobs" --target regfs fs_mount_tests; then
  failed_steps+=("build $fuse314_dir")
else
  say "testing $fuse314_dir (reads through the daemon)"
  run_ctest "$fuse314_dir" -R '^fs[.](Read|Passthrough|Integrity)Test[.]'
fi

if [[ ${REGFS_SKIP_ASAN:-0} == 1 ]]; then
  echo "regfs: REGFS_SKIP_ASAN=1: skipping the sanitizer build" >&2
else
  # Any sanitizer report fails the test that triggered it.
  export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  # -Og, not RelWithDebInfo's -O2: the sanitizers find the same faults,
  # and the tree compiles in a third of the time (89 s -> 27 s for the
  # largest test file on a 2-core machine), which keeps the whole test
  # command well inside CI's hour.
  # The registry's domain suite repeated on PostgreSQL (registry_pg.*,
  # ~550 tests, 5.5 min in Release) runs in the Release tree only: the
  # sanitizers see the same domain code in registry_tests, and the
  # PostgreSQL engine's own tests (*/Postgres, registry_postgres_tests,
  # CliSharedTest) still run here. Together they would take the test
  # command near CI's hour. Likewise the deployment tests (the mount
  # helper, the systemd unit, the container, the package: what they check
  # is the packaging, not the code) and the headless browser's page checks
  # (web_test and web_serve_test run here) run in the Release tree only:
  # about a minute of this step's wall time.
  ctest_extra=(-E '^registry_pg[.]' -LE '^(deploy|browser)$')
  # -g1: line tables, all that a sanitizer's stack trace needs, at a
  # fraction of full debug information's compile and link time.
  build_and_test build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-Og -g1 -DNDEBUG" \
    -DREGFS_SANITIZE=ON -DREGFS_BUILD_TESTS=ON
fi

say "done"
if ((${#failed_steps[@]} == 0)); then
  if [[ ${REGFS_SKIP_ASAN:-0} == 1 ]]; then
    echo "regfs: every step passed (Release build, system-libfuse variant," \
         "thread-safety compile; sanitizer build skipped)"
  else
    echo "regfs: every step passed (Release and sanitizer builds," \
         "system-libfuse variant, thread-safety compile)"
  fi
  echo "tests: $total_passed passed, $total_failed failed"
  exit 0
fi
printf 'regfs: FAILED: %s\n' "${failed_steps[@]}" >&2
if [[ -s $failure_excerpts ]]; then
  printf '\nregfs: what the failed tests printed (excerpts):\n' >&2
  cat "$failure_excerpts" >&2
fi
if ((${#failed_tests[@]} > 0)); then
  printf 'regfs: failed test: %s\n' "${failed_tests[@]}" >&2
fi
echo "tests: $total_passed passed, $total_failed failed"
exit 1
