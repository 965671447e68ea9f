// How `regfs mount` becomes a daemon: the serving child reports to the
// waiting parent through a pipe, logs to a size-bounded file, and lets go
// of the terminal once the mount answers.
#ifndef REGFS_FS_MOUNT_DAEMON_H_
#define REGFS_FS_MOUNT_DAEMON_H_

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fs/mount.h"
#include "registry/unique_fd.h"

namespace regfs::fs {

// How the serving process tells the waiting parent that the mount answers
// ("OK") or why it failed ("ERR message"). Without a parent (foreground),
// errors go to stderr.
class ReadyReporter final {
 public:
  explicit ReadyReporter(registry::UniqueFd fd) : fd_(std::move(fd)) {}
  void Ok() { Send("OK"); }
  void Fail(std::string_view message);

 private:
  void Send(std::string_view line);
  registry::UniqueFd fd_;
};

// Sets the default logger. Foreground: stderr unless a log file is given.
// Daemon: the log file, else STORE/regfs-mount.log, else nothing. Files
// are size-bounded. Returns an error message, or nullopt.
std::optional<std::string> SetUpLogging(const MountOptions& options,
                                        const std::filesystem::path& store);

// Points stdin, stdout and stderr at /dev/null.
void DetachStdio();

// Forks: the child starts a session and runs `serve` (which reports to
// the ReadyReporter) and exits with its code; the parent waits for the
// child's report and returns 0 once the mount answers, else 1 with the
// child's error on stderr.
int RunDetached(const std::function<int(ReadyReporter&)>& serve);

}  // namespace regfs::fs

#endif  // REGFS_FS_MOUNT_DAEMON_H_
