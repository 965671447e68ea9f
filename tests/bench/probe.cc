// regfs_bench_probe: measurements that are distributions or processes
// rather than rates, printed as sample lines (bench_util.h).
//
//   latency  per-operation latency (p50, p99) of lookups or readlinks of
//            random names of a regfs_bench_gen store
//   ttfb     time to the first byte of `cat PATH`, for several paths in
//            turn
//   load     random lstat, readlink and open+close over a whole store from
//            several threads for a while (the "under load" of the RSS
//            figures); prints the rate it reached
//   visible  an alias moved with `ln -sfn` through one mount, and the time
//            until another mount of the same shared store shows the move
//            (p50, p99, max)
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/bench/bench_util.h"

extern char** environ;

namespace regfs::bench {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "regfs_bench_probe: %s\n", message.c_str());
  std::exit(1);
}

// A store made by regfs_bench_gen, seen through a directory (a mount).
struct StoreShape {
  std::string root;
  uint64_t collections = 1;
  uint64_t versions_per = 1;
  uint64_t aliases_per = 0;

  std::string Dir(uint64_t c) const { return root + "/" + CollectionName(c); }
};

void AddShapeOptions(CLI::App* cmd, StoreShape& shape) {
  cmd->add_option("--root", shape.root, "Mount point of the store")->required();
  cmd->add_option("--collections", shape.collections, "Collections");
  cmd->add_option("--versions-per", shape.versions_per,
                  "Versions per collection");
  cmd->add_option("--aliases-per", shape.aliases_per, "Aliases per collection");
}

// ---- latency ----

struct LatencyArgs {
  StoreShape shape;
  std::string op = "lookup";  // lookup | readlink
  uint64_t samples = 1000;
  uint64_t seed = 1;
  std::string metric;
  std::string variant;
  int rep = 0;
};

int RunLatency(const LatencyArgs& args) {
  const StoreShape& s = args.shape;
  const bool readlink = args.op == "readlink";
  if (!readlink && args.op != "lookup") Die("--op is lookup or readlink");
  const uint64_t per = readlink ? s.aliases_per : s.versions_per;
  if (per == 0) Die("the store has no names of that kind");
  // Distinct (collection, index) pairs, as many as asked and possible.
  std::mt19937_64 rng(args.seed);
  const uint64_t space = s.collections * per;
  const uint64_t n = std::min(args.samples, space);
  std::set<std::pair<uint64_t, uint64_t>> chosen;
  while (chosen.size() < n) {
    const uint64_t k = rng() % space;
    chosen.insert({k / per, k % per});
  }
  std::vector<std::pair<uint64_t, uint64_t>> order(chosen.begin(),
                                                   chosen.end());
  std::shuffle(order.begin(), order.end(), rng);

  // lookup: every name cold (dentries dropped), its collection warm, so
  // that each timed lstat is exactly one FUSE LOOKUP.
  // readlink: the alias's dentry warm, so each timed call is one READLINK.
  if (!readlink) DropCaches(2);
  struct stat st;
  std::set<uint64_t> dirs;
  for (const auto& [c, i] : order) dirs.insert(c);
  for (uint64_t c : dirs) ::stat(s.Dir(c).c_str(), &st);
  std::vector<double> micros;
  micros.reserve(order.size());
  char buf[64];
  for (const auto& [c, i] : order) {
    const std::string path =
        s.Dir(c) + "/" + (readlink ? AliasName(i) : VersionName(i));
    if (readlink && ::lstat(path.c_str(), &st) != 0) {
      Die(path + ": " + std::strerror(errno));
    }
    const auto start = Clock::now();
    const bool ok = readlink ? ::readlink(path.c_str(), buf, sizeof(buf)) > 0
                             : ::lstat(path.c_str(), &st) == 0;
    const double us = SecondsSince(start) * 1e6;
    if (!ok) Die(path + ": " + std::strerror(errno));
    micros.push_back(us);
  }
  PrintSample(args.metric + " p50", args.variant, args.rep,
              Percentile(micros, 50), "us", false);
  PrintSample(args.metric + " p99", args.variant, args.rep,
              Percentile(micros, 99), "us", false);
  return 0;
}

// ---- ttfb ----

struct TtfbArgs {
  std::vector<std::string> paths;  // LABEL=PATH
  int reps = 10;
  int drop = 0;  // drop_caches level before each sample; 0: none
  std::string metric;
};

// Milliseconds from spawning `cat path` to its first byte on our pipe.
double TimeToFirstByte(const std::string& path) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) Die("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const char* argv[] = {"cat", path.c_str(), nullptr};
  pid_t pid = 0;
  const auto start = Clock::now();
  const int err = posix_spawnp(&pid, "cat", &actions, nullptr,
                               const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (err != 0) Die(std::string("spawn cat: ") + std::strerror(err));
  char c;
  ssize_t n;
  while ((n = ::read(fds[0], &c, 1)) < 0 && errno == EINTR) {
  }
  const double ms = SecondsSince(start) * 1e3;
  ::close(fds[0]);  // cat dies of SIGPIPE
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (n != 1) Die(path + ": cat printed nothing");
  return ms;
}

int RunTtfb(const TtfbArgs& args) {
  std::vector<std::pair<std::string, std::string>> variants;
  for (const auto& p : args.paths) variants.push_back(SplitLabel(p));
  for (int rep = 0; rep < args.reps; ++rep) {
    for (size_t k = 0; k < variants.size(); ++k) {
      // Rotate the order so that no variant always runs first.
      const auto& [label, path] = variants[(k + rep) % variants.size()];
      if (args.drop) DropCaches(args.drop);
      PrintSample(args.metric, label, rep, TimeToFirstByte(path), "ms", false);
    }
  }
  return 0;
}

// ---- load ----

struct LoadArgs {
  StoreShape shape;
  unsigned threads = 2;
  double seconds = 10;
  std::string metric = "mixed metadata load";
  std::string variant;
};

int RunLoad(const LoadArgs& args) {
  const StoreShape& s = args.shape;
  std::atomic<uint64_t> ops{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (unsigned t = 0; t < std::max(1u, args.threads); ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      uint64_t local = 0;
      struct stat st;
      char buf[64];
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string dir = s.Dir(rng() % s.collections);
        const std::string version =
            dir + "/" + VersionName(rng() % s.versions_per);
        ::lstat(version.c_str(), &st);
        const int fd = ::open(version.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
        local += 2;
        if (s.aliases_per > 0) {
          const std::string alias =
              dir + "/" + AliasName(rng() % s.aliases_per);
          (void)!::readlink(alias.c_str(), buf, sizeof(buf));
          ++local;
        }
        if (local >= 64) {
          ops.fetch_add(local);
          local = 0;
        }
      }
      ops.fetch_add(local);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(args.seconds));
  stop = true;
  for (auto& t : threads) t.join();
  PrintSample(args.metric, args.variant, 0,
              static_cast<double>(ops.load()) / SecondsSince(start), "ops/s",
              true);
  return 0;
}

// ---- visible ----

struct VisibleArgs {
  std::string from;  // the alias's symlink in the mount that moves it
  std::string to;    // the same alias in another node's mount
  int moves = 100;
  double deadline = 5;  // seconds to wait for one move to show
  std::string metric;
  std::string variant;
  int rep = 0;
};

std::string ReadLinkOr(const std::string& path, const std::string& otherwise) {
  char buf[256];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : otherwise;
}

// Runs `ln -sfn target link` and waits for it; dies if it fails.
void LnSfn(const std::string& target, const std::string& link) {
  const char* argv[] = {"ln", "-sfn", target.c_str(), link.c_str(), nullptr};
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, "ln", nullptr, nullptr,
                               const_cast<char**>(argv), environ);
  if (err != 0) Die(std::string("spawn ln: ") + std::strerror(err));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Die("ln -sfn " + target + " " + link + " failed");
  }
}

// Each move points the alias at the version it does not name (v0 or v1);
// the clock starts when `ln -sfn` has returned, and stops at the first
// readlink of the other mount that shows the new target. The other mount
// answers readlink from the kernel's cache until its daemon invalidates
// it, so a poll every 100 us costs the daemon nothing.
int RunVisible(const VisibleArgs& args) {
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(args.moves));
  int late = 0;
  for (int i = 0; i < args.moves; ++i) {
    const std::string target =
        ReadLinkOr(args.from, "v1") == "v0" ? "v1" : "v0";
    LnSfn(target, args.from);
    const auto start = Clock::now();
    while (ReadLinkOr(args.to, "") != target &&
           SecondsSince(start) < args.deadline) {
      ::usleep(100);
    }
    const double seconds = SecondsSince(start);
    if (seconds >= args.deadline) ++late;
    ms.push_back(seconds * 1e3);
  }
  if (late > 0) {
    // Recorded as the deadline: the figures say "at least".
    std::fprintf(stderr, "regfs_bench_probe: %d of %d moves not seen on %s "
                 "within %.0f s\n", late, args.moves, args.to.c_str(),
                 args.deadline);
  }
  PrintSample(args.metric + ", p50", args.variant, args.rep,
              Percentile(ms, 50), "ms", false);
  PrintSample(args.metric + ", p99", args.variant, args.rep,
              Percentile(ms, 99), "ms", false);
  PrintSample(args.metric + ", max", args.variant, args.rep,
              Percentile(ms, 100), "ms", false);
  return 0;
}

}  // namespace
}  // namespace regfs::bench

int main(int argc, char** argv) {
  using namespace regfs::bench;
  CLI::App app{"regfs benchmark probes"};
  app.require_subcommand(1);

  LatencyArgs latency;
  auto* lat = app.add_subcommand("latency", "p50/p99 of lookups or readlinks");
  AddShapeOptions(lat, latency.shape);
  lat->add_option("--op", latency.op, "lookup or readlink");
  lat->add_option("--samples", latency.samples, "Names to time");
  lat->add_option("--seed", latency.seed, "Random seed");
  lat->add_option("--metric", latency.metric, "Metric name")->required();
  lat->add_option("--variant", latency.variant, "Variant label")->required();
  lat->add_option("--rep", latency.rep, "Repetition number");

  TtfbArgs ttfb;
  auto* tt = app.add_subcommand("ttfb", "time to first byte of `cat PATH`");
  tt->add_option("--path", ttfb.paths, "LABEL=PATH")->required();
  tt->add_option("--reps", ttfb.reps, "Samples per path");
  tt->add_option("--drop", ttfb.drop, "drop_caches level before each sample");
  tt->add_option("--metric", ttfb.metric, "Metric name")->required();

  LoadArgs load;
  auto* ld = app.add_subcommand("load", "metadata load over a whole store");
  AddShapeOptions(ld, load.shape);
  ld->add_option("--threads", load.threads, "Threads");
  ld->add_option("--seconds", load.seconds, "Duration");
  ld->add_option("--metric", load.metric, "Metric name");
  ld->add_option("--variant", load.variant, "Variant label")->required();

  VisibleArgs visible;
  auto* vis = app.add_subcommand(
      "visible", "a move through one mount, until another mount shows it");
  vis->add_option("--from", visible.from, "The alias in the moving mount")
      ->required();
  vis->add_option("--to", visible.to, "The alias in the other mount")
      ->required();
  vis->add_option("--moves", visible.moves, "Moves to time");
  vis->add_option("--deadline", visible.deadline,
                  "Seconds to wait for one move to show");
  vis->add_option("--metric", visible.metric, "Metric name")->required();
  vis->add_option("--variant", visible.variant, "Variant label")->required();
  vis->add_option("--rep", visible.rep, "Repetition number");

  CLI11_PARSE(app, argc, argv);
  if (lat->parsed()) return RunLatency(latency);
  if (tt->parsed()) return RunTtfb(ttfb);
  if (vis->parsed()) return RunVisible(visible);
  return RunLoad(load);
}
