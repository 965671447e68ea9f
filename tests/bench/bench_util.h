// Helpers shared by the benchmark harnesses of tests/bench: the clock,
// percentiles, dropping the kernel's caches, and the names of the stores
// that regfs_bench_gen makes (so that the probes can address them without a
// manifest).
//
// Samples: every harness prints its measurements as sample lines,
//   METRIC <TAB> VARIANT <TAB> REP <TAB> VALUE <TAB> UNIT <TAB> BETTER
// (BETTER is "higher" or "lower"), which run.sh completes with the section,
// the baseline variant and the command, and regfs_bench_report renders.
#ifndef REGFS_TESTS_BENCH_BENCH_UTIL_H_
#define REGFS_TESTS_BENCH_BENCH_UTIL_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace regfs::bench {

using Clock = std::chrono::steady_clock;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The p-th percentile (0..100) of `values`, nearest rank; 0 when empty.
// Sorts `values`.
double Percentile(std::vector<double>& values, double p);

// Writes `level` to /proc/sys/vm/drop_caches (1: page cache, 2: dentries
// and inodes, 3: both), after sync() for the levels that drop pages.
// Aborts with a message on failure: a "cold" figure measured with warm
// caches would be a lie.
void DropCaches(int level);

// Store layout of regfs_bench_gen: collections "c0000", "c0001", …;
// versions v0 … v(N-1) in each; aliases "a0", "a1", … with alias j naming
// version j % N.
std::string CollectionName(uint64_t index);
std::string AliasName(uint64_t index);
std::string VersionName(uint64_t number);

// One sample line (see above) on stdout.
void PrintSample(std::string_view metric, std::string_view variant, int rep,
                 double value, std::string_view unit, bool higher_is_better);

// Splits "label=value"; dies with a message if there is no '='.
std::pair<std::string, std::string> SplitLabel(std::string_view arg);

}  // namespace regfs::bench

#endif  // REGFS_TESTS_BENCH_BENCH_UTIL_H_
