#include "fs/watchdog.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fs/mount_table.h"

namespace regfs::fs {
namespace {

namespace stdfs = std::filesystem;
using registry::UniqueFd;

constexpr char kFusectl[] = "/sys/fs/fuse/connections";
// Messages from the daemon: it exits cleanly, or asks for the abort now
// (its own shutdown is stuck on the kernel's directory lock).
constexpr char kQuit = 'Q';
constexpr char kAbortNow = 'A';

bool FusectlMounted() {
  std::ifstream in("/proc/self/mounts");
  std::string line;
  const std::string needle = std::string(" ") + kFusectl + " fusectl ";
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string AbortPath(unsigned connection) {
  return std::string(kFusectl) + "/" + std::to_string(connection) + "/abort";
}

// The `abort` file of the connection, opened while the connection is
// known to be ours: writing to it later can only abort this connection,
// even if another mount has taken its number since (the file of a gone
// connection does nothing). Mounts fusectl first as root if needed.
UniqueFd OpenAbortFile(unsigned connection) {
  UniqueFd fd(::open(AbortPath(connection).c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() && ::geteuid() == 0 && !FusectlMounted() &&
      ::mount("fusectl", kFusectl, "fusectl", 0, nullptr) == 0) {
    fd.Reset(::open(AbortPath(connection).c_str(), O_WRONLY | O_CLOEXEC));
  }
  return fd;
}

// Closes every descriptor from `first` up; close_range where the kernel
// (or a seccomp profile) allows it, else one by one from /proc/self/fd.
void CloseFrom(int first) {
  if (::close_range(static_cast<unsigned>(first), ~0U, 0) == 0) return;
  std::vector<int> open;
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator("/proc/self/fd", ec)) {
    const int fd = std::atoi(entry.path().filename().c_str());
    if (fd >= first) open.push_back(fd);
  }
  for (int fd : open) ::close(fd);
}

// Asks for SIGUSR1 (blocked, in `death`) when the daemon dies and ignores
// the signals meant for the daemon; returns whether it has died already.
bool WatchDaemon(pid_t daemon, sigset_t& death) {
  // Block the death signal before asking for it, then check that the
  // daemon did not die before the request.
  sigemptyset(&death);
  sigaddset(&death, SIGUSR1);
  sigprocmask(SIG_BLOCK, &death, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGUSR1);
  const bool already_dead = ::getppid() != daemon;
  // Told apart from the daemon in ps, and spared by `killall regfs`.
  ::prctl(PR_SET_NAME, "regfs-watchdog");
  // libfuse's handlers were inherited. The watchdog ends by itself (the
  // daemon's word, or its death), so it outlives a terminal's ^C and
  // hang-up and a SIGTERM sent to the whole group (systemd's stop), which
  // the daemon answers by unmounting.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGTERM, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  return already_dead;
}

// Leaves the watchdog holding only the socket from the daemon (as fd 3),
// /dev/null (and stderr if `keep_stderr`), and its own log.
void LetGoOfDaemon(int from_daemon, bool keep_stderr,
                   const std::function<bool()>& reopen_log) {
  // Close the inherited loggers' files properly (after CloseFrom their
  // numbers could be reused by the new ones; the daemon flushed them
  // before the fork), then hold nothing of the daemon's: not /dev/fuse
  // (its last close is what aborts the connection of a daemon that does
  // exit), not the store, not the pipe `regfs mount` waits on, nor, in
  // the background, the caller's stdout and stderr (a shell's
  // $(regfs mount ...) waits for their end).
  spdlog::drop_all();
  if (from_daemon != 3) ::dup2(from_daemon, 3);
  CloseFrom(4);
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    if (!keep_stderr) ::dup2(null, STDERR_FILENO);
    ::close(null);
  }
  if (!reopen_log()) {
    spdlog::set_default_logger(spdlog::null_logger_mt("watchdog"));
  }
}

// Aborts the daemon's FUSE connection: through its fusectl abort file,
// opened up front, or else by a forced unmount.
class ConnectionAborter final {
 public:
  ConnectionAborter(dev_t device, const stdfs::path& mountpoint)
      : device_(device),
        mountpoint_(mountpoint),
        connection_(::minor(device)),
        abort_file_(OpenAbortFile(connection_)) {
    if (!abort_file_.valid()) {
      spdlog::warn(
          "cannot open {}: {}; if this daemon dies with a thread stuck in "
          "the kernel, its callers may hang until root runs: umount -f {}",
          AbortPath(connection_), std::strerror(errno), mountpoint.string());
    }
  }
  unsigned connection() const { return connection_; }

  bool Abort() const {
    if (abort_file_.valid()) {
      return ::write(abort_file_.get(), "1", 1) == 1;
    }
    // No fusectl: as root, MNT_FORCE makes FUSE abort the connection (and
    // unmounts, unless busy); only if the mount there is still this one.
    const std::optional<dev_t> there = MountedDevice(mountpoint_);
    return ::geteuid() == 0 && there && *there == device_ &&
           (::umount2(mountpoint_.c_str(), MNT_FORCE) == 0 || errno == EBUSY);
  }

 private:
  const dev_t device_;
  const stdfs::path& mountpoint_;
  const unsigned connection_;
  UniqueFd abort_file_;
};

// How the daemon ended: by a clean exit (a 'Q'), or by dying, either
// entirely (every descriptor closed: end of file here; the kernel
// aborted the connection on the last close of /dev/fuse) or with a
// thread still inside the kernel (only the death signal comes).
enum class End { kClean, kClosed, kSignalled };

// Waits for the daemon's word on fd 3 or its death signal; exits the
// watchdog on a clean exit, aborts the connection when asked to.
End AwaitDaemonEnd(pid_t daemon, const sigset_t& death,
                   const ConnectionAborter& aborter) {
  UniqueFd signals(::signalfd(-1, &death, SFD_CLOEXEC));
  if (!signals.valid()) {
    spdlog::warn("watchdog: signalfd: {}; it only notices a daemon that "
                 "exits entirely",
                 std::strerror(errno));
  }
  while (true) {
    pollfd fds[2] = {{3, POLLIN, 0}, {signals.get(), POLLIN, 0}};
    if (::poll(fds, signals.valid() ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      std::_Exit(1);
    }
    if (signals.valid() && fds[1].revents != 0) {
      signalfd_siginfo info{};
      // The kernel sends the death signal from the dying daemon; a
      // SIGUSR1 from anyone else is not its death.
      if (::read(signals.get(), &info, sizeof info) ==
              static_cast<ssize_t>(sizeof info) &&
          static_cast<pid_t>(info.ssi_pid) == daemon) {
        return End::kSignalled;
      }
    }
    if (fds[0].revents != 0) {
      char c = 0;
      const ssize_t n = ::read(3, &c, 1);
      if (n == 1 && c == kQuit) std::_Exit(0);
      if (n == 1 && c == kAbortNow) {
        const bool done = aborter.Abort();
        spdlog::warn(
            "the daemon's shutdown was stuck on a directory lock; {} its "
            "FUSE connection {}",
            done ? "aborted" : "could not abort", aborter.connection());
        continue;
      }
      if (n <= 0) return End::kClosed;
    }
  }
}

// Logs the daemon's death, aborting its connection if the kernel has not.
void ReportDeath(End end, pid_t daemon, const ConnectionAborter& aborter,
                 const stdfs::path& mountpoint) {
  if (end == End::kClosed) {
    spdlog::warn(
        "the daemon (pid {}) died without unmounting; callers of {} get "
        "ENOTCONN until `regfs mount` replaces the dead mount",
        daemon, mountpoint.string());
  } else if (aborter.Abort()) {
    spdlog::warn(
        "the daemon (pid {}) died without unmounting; aborted its FUSE "
        "connection {}, so callers of {} get ENOTCONN until `regfs mount` "
        "replaces the dead mount",
        daemon, aborter.connection(), mountpoint.string());
  } else {
    spdlog::error(
        "the daemon (pid {}) died without unmounting and its FUSE "
        "connection {} could not be aborted (no fusectl abort file, see "
        "above); if callers of {} hang, run as root: umount -f {}",
        daemon, aborter.connection(), mountpoint.string(),
        mountpoint.string());
  }
}

// The watchdog's life after fork(); never returns.
[[noreturn]] void RunChild(int from_daemon, pid_t daemon, dev_t device,
                           const stdfs::path& mountpoint, bool keep_stderr,
                           const std::function<bool()>& reopen_log) {
  sigset_t death;
  const bool already_dead = WatchDaemon(daemon, death);
  LetGoOfDaemon(from_daemon, keep_stderr, reopen_log);
  const ConnectionAborter aborter(device, mountpoint);
  const End end =
      already_dead ? End::kSignalled : AwaitDaemonEnd(daemon, death, aborter);
  ReportDeath(end, daemon, aborter, mountpoint);
  spdlog::shutdown();
  std::_Exit(0);
}

}  // namespace

Watchdog::~Watchdog() { Stop(); }

bool Watchdog::Start(dev_t device, const stdfs::path& mountpoint,
                     bool keep_stderr,
                     const std::function<bool()>& reopen_log) {
  // A socket, not a pipe: send(MSG_NOSIGNAL) to a watchdog that is gone
  // must not raise SIGPIPE, whatever the daemon's signal handlers are then.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    spdlog::warn("no watchdog for {}: socketpair: {}", mountpoint.string(),
                 std::strerror(errno));
    return false;
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const pid_t daemon = ::getpid();
  // What the child's copy of the logger holds must not be written twice.
  spdlog::default_logger()->flush();
  const pid_t pid = ::fork();
  if (pid < 0) {
    spdlog::warn("no watchdog for {}: fork: {}", mountpoint.string(),
                 std::strerror(errno));
    return false;
  }
  if (pid == 0) {
    RunChild(read_end.get(), daemon, device, mountpoint, keep_stderr,
             reopen_log);
  }
  pid_ = pid;
  to_child_ = std::move(write_end);
  return true;
}

void Watchdog::AbortNow() {
  if (pid_ < 0) return;
  (void)!::send(to_child_.get(), &kAbortNow, 1, MSG_NOSIGNAL);
}

void Watchdog::Stop() {
  if (pid_ < 0) return;
  (void)!::send(to_child_.get(), &kQuit, 1, MSG_NOSIGNAL);
  to_child_.Reset();
  // It leaves at once; one that does not (stopped, or stuck writing its
  // log to a hung disk) is killed: it holds nothing.
  for (int i = 0; i < 200; ++i) {
    const pid_t done = ::waitpid(pid_, nullptr, WNOHANG);
    if (done == pid_ || (done < 0 && errno != EINTR)) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace regfs::fs
