// Runs the built `regfs` binary as a user would, and a fresh temporary
// store for each test.
#ifndef REGFS_TESTS_TOOLS_CLI_RUNNER_H_
#define REGFS_TESTS_TOOLS_CLI_RUNNER_H_

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace regfs::tools::testing {

// How to start the child.
struct RunOptions {
  // Run as this user (needs root): setgroups({}), setresgid, setresuid.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  // Added to the environment ("NAME=VALUE"). REGFS_STORE is removed from
  // the inherited environment first, so only these can set it.
  std::vector<std::string> env;
  // Connect stderr to a pseudo-terminal instead of a pipe.
  bool stderr_tty = false;
  // The child's soft and hard limit of open files.
  std::optional<rlim_t> open_files;
};

struct RunResult {
  int exit_code = -1;  // 128 + N when killed by signal N
  std::string out;
  std::string err;

  // Every stdout line, without newlines.
  std::vector<std::string> OutLines() const;
};

// Whether a file system is mounted at `dir` (/proc/self/mountinfo).
bool IsMounted(const std::filesystem::path& dir);

// Whether /dev/fuse is there, which every mount needs; a mount test
// fails (never skips) without it, saying kNoFuse.
bool HasFuseDevice();
inline constexpr char kNoFuse[] =
    "/dev/fuse is missing: the mount tests cannot run (load the fuse "
    "module, or give the container --device /dev/fuse)";

// Unmounts `dir` lazily (fusermount3 -u -z) when a file system is mounted
// there, so that a test never leaves a mount behind, even after a failure.
void UnmountIfMounted(const std::filesystem::path& dir);

// Runs REGFS_BINARY with `args` and waits for it (at most 120 s; then it
// is killed and the test fails).
RunResult RunRegfs(const std::vector<std::string>& args,
                   const RunOptions& options = {});

// A `regfs` left running (history --follow), with its stdout readable.
// Kills it in the destructor if still running.
class RunningRegfs final {
 public:
  explicit RunningRegfs(const std::vector<std::string>& args);
  RunningRegfs(const RunningRegfs&) = delete;
  RunningRegfs& operator=(const RunningRegfs&) = delete;
  ~RunningRegfs();

  // The next stdout line, or nullopt when none arrives within `timeout`.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  // Sends `signal` and waits; returns the exit code (128 + N if killed).
  int Stop(int signal);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
};

// A temporary directory holding a store ("store") and input files
// ("files/"); removed with everything in it at the end of the test.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs `regfs --store STORE args...`.
  RunResult Regfs(std::vector<std::string> args,
                  const RunOptions& options = {}) const;
  // Runs it and expects exit 0 with nothing on stderr; returns stdout.
  std::string Ok(std::vector<std::string> args) const;
  // Runs it and expects exit 1 with exactly one "regfs: ..." stderr line;
  // returns that line without its newline.
  std::string Refused(std::vector<std::string> args,
                      const RunOptions& options = {}) const;
  // Runs it with --json and parses stdout as one JSON document.
  nlohmann::json Json(std::vector<std::string> args) const;

  // Runs `regfs --store DIR/NODE args...`: for tests with several store
  // directories ("nodes") joined to one registry.
  RunResult On(const std::string& node, std::vector<std::string> args,
               const RunOptions& options = {}) const;
  // The same, expecting exit 0 and nothing on stderr; returns stdout.
  std::string OkOn(const std::string& node,
                   std::vector<std::string> args) const;

  // Writes files/NAME (creating directories) and returns its path.
  std::string WriteFile(const std::string& name,
                        const std::string& content) const;

  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& store() const { return store_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path store_;
};

// The store mounted at DIR/mnt by `regfs mount`, for tests that run the
// CLI through the mount (`--store MOUNTPOINT`). Needs /dev/fuse. SetUp
// lets other users reach DIR (the store itself stays 0700); a subclass
// fills the store, then calls Mount(). TearDown unmounts, even after a
// failure.
class CliMountTest : public CliTest {
 protected:
  void SetUp() override;
  void TearDown() override;

  // `regfs mount DIR/mnt -o OPTIONS`; a fatal failure if it does not mount.
  void Mount(const std::string& options);
  // Runs `regfs --store MOUNTPOINT args...`.
  RunResult ThroughMount(std::vector<std::string> args,
                         const RunOptions& options = {}) const;
  // Runs `args` on the store directory (as its owner) and through the
  // mount (as `options` says), and expects the same stdout, stderr and
  // exit code, each passed through `normalize` first where one is given.
  void ExpectSame(const std::vector<std::string>& args,
                  const RunOptions& options = {},
                  std::string (*normalize)(const std::string&) = nullptr) const;

  std::filesystem::path mnt_;
};

// The user running the tests (the store's owner, so an admin).
struct TestUser {
  uid_t uid;
  std::string name;
  std::string group;  // of the primary gid
};
TestUser CurrentUser();

// Reads a whole file.
std::string ReadFile(const std::filesystem::path& path);

}  // namespace regfs::tools::testing

#endif  // REGFS_TESTS_TOOLS_CLI_RUNNER_H_
