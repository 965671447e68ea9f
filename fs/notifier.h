// Sends cache invalidations to the kernel from a thread of its own.
//
// fuse_lowlevel_notify_inval_entry must not run inside the handler of a
// related request (the kernel holds the directory lock the notification
// needs), so handlers and the store watcher only queue, and this thread
// drains the queue. Invalidating a name the kernel does not cache is
// harmless (ENOENT, ignored).
//
// Thread-safe: Invalidate* and Flush may be called from any thread, before
// Start and after Stop too (then they are dropped, and Flush returns at
// once).
#ifndef REGFS_FS_NOTIFIER_H_
#define REGFS_FS_NOTIFIER_H_

#include <chrono>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "fs/inode.h"
#include "registry/mutex.h"

struct fuse_session;

namespace regfs::fs {

class Notifier final {
 public:
  Notifier() = default;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;
  ~Notifier();

  // Starts the thread; `session` must outlive Stop().
  void Start(fuse_session* session);
  // Drains nothing more; joins the thread. A notification may be stuck in
  // the kernel, waiting for a directory lock that a caller holds while its
  // request waits for an answer; once the session loop has ended nobody
  // answers, so if the thread has not finished after `patience`,
  // `unstick` runs (once; it should abort the connection) and Stop waits
  // on.
  void Stop(std::chrono::milliseconds patience = std::chrono::seconds(2),
            const std::function<void()>& unstick = {});

  // Drops the kernel's entry `name` in directory `parent` (and the
  // directory's attributes). The same entry queued again before the
  // thread sends it is sent once: the one waiting goes out after the
  // change that asked again, which is all an invalidation needs.
  void InvalidateEntry(Ino parent, std::string name);
  // Drops the kernel's attributes and cached pages of `ino`.
  void InvalidateInode(Ino ino);

  // Waits until the kernel has been sent every invalidation queued before
  // this call (read-your-writes: a writer in another process waits for
  // it), or `patience` has passed: false then, or if some were dropped
  // because the notifier stopped meanwhile.
  bool Flush(std::chrono::milliseconds patience);

 private:
  struct Item {
    Ino ino = 0;       // the parent for an entry
    std::string name;  // empty: an inode
  };
  void Push(Item item) EXCLUDES(mu_);
  void Run() EXCLUDES(mu_);
  // Waits up to `patience` for Run to return; false if it has not.
  bool AwaitFinished(std::chrono::milliseconds patience) REQUIRES(mu_);

  // Set by Start before the thread starts, read by it alone.
  fuse_session* session_ = nullptr;
  Mutex mu_;
  CondVar cv_;            // queue_, stopping_ or finished_ changed
  CondVar delivered_cv_;  // delivered_ or stopping_ changed
  std::deque<Item> queue_ GUARDED_BY(mu_);
  // The entries in queue_, by (parent, name): a watcher's batch of 30
  // moves of one alias sends one notification, not 30, each of which
  // would take the directory's lock in the kernel.
  std::set<std::pair<Ino, std::string>, std::less<>> queued_entries_
      GUARDED_BY(mu_);
  uint64_t queued_ GUARDED_BY(mu_) = 0;     // items ever queued
  uint64_t delivered_ GUARDED_BY(mu_) = 0;  // of them, sent to the kernel
  bool running_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  bool finished_ GUARDED_BY(mu_) = false;  // Run has returned
  std::thread thread_;
};

}  // namespace regfs::fs

#endif  // REGFS_FS_NOTIFIER_H_
