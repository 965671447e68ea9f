// The inodes of the mount's read-only views of the past:
//   .regfs/at/<moment>/                    the registry right after an event
//   .regfs/at/<moment>/<collection>/       its aliases and versions then
//   <collection>/<alias>@{N}               the alias's N-th previous target
// Each distinct node gets one inode of NodeType::kPast for the life of the
// table. A node's key includes everything it shows (its event, a link's
// target), and the past never changes, so an inode's meaning never goes
// stale: when `production@{1}` or `.regfs/at/now` comes to mean something
// else, the lookup makes a new inode.
//
// Moments are keyed by the name they were looked up by as well as their
// event number, so that a directory never has two names (the kernel allows
// one dentry per directory inode).
//
// Thread-safe: one mutex guards the table. It holds at most kMaxNodes; a
// full table is emptied (inodes the kernel still holds then answer ENOENT,
// and a fresh lookup makes them again).
#ifndef REGFS_FS_PAST_VIEWS_H_
#define REGFS_FS_PAST_VIEWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "fs/inode.h"
#include "fs/link_table.h"
#include "registry/mutex.h"

namespace regfs::fs {

struct PastNode {
  enum class Kind {
    kMoment,      // .regfs/at/<moment>
    kCollection,  // .regfs/at/<moment>/<collection>
    kLink,        // a symlink in either, or <collection>/<alias>@{N}
  };
  Kind kind = Kind::kMoment;
  uint64_t seq = 0;    // shows the registry right after this event
  std::string moment;  // the name looked up under .regfs/at/ ("" for @{N})
  int64_t collection_id = 0;
  std::string collection;
  LinkNode link;  // kLink only
};

class PastViews final {
 public:
  static constexpr size_t kMaxNodes = size_t{1} << 20;

  PastViews() = default;
  PastViews(const PastViews&) = delete;
  PastViews& operator=(const PastViews&) = delete;

  // The inode of `node`, the same for equal nodes.
  Ino Intern(PastNode node);
  std::optional<PastNode> Get(Ino ino) const;

 private:
  static std::string KeyOf(const PastNode& node);

  mutable Mutex mu_;
  // Ids of the current table start above it.
  uint64_t generation_base_ GUARDED_BY(mu_) = 0;
  std::vector<PastNode> nodes_ GUARDED_BY(mu_);
  std::unordered_map<std::string, uint64_t> ids_ GUARDED_BY(mu_);
};

// The symlink target, relative to .regfs/at/<moment>/<collection>/, of a
// version of that collection in the live tree: "../../../../models/v3".
std::string PastVersionTarget(std::string_view collection, uint64_t version);

}  // namespace regfs::fs

#endif  // REGFS_FS_PAST_VIEWS_H_
