// The kernel's backing files of passed-through inodes (FUSE passthrough):
// every open of one inode must name the same backing file, so its id is
// shared by the inode's opens and closed with the last of them.
#ifndef REGFS_FS_BACKING_FILES_H_
#define REGFS_FS_BACKING_FILES_H_

#include <cstdint>
#include <functional>
#include <unordered_map>

#include "registry/mutex.h"
#include "registry/thread_annotations.h"

namespace regfs::fs {

class BackingFiles final {
 public:
  // The backing id of `ino` for one more open: the inode's, or a new one
  // from `open_backing()` (0: refused, nothing is recorded).
  int Acquire(uint64_t ino, const std::function<int()>& open_backing)
      EXCLUDES(mu_);
  // One open of `ino` ends; with its last, `close_backing(id)` runs.
  void Release(uint64_t ino, const std::function<void(int)>& close_backing)
      EXCLUDES(mu_);

 private:
  struct Entry {
    int id = 0;
    uint64_t opens = 0;
  };
  Mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_ GUARDED_BY(mu_);
};

}  // namespace regfs::fs

#endif  // REGFS_FS_BACKING_FILES_H_
