#include "tests/registry/s3_test_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#ifndef REGFS_S3RVER_DIR
#error "REGFS_S3RVER_DIR (where packaging/install-s3rver.sh installs) is unset"
#endif

namespace regfs::registry::testing {
namespace {

// s3rver encrypts ListObjectsV2's continuation tokens with DES, which
// Node.js >= 17 has only with OpenSSL's legacy provider: without it a
// listing of more than one page is a 500.
constexpr const char* kLegacyProvider = "--openssl-legacy-provider";

using Clock = std::chrono::steady_clock;

// How long a launch may take before it counts as failed: a start takes
// about half a second; the rest is room for a loaded machine.
constexpr auto kStartBound = std::chrono::seconds(10);
// How long a stopped server has to exit after SIGTERM before SIGKILL.
constexpr auto kStopBound = std::chrono::seconds(5);
constexpr auto kPoll = std::chrono::milliseconds(10);
// What s3rver prints once it accepts requests (lib/cli.js).
constexpr std::string_view kListening = "S3rver listening on 127.0.0.1:";

std::string ReadFrom(const std::filesystem::path& file, std::streamoff offset) {
  std::ifstream in(file);
  in.seekg(offset);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

std::string Tail(const std::string& text) {
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

std::streamoff FileSize(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  return ec ? 0 : static_cast<std::streamoff>(size);
}

// The node binary on PATH, as a shell would find it.
Result<std::string> FindNode() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path == nullptr ? "/usr/bin:/bin" : path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string node = (dir.empty() ? "." : dir) + "/node";
    if (access(node.c_str(), X_OK) == 0) return node;
  }
  return Fail(Code::kIoError,
              "test S3 server: no 'node' on PATH: run "
              "packaging/install-deps.sh, then packaging/install-s3rver.sh");
}

Status CheckInstalled() {
  const std::filesystem::path dir = REGFS_S3RVER_DIR;
  if (!std::filesystem::exists(dir / "launch.js") ||
      !std::filesystem::exists(dir /
                               "node_modules/@20minutes/s3rver/lib/cli.js")) {
    return Fail(Code::kIoError,
                fmt::format("test S3 server: s3rver is not installed in {}: "
                            "run packaging/install-s3rver.sh",
                            dir.string()));
  }
  return {};
}

// Whether 127.0.0.1:`port` accepts a TCP connection.
bool Accepts(int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr),
                 sizeof(addr)) == 0;
}

// The port of s3rver's "listening" line in `log`, if it has printed it.
std::optional<int> ListeningPort(const std::string& log) {
  const size_t at = log.find(kListening);
  if (at == std::string::npos) return std::nullopt;
  const char* begin = log.data() + at + kListening.size();
  int port = 0;
  const auto [end, ec] = std::from_chars(begin, log.data() + log.size(), port);
  if (ec != std::errc() || end == begin || port <= 0) return std::nullopt;
  return port;
}

// Forks and execs `argv` with stdout and stderr appended to `log`.
Result<pid_t> Spawn(std::vector<std::string> argv,
                    const std::filesystem::path& log) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  UniqueFd out(
      open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!out.valid())
    return std::unexpected(PosixError("open", log.c_str(), errno));
  const pid_t pid = fork();
  if (pid < 0) return std::unexpected(PosixError("fork", "", errno));
  if (pid == 0) {  // only async-signal-safe calls until exec
    dup2(out.get(), 1);
    dup2(out.get(), 2);
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    if (chdir("/") != 0) _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// What became of a launched server: it answers on `port`, or it exited.
struct Launched {
  bool exited = false;
  int port = 0;
};

// Waits until the server `pid` prints that it listens (in `log` after
// `offset`) and accepts a connection, or exits, until `deadline`.
Result<Launched> WaitReady(pid_t pid, const std::filesystem::path& log,
                           std::streamoff offset, Clock::time_point deadline) {
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return Launched{.exited = true};
    const std::optional<int> port = ListeningPort(ReadFrom(log, offset));
    if (port && Accepts(*port)) return Launched{.port = *port};
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return Fail(
          Code::kIoError,
          fmt::format("test S3 server: not answering after {} s: {}",
                      kStartBound.count(), Tail(ReadFrom(log, offset))));
    }
    std::this_thread::sleep_for(kPoll);
  }
}

}  // namespace

Result<std::unique_ptr<S3TestServer>> S3TestServer::Start(std::string bucket) {
  REGFS_TRY(CheckInstalled());
  REGFS_TRY(FindNode());
  std::unique_ptr<S3TestServer> s(new S3TestServer());
  s->bucket_ = std::move(bucket);
  char tmpl[] = "/tmp/regfs-s3-XXXXXX";  // mkdtemp: mode 0700
  if (mkdtemp(tmpl) == nullptr) {
    return std::unexpected(PosixError("mkdtemp", tmpl, errno));
  }
  s->dir_ = tmpl;
  if (auto reaper = s->StartReaper(); !reaper) {
    std::filesystem::remove_all(s->dir_);
    return std::unexpected(reaper.error());
  }
  // From here on, the destructor cleans up.
  REGFS_TRY(s->Launch());
  s->endpoint_ = fmt::format("http://127.0.0.1:{}", s->port_);
  return s;
}

S3TestServer::~S3TestServer() { Stop(); }

std::filesystem::path S3TestServer::data_dir() const { return dir_ / "data"; }

std::filesystem::path S3TestServer::ObjectFile(const std::string& key) const {
  return data_dir() / bucket_ / (key + "._S3rver_object");
}

std::string S3TestServer::Log() const {
  return ReadFrom(dir_ / "s3rver.log", 0);
}

Status S3TestServer::Launch() {
  REGFS_ASSIGN_OR_RETURN(const std::string node, FindNode());
  const std::filesystem::path log = dir_ / "s3rver.log";
  const auto deadline = Clock::now() + kStartBound;
  // Retries of a port in use stop early enough for a last launch to start
  // in time, so that the error says why.
  const auto retry_until = deadline - std::chrono::seconds(2);
  while (true) {
    const std::streamoff offset = FileSize(log);
    REGFS_ASSIGN_OR_RETURN(
        pid_, Spawn({node, kLegacyProvider,
                     std::string(REGFS_S3RVER_DIR) + "/launch.js", "-d",
                     data_dir().string(), "-a", "127.0.0.1", "-p",
                     std::to_string(port_), "--configure-bucket", bucket_},
                    log));
    TellReaper(pid_);
    const Result<Launched> launched = WaitReady(pid_, log, offset, deadline);
    if (launched && !launched->exited) {
      port_ = launched->port;
      return {};
    }
    pid_ = -1;  // exited, or killed and reaped by WaitReady
    TellReaper(0);
    if (!launched) return std::unexpected(launched.error());
    // A restart on a port that a client or another process still holds
    // for a moment: try again until the deadline.
    const std::string out = ReadFrom(log, offset);
    if (port_ == 0 || out.find("EADDRINUSE") == std::string::npos ||
        Clock::now() > retry_until) {
      return Fail(Code::kIoError,
                  "test S3 server: s3rver exited at start: " + Tail(out));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// A shell that reads the server's pid from a socket, line by line, and
// when the socket ends (this process is gone, or Stop() closed it) kills
// the last server it was told of and removes the directory.
Status S3TestServer::StartReaper() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return std::unexpected(PosixError("socketpair", "", errno));
  }
  UniqueFd ours(fds[0]);
  UniqueFd theirs(fds[1]);
  const std::string script = fmt::format(
      "pid=0; while read -r p; do pid=$p; done; "
      "if [ \"$pid\" -gt 0 ]; then kill -KILL \"$pid\"; fi; rm -rf '{}'",
      dir_.string());
  const pid_t pid = fork();
  if (pid < 0) return std::unexpected(PosixError("fork", "", errno));
  if (pid == 0) {
    dup2(theirs.get(), 0);
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {  // so that it holds no pipe that ctest reads
      dup2(null, 1);
      dup2(null, 2);
    }
    setsid();  // a ^C of the test binary leaves the clean-up running
    execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
    _exit(127);
  }
  reaper_ = pid;
  reaper_fd_ = std::move(ours);
  return {};
}

void S3TestServer::TellReaper(pid_t pid) {
  if (!reaper_fd_.valid()) return;
  const std::string line = fmt::format("{}\n", pid);
  // MSG_NOSIGNAL: a reaper killed by someone else costs no SIGPIPE here.
  (void)send(reaper_fd_.get(), line.data(), line.size(), MSG_NOSIGNAL);
}

void S3TestServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  TellReaper(0);
}

void S3TestServer::Freeze() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void S3TestServer::Thaw() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

Status S3TestServer::Restart() {
  Kill();
  return Launch();
}

void S3TestServer::Stop() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    kill(pid_, SIGCONT);  // a frozen server acts on SIGTERM only once woken
    const auto deadline = Clock::now() + kStopBound;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        Kill();
        break;
      }
      std::this_thread::sleep_for(kPoll);
    }
    pid_ = -1;
  }
  TellReaper(0);
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  reaper_fd_.Reset();
  int status = 0;
  while (reaper_ > 0 && waitpid(reaper_, &status, 0) < 0 && errno == EINTR) {
  }
  reaper_ = -1;
}

}  // namespace regfs::registry::testing
