// Names and helpers shared by the files of FileSystem (file_system*.cc);
// not part of the fs/ interface.
#ifndef REGFS_FS_FILE_SYSTEM_INTERNAL_H_
#define REGFS_FS_FILE_SYSTEM_INTERNAL_H_

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <type_traits>

#include "fs/file_system.h"
#include "fs/inode.h"
#include "fs/link_table.h"
#include "fs/staging.h"
#include "registry/error.h"
#include "registry/identity.h"
#include "registry/model.h"

namespace regfs::fs {

inline constexpr std::string_view kControlDir = ".regfs";
inline constexpr std::string_view kHistoryFile = "history";
inline constexpr std::string_view kWhoamiFile = "whoami";
inline constexpr std::string_view kAtDir = "at";
inline constexpr std::string_view kCollectionHistory = ".history";

// How long the kernel may keep an entry or attributes (seconds), where
// FileSystemOptions does not say (it sets versions' and aliases').
// The entries of .regfs, .regfs/at and the control files never change.
inline constexpr double kControlEntryTimeout = 3600;
// Directories whose attributes are the mount's own (the root, .regfs,
// .regfs/at, collections).
inline constexpr double kDirAttrTimeout = 60;
// Asked every time: files whose size changes with every event (history,
// whoami) and views of the past (cheap to answer).
inline constexpr double kUncachedTimeout = 0;

// Drafts (drafts-fs): a draft root is renamed away by a publish, and is
// private to its writer (another caller's lookup must reach the daemon):
// the kernel asks every time. Entries inside a draft change only through
// this mount.
inline constexpr double kDraftRootTimeout = 0;
inline constexpr double kDraftTimeout = 1;
// On a collection: the version the caller published there last.
inline constexpr std::string_view kPublishedXattr = "user.regfs.published";

// Disk use of a file (st_blocks), and of a file or tree, as
// registry::Drafts::Usage counts it (file_system_drafts.cc).
uint64_t DiskBytes(const struct stat& st);
uint64_t TreeBytes(const std::filesystem::path& path);

// The inode of an alias as the registry returned it.
inline Ino AliasIno(const registry::Alias& alias) {
  return MakeIno(alias.is_latest ? NodeType::kLatest : NodeType::kAlias,
                 alias.revision);
}

// The symlink a staged entry shows until it is committed.
inline LinkNode StagedLinkNode(const StagedEntry& entry,
                               const std::string& collection) {
  LinkNode node;
  node.collection_id = entry.collection_id;
  node.collection = collection;
  node.name = entry.name;
  node.version = entry.version;
  node.staged = true;
  node.updated = entry.created_ms;
  node.updated_uid = entry.who.uid;
  node.updated_by = entry.who.user;
  return node;
}

template <class Change>
auto FileSystem::AsChanger(const Request& r, Change&& change)
    -> std::invoke_result_t<Change&, const registry::Identity&> {
  if (auto bare = callers_.ForChangeWithoutGroups(r.uid, r.gid)) {
    auto result = change(*bare);
    if (result || result.error().code != registry::Code::kGroupsUnread) {
      return result;
    }
    callers_.NoteGroupsNeeded();
  }
  return change(ChangeIdentity(r));
}

}  // namespace regfs::fs

#endif  // REGFS_FS_FILE_SYSTEM_INTERNAL_H_
