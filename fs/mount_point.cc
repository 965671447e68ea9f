#include "fs/mount_point.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "fs/mount_table.h"
#include "registry/unique_fd.h"

namespace regfs::fs {
namespace {

namespace stdfs = std::filesystem;
using registry::UniqueFd;

// Runs `argv` with its output discarded; true if it exited 0.
bool RunQuietly(const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
    }
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

constexpr decltype(statfs::f_type) kFuseSuperMagic = 0x65735546;
constexpr auto kProbeTimeout = std::chrono::seconds(5);

struct StatfsProbe {
  int err = 0;  // statfs's errno, 0 on success
  decltype(statfs::f_type) type = 0;
};

// statfs(path) in a child process, so that a mount whose daemon is stuck
// cannot hang `regfs mount`: a FUSE request not yet read by the daemon
// yields to SIGKILL. nullopt if no answer came within `timeout`.
std::optional<StatfsProbe> ProbeStatfs(const stdfs::path& path,
                                       std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return StatfsProbe{errno, 0};
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  const pid_t child = ::fork();
  if (child < 0) return StatfsProbe{errno, 0};
  if (child == 0) {
    struct statfs st {};
    StatfsProbe probe;
    if (::statfs(path.c_str(), &st) == 0) {
      probe.type = st.f_type;
    } else {
      probe.err = errno;
    }
    (void)!::write(write_end.get(), &probe, sizeof probe);
    std::_Exit(0);
  }
  write_end.Reset();
  std::optional<StatfsProbe> result;
  pollfd pfd{read_end.get(), POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  StatfsProbe probe;
  if (ready > 0) {
    // An answer, or the end of the pipe: the child died without one.
    if (::read(read_end.get(), &probe, sizeof probe) !=
        static_cast<ssize_t>(sizeof probe)) {
      probe = StatfsProbe{EIO, 0};
    }
    result = probe;
  } else {
    ::kill(child, SIGKILL);
  }
  // Reap it; a child stuck beyond SIGKILL is left to init.
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(child, nullptr, WNOHANG) != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return result;
}

// What to run so that a mount whose daemon does not answer goes away.
std::string AbortCommand(const stdfs::path& mountpoint) {
  const std::optional<dev_t> device = MountedDevice(mountpoint);
  std::error_code ec;
  if (::geteuid() != 0 && device &&
      stdfs::exists(fmt::format("/sys/fs/fuse/connections/{}/abort",
                                ::minor(*device)),
                    ec)) {
    return fmt::format("echo 1 > /sys/fs/fuse/connections/{}/abort",
                       ::minor(*device));
  }
  return fmt::format("umount -f {}{}", mountpoint.string(),
                     ::geteuid() == 0 ? "" : " (as root)");
}

}  // namespace

std::optional<std::string> PrepareMountpoint(const stdfs::path& mountpoint) {
  // statfs, not stat: right after a daemon dies, the kernel may still
  // answer stat from its attribute cache, but statfs asks the dead daemon
  // and fails with ENOTCONN.
  const std::optional<StatfsProbe> probe =
      ProbeStatfs(mountpoint, kProbeTimeout);
  if (!probe) {
    return fmt::format(
        "{} does not answer within {} s: the FUSE daemon serving it is "
        "stuck or dead. If no regfs daemon serves it any more, run: {}",
        mountpoint.string(), kProbeTimeout.count(), AbortCommand(mountpoint));
  }
  if (probe->err == 0) {
    struct stat st {};
    if (::stat(mountpoint.c_str(), &st) != 0) {
      return fmt::format("{}: {}", mountpoint.string(), std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
      return fmt::format("{}: not a directory", mountpoint.string());
    }
    if (probe->type == kFuseSuperMagic && MountedDevice(mountpoint)) {
      return fmt::format(
          "{0} is already a FUSE mount; unmount it first (umount {0})",
          mountpoint.string());
    }
    return std::nullopt;
  }
  const int err = probe->err;
  if (err != ENOTCONN) {
    return fmt::format("{}: {}", mountpoint.string(), std::strerror(err));
  }
  bool detached = false;
  if (geteuid() == 0) detached = ::umount2(mountpoint.c_str(), MNT_DETACH) == 0;
  if (!detached) {
    detached = RunQuietly({"fusermount3", "-u", "-z", mountpoint.string()});
  }
  struct statfs after {};
  if (detached && ::statfs(mountpoint.c_str(), &after) == 0) {
    std::fprintf(stderr,
                 "regfs: %s was a dead mount left by a killed daemon; "
                 "detached it\n",
                 mountpoint.c_str());
    return std::nullopt;
  }
  return fmt::format(
      "{0} is a dead mount left by a killed daemon; run: fusermount3 -u {0}",
      mountpoint.string());
}

}  // namespace regfs::fs
