#include "tests/bench/bench_util.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace regfs::bench {

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(index, values.size() - 1)];
}

void DropCaches(int level) {
  // Dirty pages cannot be dropped; dentries and inodes need no sync.
  if (level & 1) ::sync();
  const int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  const std::string text = fmt::format("{}\n", level);
  if (fd < 0 || ::write(fd, text.data(), text.size()) !=
                    static_cast<ssize_t>(text.size())) {
    std::fprintf(stderr,
                 "regfs-bench: cannot drop caches (/proc/sys/vm/drop_caches):"
                 " %s; cold figures need root\n",
                 std::strerror(errno));
    std::exit(1);
  }
  ::close(fd);
}

std::string CollectionName(uint64_t index) {
  return fmt::format("c{:04}", index);
}
std::string AliasName(uint64_t index) { return fmt::format("a{}", index); }
std::string VersionName(uint64_t number) { return fmt::format("v{}", number); }

void PrintSample(std::string_view metric, std::string_view variant, int rep,
                 double value, std::string_view unit, bool higher_is_better) {
  fmt::print("{}\t{}\t{}\t{:.6g}\t{}\t{}\n", metric, variant, rep, value, unit,
             higher_is_better ? "higher" : "lower");
  std::fflush(stdout);
}

std::pair<std::string, std::string> SplitLabel(std::string_view arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string_view::npos) {
    std::fprintf(stderr, "regfs-bench: expected LABEL=VALUE, got '%.*s'\n",
                 static_cast<int>(arg.size()), arg.data());
    std::exit(2);
  }
  return {std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1))};
}

}  // namespace regfs::bench
