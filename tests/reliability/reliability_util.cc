#include "tests/reliability/reliability_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "registry/names.h"

#ifndef REGFS_BINARY
#error "REGFS_BINARY must name the regfs binary under test"
#endif

namespace regfs::reliability {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

bool BecomeUser(const User& user) {
  if (user.uid == 0) return true;
  if (setgroups(user.groups.size(),
                user.groups.empty() ? nullptr : user.groups.data()) != 0) {
    return false;
  }
  if (setresgid(user.gid, user.gid, user.gid) != 0) return false;
  return setresuid(user.uid, user.uid, user.uid) == 0;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::atoi(value);
}

pid_t ForkAs(const User& user, const std::function<int()>& fn) {
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    // Die with the test, so that a failed test leaves no worker behind.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!BecomeUser(user)) _exit(250);
    int code = 251;
    try {
      code = fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "worker: %s\n", e.what());
    }
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(code & 0xff);
  }
  return pid;
}

std::vector<int> WaitAll(const std::vector<pid_t>& pids,
                         std::chrono::seconds timeout, std::string* report) {
  std::vector<int> codes;
  const auto deadline = Clock::now() + timeout;
  for (const pid_t pid : pids) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now());
    auto code = fs::testing::WaitProcess(pid, std::max(left, 0ms));
    if (!code) {
      if (report) *report += fmt::format("child {} hung; killed it\n", pid);
      kill(pid, SIGKILL);
      code = fs::testing::WaitProcess(pid, 10s).value_or(-1);
      codes.push_back(-1);
      continue;
    }
    codes.push_back(*code);
  }
  return codes;
}

ExecResult Exec(const std::vector<std::string>& argv,
                std::optional<std::chrono::microseconds> kill_after) {
  ExecResult result;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return result;
  if (pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return result;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDONLY);
    dup2(null, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    setenv("LC_ALL", "C", 1);
    unsetenv("REGFS_STORE");
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    return result;
  }
  const auto start = Clock::now();
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  bool sent_kill = false;
  while (open_fds > 0) {
    int wait_ms = -1;
    if (kill_after && !sent_kill) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          start + *kill_after - Clock::now());
      wait_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
      if (wait_ms == 0) {
        // Kill at a random instant: the deadline has come.
        kill(pid, SIGKILL);
        sent_kill = true;
        wait_ms = -1;
      }
    }
    const int n = poll(fds, 2, wait_ms);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = DecodeStatus(status);
  result.killed = sent_kill && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  return result;
}

// ---- JSON Lines -------------------------------------------------------------

JsonLinesWriter::JsonLinesWriter(const stdfs::path& path)
    : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                 0644)) {}

JsonLinesWriter::~JsonLinesWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void JsonLinesWriter::Append(const nlohmann::json& record) {
  const std::string line =
      record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
      "\n";
  (void)!::write(fd_, line.data(), line.size());
}

std::vector<nlohmann::json> ReadJsonLines(const stdfs::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    out.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return out;
}

// ---- Content ----------------------------------------------------------------

uint64_t Rng::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string Content(uint64_t seed, size_t size) {
  std::string out(size, '\0');
  Rng rng(seed * 0x100000001b3ULL + 7);
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t word = rng.Next();
    std::memcpy(out.data() + i, &word, std::min<size_t>(8, size - i));
  }
  return out;
}

// ---- History ----------------------------------------------------------------

std::vector<registry::Event> EventsOf(registry::Registry& reg,
                                      const std::string& collection,
                                      const std::string& alias,
                                      uint64_t after_seq) {
  registry::HistoryFilter filter;
  filter.collection = collection;
  filter.alias = alias;
  filter.after_seq = after_seq;
  return reg.History(filter).value_or(std::vector<registry::Event>{});
}

std::string V(const std::optional<uint64_t>& number) {
  return number ? registry::VersionName(*number) : "-";
}

std::string Describe(const registry::Event& e) {
  return registry::RenderJsonLine(e);
}

::testing::AssertionResult HistoryFileMatches(const std::string& text,
                                              registry::Registry& reg,
                                              const std::string& collection) {
  registry::HistoryFilter filter;
  filter.collection = collection;
  auto events = reg.History(filter);
  if (!events) {
    return ::testing::AssertionFailure() << events.error().message;
  }
  std::istringstream in(text);
  std::string line;
  size_t index = 0;
  uint64_t last_seq = 0;
  while (std::getline(in, line)) {
    const auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      return ::testing::AssertionFailure()
             << "line " << index + 1 << " is not a JSON object: " << line;
    }
    const uint64_t seq = parsed.value("seq", uint64_t{0});
    if (collection.empty() ? seq != last_seq + 1 : seq <= last_seq) {
      return ::testing::AssertionFailure()
             << "line " << index + 1 << " has seq " << seq << " after "
             << last_seq;
    }
    last_seq = seq;
    if (index >= events->size()) {
      return ::testing::AssertionFailure()
             << "the file has more lines than the registry has events: "
             << line;
    }
    const std::string expected = registry::RenderJsonLine((*events)[index]);
    if (line != expected) {
      return ::testing::AssertionFailure() << "line " << index + 1 << " is\n  "
                                           << line << "\nbut the registry has\n  "
                                           << expected;
    }
    ++index;
  }
  // The registry may have moved on after the file was read; never behind.
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult StoreIsClean(const stdfs::path& store) {
  const ExecResult cli = Exec({REGFS_BINARY, "--store", store.string(), "fsck"});
  if (cli.exit_code != 0 || cli.out.find("clean") == std::string::npos) {
    return ::testing::AssertionFailure()
           << "regfs fsck exited " << cli.exit_code << ":\n"
           << cli.out << cli.err;
  }
  auto reg = registry::Registry::Open(store);
  if (!reg) return ::testing::AssertionFailure() << reg.error().message;
  auto report = (*reg)->Fsck();
  if (!report) return ::testing::AssertionFailure() << report.error().message;
  if (!report->clean()) {
    auto failure = ::testing::AssertionFailure() << "Registry::Fsck:";
    for (const auto& p : report->problems) failure << "\n  " << p;
    return failure;
  }
  return ::testing::AssertionSuccess();
}

int FuseConnection(const stdfs::path& mountpoint) {
  struct stat st {};
  if (::stat(mountpoint.c_str(), &st) != 0) return -1;
  return static_cast<int>(minor(st.st_dev));
}

bool AbortFuseConnection(int id) {
  if (id < 0) return false;
  const stdfs::path dir = "/sys/fs/fuse/connections";
  const stdfs::path abort = dir / std::to_string(id) / "abort";
  bool mounted_here = false;
  const std::string mounts = fs::testing::ReadFile("/proc/self/mounts");
  if (mounts.find(" " + dir.string() + " fusectl ") == std::string::npos) {
    if (::mount("fusectl", dir.c_str(), "fusectl", 0, nullptr) != 0) return false;
    mounted_here = true;
  }
  const int fd = ::open(abort.c_str(), O_WRONLY | O_CLOEXEC);
  const bool done = fd >= 0 && ::write(fd, "1", 1) == 1;
  if (fd >= 0) ::close(fd);
  if (mounted_here) ::umount2(dir.c_str(), MNT_DETACH);
  return done;
}

std::string ThreadStacks(pid_t pid) {
  std::string out;
  std::error_code ec;
  for (const auto& task :
       stdfs::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    const std::string stat = fs::testing::ReadFile(task.path() / "stat");
    const size_t paren = stat.rfind(')');
    const std::string state =
        paren != std::string::npos && paren + 2 < stat.size()
            ? stat.substr(paren + 2, 1)
            : "?";
    out += fmt::format("thread {} state {}:\n{}", task.path().filename().string(),
                       state, fs::testing::ReadFile(task.path() / "stack"));
  }
  return out;
}

std::vector<std::string> ListDir(const stdfs::path& dir, int* error) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (error) *error = errno;
    return names;
  }
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  if (error) *error = 0;
  return names;
}

std::vector<std::string> Snapshot(registry::Registry& reg) {
  std::vector<std::string> lines;
  auto collections = reg.ListCollections();
  if (!collections) return {"error: " + collections.error().message};
  for (const auto& c : *collections) {
    lines.push_back(fmt::format("collection {} kind {}", c.name,
                                registry::KindName(c.kind)));
    auto versions = reg.ListVersions(c.name);
    if (versions) {
      for (const auto& v : *versions) {
        lines.push_back(fmt::format("{}/v{} {}", c.name, v.number, v.digest));
      }
    }
    auto aliases = reg.ListAliases(c.name);
    if (aliases) {
      for (const auto& a : *aliases) {
        lines.push_back(fmt::format("{}/{} -> v{}{}", c.name, a.name, a.version,
                                    a.is_protected ? " protected" : ""));
      }
    }
  }
  auto roles = reg.ListRoles();
  if (roles) {
    for (const auto& g : *roles) {
      lines.push_back(
          fmt::format("role {} {}", g.principal, registry::RoleName(g.role)));
    }
  }
  auto prot = reg.ListProtected();
  if (prot) {
    for (const auto& p : *prot) lines.push_back("protected " + p.name);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace regfs::reliability
