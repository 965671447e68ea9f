// regfs_bench_meta: metadata operations per second on collection
// directories: lstat, readlink and open+close of versions (files "vN") and
// aliases (symlinks "aJ"), on 1 and 2 threads, with the kernel's dentry and
// inode caches warm or cold.
//
//   regfs_bench_meta --dir LABEL=DIR [--dir LABEL=DIR]... --versions N
//                    --aliases A [--cold-names M] [benchmark flags]
//
// Each DIR holds the same names (a regfs collection made by
// regfs_bench_gen, its --mirror on ext4, passthrough_ll over that mirror),
// so that the variants are measured side by side in one run (run.sh passes
// --benchmark_enable_random_interleaving).
//
// warm: each thread repeats the operation on one name, so the kernel
// answers from its caches whatever it may cache (a regfs alias's entry
// lives 1 s; readlink and open always reach the daemon).
// cold: drop_caches 2 (dentries and inodes, not the page cache) before
// the timed loop, then every iteration touches a name not touched since:
// each lookup reaches the file system. M names per run, split between the
// threads.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/bench/bench_util.h"

namespace regfs::bench {
namespace {

struct Variant {
  std::string label;
  std::string dir;
};

enum class Op { kLstat, kReadlink, kOpenClose };
enum class Kind { kVersion, kAlias };

std::string OpName(Op op) {
  switch (op) {
    case Op::kLstat:
      return "lstat";
    case Op::kReadlink:
      return "readlink";
    case Op::kOpenClose:
      return "open+close";
  }
  return "?";
}

// 0 on success, else errno.
int DoOp(Op op, const std::string& path) {
  switch (op) {
    case Op::kLstat: {
      struct stat st;
      return ::lstat(path.c_str(), &st) == 0 ? 0 : errno;
    }
    case Op::kReadlink: {
      char buf[256];
      return ::readlink(path.c_str(), buf, sizeof(buf)) >= 0 ? 0 : errno;
    }
    case Op::kOpenClose: {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return errno;
      ::close(fd);
      return 0;
    }
  }
  return EINVAL;
}

// The paths of `kind` under `dir`: M names spread over the range.
std::vector<std::string> Paths(const std::string& dir, Kind kind,
                               uint64_t count, uint64_t available) {
  std::vector<std::string> paths;
  const uint64_t stride = std::max<uint64_t>(1, available / count);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t index = (i * stride) % available;
    paths.push_back(
        dir + "/" +
        (kind == Kind::kVersion ? VersionName(index) : AliasName(index)));
  }
  return paths;
}

void Fail(benchmark::State& state, int err, const std::string& path) {
  const std::string message = path + ": " + std::strerror(err);
  state.SkipWithError(message.c_str());
}

void Warm(benchmark::State& state, Op op,
          const std::vector<std::string>* paths) {
  const std::string& path =
      (*paths)[static_cast<size_t>(state.thread_index()) % paths->size()];
  if (const int err = DoOp(op, path)) return Fail(state, err, path);
  for (auto _ : state) {
    if (const int err = DoOp(op, path)) return Fail(state, err, path);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void Cold(benchmark::State& state, Op op,
          const std::vector<std::string>* paths) {
  if (state.thread_index() == 0) DropCaches(2);
  const size_t threads = static_cast<size_t>(state.threads());
  size_t i = static_cast<size_t>(state.thread_index());
  for (auto _ : state) {
    const std::string& path = (*paths)[i % paths->size()];
    i += threads;
    if (const int err = DoOp(op, path)) return Fail(state, err, path);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

struct Options {
  std::vector<Variant> variants;
  uint64_t versions = 0;
  uint64_t aliases = 0;
  uint64_t cold_names = 10000;
};

// Our flags, after benchmark::Initialize took its own.
Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string> {
      if (!arg.starts_with(flag)) return std::nullopt;
      return std::string(arg.substr(flag.size()));
    };
    if (auto v = value("--dir=")) {
      auto [label, dir] = SplitLabel(*v);
      options.variants.push_back({label, dir});
    } else if (auto v = value("--versions=")) {
      options.versions = std::stoull(*v);
    } else if (auto v = value("--aliases=")) {
      options.aliases = std::stoull(*v);
    } else if (auto v = value("--cold-names=")) {
      options.cold_names = std::stoull(*v);
    } else {
      std::fprintf(stderr, "regfs_bench_meta: unknown argument %s\n", argv[i]);
      std::exit(2);
    }
  }
  if (options.variants.empty() || options.versions == 0 ||
      options.aliases == 0) {
    std::fprintf(stderr,
                 "usage: regfs_bench_meta --dir=LABEL=DIR... --versions=N "
                 "--aliases=A [--cold-names=M] [benchmark flags]\n");
    std::exit(2);
  }
  return options;
}

void Register(const Options& options) {
  // Owned for the program's life: the benchmarks keep pointers.
  static std::vector<std::unique_ptr<std::vector<std::string>>> lists;
  const std::pair<Op, Kind> cases[] = {
      {Op::kLstat, Kind::kVersion},   {Op::kLstat, Kind::kAlias},
      {Op::kReadlink, Kind::kAlias},  {Op::kOpenClose, Kind::kVersion},
      {Op::kOpenClose, Kind::kAlias},
  };
  for (const auto& [op, kind] : cases) {
    const uint64_t available =
        kind == Kind::kVersion ? options.versions : options.aliases;
    const uint64_t cold = std::min(options.cold_names, available);
    const std::string what =
        OpName(op) + (kind == Kind::kVersion ? " version" : " alias");
    for (const Variant& v : options.variants) {
      lists.push_back(std::make_unique<std::vector<std::string>>(
          Paths(v.dir, kind, 2, available)));
      const auto* warm_paths = lists.back().get();
      lists.push_back(std::make_unique<std::vector<std::string>>(
          Paths(v.dir, kind, cold, available)));
      const auto* cold_paths = lists.back().get();
      for (int threads : {1, 2}) {
        benchmark::RegisterBenchmark(
            (what + " warm:" + v.label).c_str(),
            [op, warm_paths](benchmark::State& s) { Warm(s, op, warm_paths); })
            ->Threads(threads)
            ->UseRealTime();
        benchmark::RegisterBenchmark(
            (what + " cold:" + v.label).c_str(),
            [op, cold_paths](benchmark::State& s) { Cold(s, op, cold_paths); })
            ->Iterations(static_cast<benchmark::IterationCount>(
                cold / static_cast<uint64_t>(threads)))
            ->Threads(threads)
            ->UseRealTime();
      }
    }
  }
}

}  // namespace
}  // namespace regfs::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  regfs::bench::Register(regfs::bench::ParseOptions(argc, argv));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
