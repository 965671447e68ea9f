#include "tests/tools/cli_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#ifndef REGFS_BINARY
#error "REGFS_BINARY must name the regfs binary under test"
#endif

namespace regfs::tools::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRunTimeout = std::chrono::seconds(120);

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// In the child: sets the limit of open files, becomes the requested user,
// sets the environment, and execs the binary. Never returns.
[[noreturn]] void ExecRegfs(const std::vector<std::string>& args,
                            const RunOptions& options) {
  if (options.open_files) {
    const struct rlimit limit = {*options.open_files, *options.open_files};
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      std::perror("test: cannot set the limit of open files");
      _exit(127);
    }
  }
  if (options.uid) {
    const gid_t gid = options.gid.value_or(*options.uid);
    if (setgroups(0, nullptr) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(*options.uid, *options.uid, *options.uid) != 0) {
      std::perror("test: cannot switch user");
      _exit(127);
    }
  }
  unsetenv("REGFS_STORE");
  for (const auto& kv : options.env) {
    const size_t eq = kv.find('=');
    setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
  }
  std::vector<char*> argv;
  std::string binary = REGFS_BINARY;
  argv.push_back(binary.data());
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  std::perror("test: exec " REGFS_BINARY);
  _exit(127);
}

// Reads both fds to EOF (a pty master reports EIO once the child is gone).
// Returns false on timeout.
bool Drain(int out_fd, int err_fd, std::string& out, std::string& err,
           Clock::time_point deadline) {
  struct Stream {
    int fd;
    std::string* text;
  };
  std::vector<Stream> open = {{out_fd, &out}, {err_fd, &err}};
  while (!open.empty()) {
    std::vector<pollfd> fds;
    for (const auto& s : open) fds.push_back({s.fd, POLLIN, 0});
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0) return false;
    const int n = poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    for (size_t i = fds.size(); i-- > 0;) {
      if (fds[i].revents == 0) continue;
      char buf[65536];
      const ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        open[i].text->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }
  return true;
}

// `regfs ARGS...` as a failed check prints it.
std::string CommandLine(const std::vector<std::string>& args) {
  std::string command = "regfs";
  for (const auto& a : args) command += " " + a;
  return command;
}

// Expects `r` (of `command`) to have exited 0 with nothing on stderr;
// returns its stdout.
std::string QuietOutput(const std::string& command, const RunResult& r) {
  EXPECT_EQ(r.exit_code, 0) << command << "\nstderr: " << r.err;
  EXPECT_EQ(r.err, "") << command;
  return r.out;
}

void MakeTreeRemovable(const std::filesystem::path& dir) {
  std::error_code ec;
  chmod(dir.c_str(), 0700);
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      chmod(it->path().c_str(), 0700);
    }
  }
}

}  // namespace

std::vector<std::string> RunResult::OutLines() const {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool IsMounted(const std::filesystem::path& dir) {
  std::ifstream mounts("/proc/self/mountinfo");
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point == dir.string()) return true;
  }
  return false;
}

bool HasFuseDevice() {
  struct stat fuse_dev {};
  return ::stat("/dev/fuse", &fuse_dev) == 0;
}

void UnmountIfMounted(const std::filesystem::path& dir) {
  if (dir.empty() || !IsMounted(dir)) return;
  const std::string command = "fusermount3 -u -z '" + dir.string() + "'";
  EXPECT_EQ(std::system(command.c_str()), 0);
}

RunResult RunRegfs(const std::vector<std::string>& args,
                   const RunOptions& options) {
  RunResult result;
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return result;
  }
  if (options.stderr_tty) {
    if (openpty(&err_pipe[0], &err_pipe[1], nullptr, nullptr, nullptr) != 0) {
      ADD_FAILURE() << "openpty: " << std::strerror(errno);
      return result;
    }
    fcntl(err_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(err_pipe[1], F_SETFD, FD_CLOEXEC);
  } else if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return result;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, STDIN_FILENO);
    ExecRegfs(args, options);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return result;
  }
  const bool drained = Drain(out_pipe[0], err_pipe[0], result.out, result.err,
                             Clock::now() + kRunTimeout);
  if (!drained) {
    kill(pid, SIGKILL);
    ADD_FAILURE() << "regfs did not finish within " << kRunTimeout.count()
                  << " s";
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = ExitCode(status);
  return result;
}

RunningRegfs::RunningRegfs(const std::vector<std::string>& args) {
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return;
  }
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    ExecRegfs(args, {});
  }
  close(out_pipe[1]);
  out_fd_ = out_pipe[0];
  if (pid_ < 0) ADD_FAILURE() << "fork: " << std::strerror(errno);
}

RunningRegfs::~RunningRegfs() {
  if (pid_ > 0) Stop(SIGKILL);
  if (out_fd_ >= 0) close(out_fd_);
}

std::optional<std::string> RunningRegfs::ReadLine(
    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const size_t nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    if (left.count() <= 0 || out_fd_ < 0) return std::nullopt;
    pollfd fd = {out_fd_, POLLIN, 0};
    const int n = poll(&fd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t got = read(out_fd_, buf, sizeof buf);
    if (got <= 0) return std::nullopt;
    buffer_.append(buf, static_cast<size_t>(got));
  }
}

int RunningRegfs::Stop(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return ExitCode(status);
}

void CliTest::SetUp() {
  std::string templ =
      (std::filesystem::temp_directory_path() / "regfs-cli-XXXXXX").string();
  ASSERT_NE(mkdtemp(templ.data()), nullptr) << std::strerror(errno);
  dir_ = templ;
  store_ = dir_ / "store";
  std::filesystem::create_directories(dir_ / "files");
  const RunResult init = RunRegfs({"--store", store_.string(), "init"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
}

void CliTest::TearDown() {
  if (dir_.empty()) return;
  MakeTreeRemovable(dir_);
  // A daemon still exiting after its unmount removes its own files (its
  // listener socket) while remove_all walks the store: a name that
  // vanished meanwhile is not a failure, so walk again.
  std::error_code ec;
  for (int attempt = 0; attempt < 5; ++attempt) {
    ec.clear();
    std::filesystem::remove_all(dir_, ec);
    if (ec != std::errc::no_such_file_or_directory) break;
  }
  EXPECT_FALSE(ec) << "cannot remove " << dir_ << ": " << ec.message();
}

RunResult CliTest::Regfs(std::vector<std::string> args,
                         const RunOptions& options) const {
  args.insert(args.begin(), {"--store", store_.string()});
  return RunRegfs(args, options);
}

std::string CliTest::Ok(std::vector<std::string> args) const {
  const std::string command = CommandLine(args);
  return QuietOutput(command, Regfs(std::move(args)));
}

RunResult CliTest::On(const std::string& node, std::vector<std::string> args,
                      const RunOptions& options) const {
  args.insert(args.begin(), {"--store", (dir_ / node).string()});
  return RunRegfs(args, options);
}

std::string CliTest::OkOn(const std::string& node,
                          std::vector<std::string> args) const {
  const std::string command = CommandLine(args);
  return QuietOutput(command, On(node, std::move(args)));
}

std::string CliTest::Refused(std::vector<std::string> args,
                             const RunOptions& options) const {
  std::string command;
  for (const auto& a : args) command += " " + a;
  const RunResult r = Regfs(std::move(args), options);
  EXPECT_EQ(r.exit_code, 1)
      << "regfs" << command << "\nstdout: " << r.out << "\nstderr: " << r.err;
  EXPECT_EQ(r.out, "") << "regfs" << command;
  // Exactly one line, "regfs: " and a message.
  EXPECT_TRUE(r.err.starts_with("regfs: "))
      << "regfs" << command << ": " << r.err;
  EXPECT_TRUE(r.err.ends_with("\n")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1)
      << "regfs" << command << ": " << r.err;
  EXPECT_GT(r.err.size(), std::string("regfs: \n").size());
  std::string line = r.err;
  if (line.ends_with("\n")) line.pop_back();
  return line;
}

nlohmann::json CliTest::Json(std::vector<std::string> args) const {
  args.push_back("--json");
  const std::string out = Ok(args);
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << out;
  return j;
}

std::string CliTest::WriteFile(const std::string& name,
                               const std::string& content) const {
  const std::filesystem::path path = dir_ / "files" / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
  return path.string();
}

void CliMountTest::SetUp() {
  ASSERT_TRUE(HasFuseDevice()) << kNoFuse;
  CliTest::SetUp();
  namespace stdfs = std::filesystem;
  stdfs::permissions(
      dir(), stdfs::perms::owner_all | stdfs::perms::group_read |
                 stdfs::perms::group_exec | stdfs::perms::others_read |
                 stdfs::perms::others_exec);
  mnt_ = dir() / "mnt";
  stdfs::create_directory(mnt_);
}

void CliMountTest::TearDown() {
  UnmountIfMounted(mnt_);
  CliTest::TearDown();
}

void CliMountTest::Mount(const std::string& options) {
  const RunResult mounted = Regfs({"mount", mnt_.string(), "-o", options});
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  ASSERT_TRUE(IsMounted(mnt_));
}

RunResult CliMountTest::ThroughMount(std::vector<std::string> args,
                                     const RunOptions& options) const {
  args.insert(args.begin(), {"--store", mnt_.string()});
  return RunRegfs(args, options);
}

void CliMountTest::ExpectSame(
    const std::vector<std::string>& args, const RunOptions& options,
    std::string (*normalize)(const std::string&)) const {
  SCOPED_TRACE(::testing::PrintToString(args));
  const RunResult direct = Regfs(args);
  const RunResult mounted = ThroughMount(args, options);
  const auto same = [normalize](const std::string& text) {
    return normalize != nullptr ? normalize(text) : text;
  };
  EXPECT_EQ(mounted.exit_code, direct.exit_code) << mounted.err;
  EXPECT_EQ(same(mounted.out), same(direct.out));
  EXPECT_EQ(same(mounted.err), same(direct.err));
}

TestUser CurrentUser() {
  TestUser user{getuid(), std::to_string(getuid()), std::to_string(getgid())};
  if (const passwd* pw = getpwuid(user.uid)) user.name = pw->pw_name;
  if (const group* gr = getgrgid(getgid())) user.group = gr->gr_name;
  return user;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace regfs::tools::testing
