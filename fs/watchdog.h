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
// holds no descriptor of the mount or the store. The kernel signals it
// when the thread that forked it (the daemon's main thread) dies; then it
// writes to /sys/fs/fuse/connections/N/abort (mounting fusectl there
// first if it can), else, as root, forces the unmount. On a clean exit the
// daemon tells it so through a pipe, and it leaves quietly.
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
  // set up logging again. Returns false (and logs) if it could not fork;
  // the mount works without it.
  bool Start(dev_t device, const std::filesystem::path& mountpoint,
             bool keep_stderr, const std::function<void()>& reopen_log);

  // The daemon exits on purpose: tells the watchdog and reaps it.
  void Stop();

 private:
  pid_t pid_ = -1;
  registry::UniqueFd to_child_;
};

// Aborts FUSE connection `connection` (the minor number of the mount's
// device) through fusectl, mounting fusectl first if needed and allowed;
// as root, falls back to umount2(MNT_FORCE) of `mountpoint`. Returns
// whether the connection was aborted.
bool AbortFuseConnection(unsigned connection,
                         const std::filesystem::path& mountpoint);

}  // namespace regfs::fs

#endif  // REGFS_FS_WATCHDOG_H_
