#include "fs/watchdog.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "fs/mount_table.h"

namespace regfs::fs {
namespace {

namespace stdfs = std::filesystem;
using registry::UniqueFd;

constexpr char kFusectl[] = "/sys/fs/fuse/connections";
constexpr char kQuit = 'Q';

bool FusectlMounted() {
  std::ifstream in("/proc/self/mounts");
  std::string line;
  const std::string needle = std::string(" ") + kFusectl + " fusectl ";
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) return true;
  }
  return false;
}

bool WriteAbort(unsigned connection) {
  const std::string path =
      std::string(kFusectl) + "/" + std::to_string(connection) + "/abort";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  return fd.valid() && ::write(fd.get(), "1", 1) == 1;
}

// The watchdog's life after fork(); never returns.
[[noreturn]] void RunChild(int from_daemon, pid_t daemon, dev_t device,
                           const stdfs::path& mountpoint, bool keep_stderr,
                           const std::function<void()>& reopen_log) {
  // Block the death signal before asking for it, then check that the
  // daemon did not die before the request.
  sigset_t death;
  sigemptyset(&death);
  sigaddset(&death, SIGUSR1);
  sigprocmask(SIG_BLOCK, &death, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGUSR1);
  const bool already_dead = ::getppid() != daemon;
  // Told apart from the daemon in ps, and spared by `killall regfs`.
  ::prctl(PR_SET_NAME, "regfs-watchdog");
  // libfuse's handlers were inherited: a terminal's ^C and hang-up are the
  // daemon's business; a plain kill ends the watchdog.
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);

  // Close the inherited loggers' files properly (after close_range their
  // numbers could be reused by the new ones), then hold nothing of the
  // daemon's: not /dev/fuse (its last close is what
  // aborts the connection of a daemon that does exit), not the store, not
  // the pipe `regfs mount` waits on.
  spdlog::drop_all();
  if (from_daemon != 3) {
    ::dup2(from_daemon, 3);
  }
  ::close_range(4, ~0U, 0);
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    if (!keep_stderr) ::dup2(null, STDERR_FILENO);
    ::close(null);
  }
  reopen_log();

  // How the daemon ended: by a clean exit (a 'Q'), or by dying, either
  // entirely (every descriptor closed: end of file here; the kernel
  // aborted the connection on the last close of /dev/fuse) or with a
  // thread still inside the kernel (only the death signal comes).
  enum class End { kClean, kClosed, kSignalled };
  End end = already_dead ? End::kSignalled : End::kClean;
  if (!already_dead) {
    UniqueFd signals(::signalfd(-1, &death, SFD_CLOEXEC));
    while (true) {
      pollfd fds[2] = {{3, POLLIN, 0}, {signals.get(), POLLIN, 0}};
      if (::poll(fds, signals.valid() ? 2 : 1, -1) < 0) {
        if (errno == EINTR) continue;
        std::_Exit(1);
      }
      if (fds[1].revents != 0) {
        end = End::kSignalled;
        break;
      }
      if (fds[0].revents != 0) {
        char c = 0;
        const ssize_t n = ::read(3, &c, 1);
        if (n == 1 && c == kQuit) std::_Exit(0);
        if (n <= 0) {
          end = End::kClosed;
          break;
        }
      }
    }
  }
  const unsigned connection = ::minor(device);
  if (end == End::kClosed) {
    spdlog::warn(
        "the daemon (pid {}) died without unmounting; callers of {} get "
        "ENOTCONN until `regfs mount` replaces the dead mount",
        daemon, mountpoint.string());
  } else if (AbortFuseConnection(connection, mountpoint)) {
    spdlog::warn(
        "the daemon (pid {}) died without unmounting; aborted its FUSE "
        "connection {}, so callers of {} get ENOTCONN until `regfs mount` "
        "replaces the dead mount",
        daemon, connection, mountpoint.string());
  } else {
    spdlog::error(
        "the daemon (pid {}) died without unmounting and its FUSE "
        "connection {} could not be aborted ({} is not mounted and only "
        "root may mount it); if callers of {} hang, run as root: umount -f "
        "{}",
        daemon, connection, kFusectl, mountpoint.string(),
        mountpoint.string());
  }
  spdlog::shutdown();
  std::_Exit(0);
}

}  // namespace

bool AbortFuseConnection(unsigned connection, const stdfs::path& mountpoint) {
  if (WriteAbort(connection)) return true;
  const bool root = ::geteuid() == 0;
  if (!FusectlMounted()) {
    // systemd mounts it at boot; a bare machine or a container may not.
    if (root && ::mount("fusectl", kFusectl, "fusectl", 0, nullptr) == 0) {
      if (WriteAbort(connection)) return true;
    }
  } else {
    // Mounted, yet no such connection: it is gone already.
    std::error_code ec;
    if (!stdfs::exists(stdfs::path(kFusectl) / std::to_string(connection),
                       ec)) {
      return true;
    }
  }
  // MNT_FORCE makes FUSE abort the connection (and unmounts, unless busy).
  // Only if the mount there is still this connection.
  const std::optional<dev_t> there = MountedDevice(mountpoint);
  if (root && there && ::minor(*there) == connection) {
    return ::umount2(mountpoint.c_str(), MNT_FORCE) == 0 || errno == EBUSY;
  }
  return false;
}

Watchdog::~Watchdog() { Stop(); }

bool Watchdog::Start(dev_t device, const stdfs::path& mountpoint,
                     bool keep_stderr,
                     const std::function<void()>& reopen_log) {
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

void Watchdog::Stop() {
  if (pid_ < 0) return;
  (void)!::send(to_child_.get(), &kQuit, 1, MSG_NOSIGNAL);
  to_child_.Reset();
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace regfs::fs
