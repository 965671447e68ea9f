// Shared machinery of the reliability tests (crash, contention, hostile
// input, permissions): child processes that act as other users and run
// commands that may be killed, JSON Lines manifests, deterministic
// content, and checks of a store's history.
//
// Nothing here is thread-safe; the tests use processes, not threads, for
// their workers (each worker is a forked child that may setresuid).
#ifndef REGFS_TESTS_RELIABILITY_RELIABILITY_UTIL_H_
#define REGFS_TESTS_RELIABILITY_RELIABILITY_UTIL_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "registry/history.h"
#include "registry/registry.h"
#include "tests/fs/mount_fixture.h"

namespace regfs::reliability {

namespace stdfs = std::filesystem;
using fs::testing::User;

// An integer from the environment (long runs), else `fallback`.
int EnvInt(const char* name, int fallback);

// Forks a child that becomes `user` and exits with fn()'s value (0-255).
// Returns the child's pid; reap it with fs::testing::WaitProcess.
pid_t ForkAs(const User& user, const std::function<int()>& fn);

// Waits for every pid; a child still running after `timeout` is killed
// and reported. Returns the exit codes in order (-1: killed or lost).
std::vector<int> WaitAll(const std::vector<pid_t>& pids,
                         std::chrono::seconds timeout, std::string* report);

struct ExecResult {
  int exit_code = -1;  // 128 + N when killed by signal N
  bool killed = false;  // we sent the SIGKILL (kill_after elapsed)
  std::string out;
  std::string err;
};

// Runs `argv` (PATH lookup) in the calling process's identity, with
// LC_ALL=C and no REGFS_STORE, stdin /dev/null, and captures its output.
// With `kill_after`, sends SIGKILL once that much time has passed (the
// child may have finished first: then `killed` stays false).
ExecResult Exec(const std::vector<std::string>& argv,
                std::optional<std::chrono::microseconds> kill_after =
                    std::nullopt);

// Appends one JSON object per line to a file; each line is one write(),
// so a reader never sees half a record.
class JsonLinesWriter final {
 public:
  explicit JsonLinesWriter(const stdfs::path& path);
  JsonLinesWriter(const JsonLinesWriter&) = delete;
  JsonLinesWriter& operator=(const JsonLinesWriter&) = delete;
  ~JsonLinesWriter();
  void Append(const nlohmann::json& record);

 private:
  int fd_ = -1;
};
std::vector<nlohmann::json> ReadJsonLines(const stdfs::path& path);

// `size` deterministic pseudo-random bytes that differ for each `seed`
// in every 8-byte word (so no two contents share a block).
std::string Content(uint64_t seed, size_t size);

// A small deterministic generator (splitmix64).
class Rng final {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }

 private:
  uint64_t state_;
};

// The events of `collection` after `after_seq` that concern `alias`
// (as `alias`, or as a rename's "to"), oldest first.
std::vector<registry::Event> EventsOf(registry::Registry& reg,
                                      const std::string& collection,
                                      const std::string& alias,
                                      uint64_t after_seq);

// "v3", or "-" for none.
std::string V(const std::optional<uint64_t>& number);
// One line describing an event, for failure messages.
std::string Describe(const registry::Event& e);

// Every line of a history file (as the mount serves it) is one JSON
// object; seq runs 1, 2, 3, ... without gaps (or, with `contiguous`
// false, only increases, for a collection's .history); the lines equal
// RenderJsonLine of the registry's events.
::testing::AssertionResult HistoryFileMatches(const std::string& text,
                                              registry::Registry& reg,
                                              const std::string& collection);

// `regfs fsck` exits 0 and says "clean", and Registry::Fsck agrees.
::testing::AssertionResult StoreIsClean(const stdfs::path& store);

// The FUSE connection of the mount at `mountpoint` (the minor number of
// its device: /sys/fs/fuse/connections/N), or -1.
int FuseConnection(const stdfs::path& mountpoint);
// Aborts FUSE connection `id` (needs root; mounts fusectl at
// /sys/fs/fuse/connections if it is not, and unmounts it again): every
// request waiting on it fails with ECONNABORTED and a daemon stuck in the
// kernel can exit. Returns false when it could not.
bool AbortFuseConnection(int id);
// The kernel stacks of a process's threads, for a failure message.
std::string ThreadStacks(pid_t pid);

// Names of the entries of a directory (readdir), sorted; "." and ".."
// left out. Empty with *error set on failure.
std::vector<std::string> ListDir(const stdfs::path& dir, int* error = nullptr);

// What a user sees of a collection, through the registry: versions and
// "alias -> vN" lines, sorted. For comparing before and after a refusal.
std::vector<std::string> Snapshot(registry::Registry& reg);

}  // namespace regfs::reliability

#endif  // REGFS_TESTS_RELIABILITY_RELIABILITY_UTIL_H_
