#include "registry/secret_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "registry/unique_fd.h"

namespace regfs::registry {
namespace {

// The child's exit code for a path that is not a regular file (errno
// values stay below it).
constexpr int kNotRegular = 250;
// How long a child may take to read the file (a hung network file
// system must not hold the caller forever).
constexpr std::chrono::seconds kChildDeadline{5};

std::unexpected<Error> CannotRead(const std::string& path, int err) {
  return Fail(Code::kInvalidArgument,
              fmt::format("cannot read secret file '{}': {}", path,
                          std::strerror(err)));
}

std::unexpected<Error> NotRegular(const std::string& path) {
  return Fail(Code::kInvalidArgument,
              fmt::format("secret file '{}' is not a regular file", path));
}

// Opens without blocking (a FIFO would wait for a writer), refuses what is
// not a regular file, and reads at most kMaxSecretBytes + 1 bytes into
// `out`: 0, or the errno (kNotRegular) that stopped it. Only system
// calls: it also runs in a forked child.
int ReadInto(const char* path, char* out, size_t& size) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return errno;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return kNotRegular;
  }
  size = 0;
  while (size < kMaxSecretBytes + 1) {
    const ssize_t n = ::read(fd, out + size, kMaxSecretBytes + 1 - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return err;
    }
    if (n == 0) break;
    size += static_cast<size_t>(n);
  }
  ::close(fd);
  return 0;
}

[[noreturn]] void Child(const std::string& path, const SecretReader& as,
                        const std::vector<gid_t>& groups, int out) {
  if (::setgroups(groups.size(), groups.data()) != 0 ||
      ::setresgid(as.gid, as.gid, as.gid) != 0 ||
      ::setresuid(as.uid, as.uid, as.uid) != 0) {
    _exit(EPERM);
  }
  static char buf[kMaxSecretBytes + 1];
  size_t size = 0;
  const int err = ReadInto(path.c_str(), buf, size);
  if (err != 0) _exit(err);
  for (size_t put = 0; put < size;) {
    const ssize_t n = ::write(out, buf + put, size - put);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) _exit(EIO);
    put += static_cast<size_t>(n);
  }
  _exit(0);
}

// The user's groups, looked up before fork (NSS is not for a child).
std::vector<gid_t> GroupsOf(const SecretReader& as) {
  if (!as.groups.empty()) return as.groups;
  std::vector<gid_t> groups = {as.gid};
  if (as.user.empty()) return groups;
  int n = 64;
  std::vector<gid_t> found(static_cast<size_t>(n));
  if (::getgrouplist(as.user.c_str(), as.gid, found.data(), &n) < 0) {
    found.resize(static_cast<size_t>(n));
    if (::getgrouplist(as.user.c_str(), as.gid, found.data(), &n) < 0) {
      return groups;
    }
  }
  found.resize(static_cast<size_t>(n));
  return found;
}

// Reads `path` in a child switched to `as`: 0 and the bytes, or the
// child's errno.
Result<std::string> ReadInChild(const std::string& path,
                                const SecretReader& as) {
  const std::vector<gid_t> groups = GroupsOf(as);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return CannotRead(path, errno);
  UniqueFd in(fds[0]);
  const pid_t pid = ::fork();
  if (pid == 0) Child(path, as, groups, fds[1]);
  ::close(fds[1]);
  if (pid < 0) return CannotRead(path, errno);
  std::string data;
  const auto deadline = std::chrono::steady_clock::now() + kChildDeadline;
  bool timed_out = false;
  while (data.size() <= kMaxSecretBytes) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{in.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      timed_out = ready == 0;
      if (!timed_out) ::kill(pid, SIGKILL);
      break;
    }
    char buf[4096];
    const ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  if (timed_out || data.size() > kMaxSecretBytes) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return Fail(Code::kInvalidArgument,
                fmt::format("cannot read secret file '{}': no answer within "
                            "{} s",
                            path, kChildDeadline.count()));
  }
  if (data.size() > kMaxSecretBytes) return data;  // the caller says so
  if (!WIFEXITED(status)) return CannotRead(path, EIO);
  const int code = WEXITSTATUS(status);
  if (code == kNotRegular) return NotRegular(path);
  if (code != 0) return CannotRead(path, code);
  return data;
}

}  // namespace

SecretReader SecretReader::Of(const Identity& who) {
  return SecretReader{
      .uid = who.uid, .gid = who.gid, .groups = who.groups, .user = who.user};
}

Result<std::string> ReadSecretFile(const std::string& path,
                                   const SecretReader& as) {
  std::string secret;
  if (as.uid == ::geteuid()) {
    secret.resize(kMaxSecretBytes + 1);
    size_t size = 0;
    const int err = ReadInto(path.c_str(), secret.data(), size);
    if (err == kNotRegular) return NotRegular(path);
    if (err != 0) return CannotRead(path, err);
    secret.resize(size);
  } else if (::geteuid() == 0) {
    REGFS_ASSIGN_OR_RETURN(secret, ReadInChild(path, as));
  } else {
    return Fail(Code::kInvalidArgument,
                fmt::format("cannot read secret file '{}' as {}: this "
                            "process runs as uid {}, and only root reads a "
                            "file as another user",
                            path, as.user, ::geteuid()));
  }
  if (secret.size() > kMaxSecretBytes) {
    return Fail(Code::kInvalidArgument,
                fmt::format("secret file '{}' is larger than {} KiB", path,
                            kMaxSecretBytes / 1024));
  }
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  if (secret.empty()) {
    return Fail(Code::kInvalidArgument,
                fmt::format("secret file '{}' is empty", path));
  }
  return secret;
}

}  // namespace regfs::registry
