// Inode numbers of the mount. They are derived from registry ids, so they
// are stable across remounts: the top byte tags what the inode is, the rest
// is the id of the thing (a collection id, Version::id, TreeEntry::id, or
// an alias's revision). The kernel's node id and st_ino are the same number.
#ifndef REGFS_FS_INODE_H_
#define REGFS_FS_INODE_H_

#include <cstdint>

namespace regfs::fs {

using Ino = uint64_t;

enum class NodeType : uint8_t {
  kSpecial = 0,            // the fixed inodes below
  kCollection = 1,         // a collection directory: collection id
  kCollectionHistory = 2,  // <collection>/.history: collection id
  kVersion = 3,            // a version file or tree root: Version::id
  kTreeEntry = 4,          // a file or directory inside a tree: TreeEntry::id
  kAlias = 5,              // a user alias: Alias::revision
  kLatest = 6,             // `latest`: Alias::revision (the version's id)
  kStaged = 7,             // a symlink held in memory only: a counter
  kPast = 8,               // a node of a view of the past: PastViews' id
  kDraft = 9,              // a file or directory of a draft: DraftTable's id
};

inline constexpr Ino kRootIno = 1;  // FUSE_ROOT_ID
inline constexpr Ino kControlDirIno = 2;
inline constexpr Ino kGlobalHistoryIno = 3;
inline constexpr Ino kWhoamiIno = 4;
inline constexpr Ino kAtDirIno = 5;  // .regfs/at
// ctl: the control file .regfs/ctl (control_file.h).
inline constexpr Ino kCtlIno = 6;

inline constexpr int kTagShift = 56;
inline constexpr uint64_t kIdMask = (uint64_t{1} << kTagShift) - 1;

constexpr Ino MakeIno(NodeType type, uint64_t id) {
  return (static_cast<uint64_t>(type) << kTagShift) | (id & kIdMask);
}
constexpr NodeType TypeOf(Ino ino) {
  return static_cast<NodeType>(ino >> kTagShift);
}
constexpr uint64_t IdOf(Ino ino) { return ino & kIdMask; }

}  // namespace regfs::fs

#endif  // REGFS_FS_INODE_H_
