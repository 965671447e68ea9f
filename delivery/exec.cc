#include "delivery/exec.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

namespace regfs::delivery {
namespace {

constexpr size_t kKeptOutput = 1000;

// Everything the child needs, made before fork: after it, the child only
// makes system calls.
struct ChildPlan {
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  std::vector<char*> argv;
  std::string command;
  std::vector<gid_t> groups;
  uid_t uid = 0;
  gid_t gid = 0;
  bool switch_user = false;
};

// The home directory of `uid`, "/" without one. getpwuid_r: deliveries
// run on a thread of a multithreaded daemon.
std::string HomeOf(uid_t uid) {
  std::vector<char> buf(4096);
  struct passwd entry {};
  struct passwd* found = nullptr;
  while (getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  return found != nullptr && found->pw_dir != nullptr ? found->pw_dir : "/";
}

ChildPlan Plan(const CommandRequest& r) {
  ChildPlan plan;
  plan.command = r.command;
  plan.uid = r.uid;
  plan.gid = r.gid;
  plan.switch_user = geteuid() == 0;
  const std::string home = HomeOf(r.uid);
  plan.env_storage = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home,
                      "USER=" + r.user, "LOGNAME=" + r.user};
  for (const auto& [k, v] : r.env) plan.env_storage.push_back(k + "=" + v);
  for (auto& e : plan.env_storage) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);
  plan.groups = {r.gid};
  if (plan.switch_user && !r.user.empty()) {
    int n = 64;
    std::vector<gid_t> groups(static_cast<size_t>(n));
    if (getgrouplist(r.user.c_str(), r.gid, groups.data(), &n) >= 0) {
      groups.resize(static_cast<size_t>(n));
      plan.groups = std::move(groups);
    }
  }
  return plan;
}

[[noreturn]] void Child(ChildPlan& plan, int in_fd, int out_fd) {
  setpgid(0, 0);
  if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) _exit(126);
  close_range(3, ~0U, 0);
  signal(SIGPIPE, SIG_DFL);
  if (plan.switch_user) {
    if (setgroups(plan.groups.size(), plan.groups.data()) != 0 ||
        setresgid(plan.gid, plan.gid, plan.gid) != 0 ||
        setresuid(plan.uid, plan.uid, plan.uid) != 0) {
      static const char kMsg[] = "regfs: cannot switch to the automation's user\n";
      (void)!write(2, kMsg, sizeof kMsg - 1);
      _exit(126);
    }
  } else if (getuid() != plan.uid) {
    static const char kMsg[] = "regfs: only root runs commands as another user\n";
    (void)!write(2, kMsg, sizeof kMsg - 1);
    _exit(126);
  }
  char sh[] = "/bin/sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, plan.command.data(), nullptr};
  execve("/bin/sh", argv, plan.envp.data());
  _exit(127);
}

// Reads the command's output into `output` (its start) until every
// writer has closed it: true; false if `deadline` came first.
bool ReadOutput(int fd, std::chrono::steady_clock::time_point deadline,
                std::string& output) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n <= 0) continue;  // EINTR, or the deadline (checked above)
    char buf[4096];
    const ssize_t got = read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return true;  // every writer closed: the command is done
    if (output.size() < kKeptOutput) {
      output.append(buf, std::min(static_cast<size_t>(got),
                                  kKeptOutput - output.size()));
    }
  }
}

int ExitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Attempt RunCommand(const CommandRequest& r) {
  Attempt attempt;
  ChildPlan plan = Plan(r);
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    attempt.message = fmt::format("pipe: {}", std::strerror(errno));
    return attempt;
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    attempt.message = fmt::format("pipe: {}", std::strerror(errno));
    close(in[0]);
    close(in[1]);
    return attempt;
  }
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) Child(plan, in[0], out[1]);
  close(in[0]);
  close(out[1]);
  if (pid < 0) {
    attempt.message = fmt::format("fork: {}", std::strerror(errno));
    close(in[1]);
    close(out[0]);
    return attempt;
  }
  setpgid(pid, pid);  // as the child does: no race on who is first
  // Small enough for a pipe's buffer; a command that exits without
  // reading it gets EPIPE here, which is not the delivery's failure.
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  (void)!write(in[1], r.stdin_json.data(), r.stdin_json.size());
  close(in[1]);
  std::string output;
  const bool timed_out = !ReadOutput(out[0], start + r.timeout, output);
  close(out[0]);
  // The group: a command's children go too (and cannot hold the pipe).
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  attempt.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  attempt.status = ExitStatus(status);
  attempt.ok = !timed_out && attempt.status == 0;
  attempt.message =
      timed_out ? fmt::format("timed out after {} ms; killed: {}",
                              r.timeout.count(), output)
                : output;
  return attempt;
}

}  // namespace regfs::delivery
