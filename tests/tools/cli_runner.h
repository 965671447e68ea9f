// Runs the built `regfs` binary as a user would, and a fresh temporary
// store for each test.
#ifndef REGFS_TESTS_TOOLS_CLI_RUNNER_H_
#define REGFS_TESTS_TOOLS_CLI_RUNNER_H_

#include <gtest/gtest.h>
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

  // Writes files/NAME (creating directories) and returns its path.
  std::string WriteFile(const std::string& name,
                        const std::string& content) const;

  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& store() const { return store_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path store_;
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
