// The drafts the mount has shown the kernel: inode <-> (collection, owner,
// path under the owner's draft directory), the lock of each draft root,
// and the per-user byte counts of the draft quota.
//
// A draft's bytes live on disk (registry::Drafts: STORE/drafts/<collection
// id>/<uid>/<path>); this table only names them. Draft inodes are numbered
// in the order the mount first sees them (not stable across remounts; the
// kernel looks drafts up again after a remount anyway).
//
// Thread-safe: every member locks internally; no callback runs under a lock.
#ifndef REGFS_FS_DRAFT_TABLE_H_
#define REGFS_FS_DRAFT_TABLE_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "fs/inode.h"
#include "registry/mutex.h"
#include "registry/thread_annotations.h"

namespace regfs::fs {

struct DraftKey {
  int64_t collection_id = 0;
  uid_t uid = 0;     // whose draft
  std::string path;  // under the owner's draft dir: ".data/sub/x.bin"

  // The draft root's name: the path's first component (".data").
  std::string_view root() const;
  bool is_root() const { return root().size() == path.size(); }
};

// One draft root, shared by the open handles of every file under it.
// Writes and truncates hold `mu` shared and fail with EBADF once
// `published` is set; a publish holds it exclusively.
struct DraftRoot {
  std::shared_mutex mu;
  bool published = false;  // guarded by mu
  // Open files of the draft that the kernel writes itself (passthrough):
  // a publish waits for them to close. Raised under `mu` held shared.
  std::atomic<int> kernel_writers{0};
};

// A root with the locks of the roots moved into it (`mv .a .d/a` while .a
// is open): a publish of it takes them all, exclusively, root first.
struct DraftRootLocks {
  std::shared_ptr<DraftRoot> root;
  std::vector<std::shared_ptr<DraftRoot>> merged;
};

class DraftTable final {
 public:
  DraftTable() = default;
  DraftTable(const DraftTable&) = delete;
  DraftTable& operator=(const DraftTable&) = delete;

  // The inode of `key`: the one it has, or a new one.
  Ino Intern(const DraftKey& key) EXCLUDES(mu_);
  std::optional<DraftKey> Get(Ino ino) EXCLUDES(mu_);
  // The lock of the draft root `root` of `uid` in `collection_id`.
  std::shared_ptr<DraftRoot> RootOf(int64_t collection_id, uid_t uid,
                                    std::string_view root) EXCLUDES(mu_);
  // RootOf, with the locks of the roots moved into it since.
  DraftRootLocks LocksOf(int64_t collection_id, uid_t uid,
                         std::string_view root) EXCLUDES(mu_);
  // `from` (and everything under it) is now `to`; what was at `to` is gone.
  void Rename(int64_t collection_id, uid_t uid, std::string_view from,
              std::string_view to) EXCLUDES(mu_);
  // `path` and everything under it are gone (their inodes no longer
  // resolve; a root's lock is dropped, open handles keep theirs).
  void Remove(int64_t collection_id, uid_t uid, std::string_view path)
      EXCLUDES(mu_);

 private:
  using Key = std::tuple<int64_t, uid_t, std::string>;
  // Erases `path` and its subtree; returns the erased keys with their ids.
  std::map<std::string, uint64_t> EraseTree(int64_t collection_id, uid_t uid,
                                            std::string_view path)
      REQUIRES(mu_);
  // Erases the entry at `it` into `erased`; returns the next entry.
  std::map<Key, uint64_t>::iterator Take(
      std::map<Key, uint64_t>::iterator it,
      std::map<std::string, uint64_t>& erased) REQUIRES(mu_);

  Mutex mu_;
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  std::unordered_map<uint64_t, DraftKey> by_id_ GUARDED_BY(mu_);
  std::map<Key, uint64_t> by_key_ GUARDED_BY(mu_);
  std::map<Key, DraftRootLocks> roots_ GUARDED_BY(mu_);
};

// Bytes of drafts per user (st_blocks * 512, as registry::Drafts::Usage
// counts them), against the quota. Thread-safe.
class DraftUsage final {
 public:
  void Reset(const std::map<uid_t, uint64_t>& usage) EXCLUDES(mu_);
  // Adds `bytes` to uid's count unless that would pass `quota`: false then.
  bool Reserve(uid_t uid, uint64_t bytes, uint64_t quota) EXCLUDES(mu_);
  // Adds (or with a negative `delta`, subtracts) bytes; never below 0.
  void Add(uid_t uid, int64_t delta) EXCLUDES(mu_);
  uint64_t Of(uid_t uid) EXCLUDES(mu_);

 private:
  Mutex mu_;
  std::map<uid_t, uint64_t> bytes_ GUARDED_BY(mu_);
};

}  // namespace regfs::fs

#endif  // REGFS_FS_DRAFT_TABLE_H_
