// Aborts the mount's FUSE connection when the daemon dies without
// unmounting (SIGKILL, a crash), so that its callers get ENOTCONN instead
// of waiting for ever.
//
// Why it is needed: the notifier thread can be inside the kernel, in
// fuse_lowlevel_notify_inval_entry, waiting for a directory's lock that a
// caller (ln, mv, rm) holds while it waits for this daemon's answer. When
// the daemon is killed, nobody answers any more, so that thread never gets
// the lock and never returns; the process cannot finish exiting, /dev/fuse
// is never closed, and the kernel never aborts the connection: every
// caller hangs. Only aborting the connection (fusectl's `abort`, or
// `umount -f`) breaks the cycle.
//
// The watchdog is a child process, forked before any thread starts, that
// holds no descriptor of the mount or the store, only the connection's
// /sys/fs/fuse/connections/N/abort file (it mounts fusectl there as root
// if needed). The kernel signals it when the thread that forked it (the
// daemon's main thread) dies; then it writes to that file (without it, as
// root, it forces the unmount). The same cycle can stop a clean shutdown,
// whose notifier waits for a lock held by a request nobody reads any more;
// the daemon then asks for the abort (AbortNow). On a clean exit the
// daemon tells it so through a socket, and it leaves quietly.
#ifndef REGFS_FS_WATCHDOG_H_
#define REGFS_FS_WATCHDOG_H_

#include <sys/types.h>

#include <filesystem>
#include <functional>

#include "registry/unique_fd.h"

namespace regfs::fs {

class Watchdog final {
 public:
  Watchdog() = default;
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  // Stop()s.
  ~Watchdog();

  // Forks the watchdog of the FUSE mount at `mountpoint`, whose device is
  // `device` (its minor number names the connection). The calling thread
  // must be the one that outlives serving, and no other thread may exist
  // yet. `reopen_log` runs in the child after it closed every inherited
  // descriptor (but stderr, if `keep_stderr`: a foreground daemon's), to
  // set up logging again (false: it could not; the watchdog logs nothing).
  // Returns false (and logs) if it could not fork; the mount works
  // without it.
  bool Start(dev_t device, const std::filesystem::path& mountpoint,
             bool keep_stderr, const std::function<bool()>& reopen_log);

  // Has the watchdog abort the connection now (a stuck shutdown).
  void AbortNow();

  // The daemon exits on purpose: tells the watchdog and reaps it (killing
  // it after 2 s).
  void Stop();

 private:
  pid_t pid_ = -1;
  registry::UniqueFd to_child_;
};

}  // namespace regfs::fs

#endif  // REGFS_FS_WATCHDOG_H_
