// The changes this mount made whose every changed name its own reply has
// already given the kernel: a symlink(2) that created an alias (the reply
// is the new entry), a rename(2) of a staged symlink onto an alias (`ln
// -sfn`; the reply moves the entry). The watcher hears of them as of any
// other process's changes; it need not invalidate those names again
// (issue 15, "Moves"), which would cost the kernel a round trip, the
// directory's lock, and the next lookup of the name.
//
// A seq is added only after the registry has answered the change, so
// after its commit: it is this mount's committed row, never a rolled-back
// number that another process's change could reuse. The watcher takes
// each seq once, as it meets the event.
//
// Bounded: past kMax, the oldest are dropped, which only costs the
// invalidations they would have saved (say, when the watcher read a change
// before its maker added it). Thread-safe; a leaf lock.
#ifndef REGFS_FS_ANSWERED_CHANGES_H_
#define REGFS_FS_ANSWERED_CHANGES_H_

#include <cstddef>
#include <cstdint>
#include <set>

#include "registry/mutex.h"

namespace regfs::fs {

class AnsweredChanges final {
 public:
  static constexpr size_t kMax = 4096;

  void Add(uint64_t seq);
  // True once for each seq added (and not yet dropped).
  bool Take(uint64_t seq);
  size_t size() const;

 private:
  mutable Mutex mu_;
  std::set<uint64_t> seqs_ GUARDED_BY(mu_);
};

}  // namespace regfs::fs

#endif  // REGFS_FS_ANSWERED_CHANGES_H_
