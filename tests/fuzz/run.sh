#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-19 (AddressSanitizer and
# UndefinedBehaviorSanitizer, every regfs library instrumented) in
# build-fuzz/ and runs each one for a bounded time.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]
#
# SECONDS_PER_TARGET defaults to 60; TARGETs default to all of: names
# link_target metadata time history_render. Each run starts from
# tests/fuzz/corpus/TARGET/ and keeps what it learns in
# build-fuzz/corpus/TARGET/. A failing input is written to
# build-fuzz/crashes/TARGET/; copy it into tests/fuzz/regressions/TARGET/
# so that fuzz_regression_test (the normal GCC build, in CI) replays it.
# Exits 1 if any target found a failing input. Environment: REGFS_FUZZ_BUILD
# (build directory, default build-fuzz), REGFS_FUZZ_JOBS (build -j, 2),
# REGFS_FUZZ_KEEP_GOING=1 (libFuzzer's fork mode: go on past failing
# inputs, so that a known bug does not end the run).
set -euo pipefail

cd "$(dirname "$0")/../.."
readonly seconds=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(names link_target metadata time history_render)
fi
readonly build=${REGFS_FUZZ_BUILD:-build-fuzz}
readonly sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DREGFS_FUZZ=ON \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link $sanitizers" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link $sanitizers" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" >/dev/null
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$build" -j"${REGFS_FUZZ_JOBS:-2}" --target "${build_targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
keep_going=()
if [[ ${REGFS_FUZZ_KEEP_GOING:-0} == 1 ]]; then
  keep_going=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
found=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  printf '\n==> fuzz_%s for %s s\n' "$t" "$seconds"
  set +e
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 "${keep_going[@]}" \
    -artifact_prefix="$crashes/" "$corpus" "tests/fuzz/corpus/$t" \
    2>&1 | grep -E '^(#[0-9]+ +DONE|stat::(number_of_executed_units|new_units_added)|==[0-9]+==ERROR|SUMMARY|FUZZ CHECK|.*runtime error|artifact_prefix|Test unit written|INFO: fuzzed for)' | sort -u || true
  set -e
  if compgen -G "$crashes/*" >/dev/null; then
    found+=("$t: $(ls "$crashes" | wc -l) failing input(s) in $crashes")
  fi
done

echo
if ((${#found[@]} == 0)); then
  echo "fuzz: no failing input in ${#targets[@]} target(s), $seconds s each"
  exit 0
fi
printf 'fuzz: %s\n' "${found[@]}"
echo "copy them into tests/fuzz/regressions/TARGET/ (fuzz_regression_test replays them)"
exit 1
