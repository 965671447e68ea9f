// The symlinks the kernel holds, by inode: an alias, `latest` or a staged
// entry, as it was when the kernel looked it up.
//
// An alias's inode changes whenever the alias is created, moved or renamed
// (it is derived from Alias::revision), so a snapshot never goes stale:
// getattr and readlink of an inode answer what that inode meant, even in
// the moment between a change and the kernel dropping its cached entry.
// An entry lives while the kernel holds a lookup count on its inode; forget
// removes it.
//
// A staged entry committed by a rename (`ln -sfn`) stands in for its
// alias's inode while the kernel holds it: the kernel moved the staged
// inode to the alias's name, and the lookups it makes of that name next
// (symlink(2) over an existing name and rename(2) onto one always ask
// again) find the inode they hold instead of a new one that would drop
// the entry and ask a second time.
//
// Thread-safe: one mutex guards the table.
#ifndef REGFS_FS_LINK_TABLE_H_
#define REGFS_FS_LINK_TABLE_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "fs/inode.h"
#include "registry/model.h"
#include "registry/mutex.h"

namespace regfs::fs {

// A symlink: the alias it shows (readlink gives "v<version>"; a staged
// entry's or a past view's link fills in only the alias's name, version
// and who set it when), and what the mount adds.
struct LinkNode : registry::Alias {
  int64_t collection_id = 0;
  std::string target;  // if not empty, what readlink gives instead
  bool staged = false;
};

// The snapshot of an alias as the registry returned it.
LinkNode LinkNodeOf(const registry::Alias& alias, int64_t collection_id);

class LinkTable final {
 public:
  LinkTable() = default;
  LinkTable(const LinkTable&) = delete;
  LinkTable& operator=(const LinkTable&) = delete;

  // Stores (or refreshes) the snapshot of `ino` and counts one lookup.
  void Remember(Ino ino, LinkNode node);
  std::optional<LinkNode> Get(Ino ino) const;
  // Replaces the snapshot of `ino` if the kernel still holds it (a staged
  // entry that was committed), without counting a lookup.
  void Update(Ino ino, LinkNode node);
  // Update, and `ino` stands in for `alias_ino` while the kernel holds it.
  void UpdateStandingIn(Ino ino, LinkNode node, Ino alias_ino);
  // The inode that answers for `alias_ino`: the one standing in for it,
  // if any, else `alias_ino` itself.
  Ino InoFor(Ino alias_ino) const;
  // The kernel dropped `nlookup` references to `ino`.
  void Forget(Ino ino, uint64_t nlookup);

 private:
  struct Slot {
    LinkNode node;
    uint64_t lookups = 0;
    Ino stands_in_for = 0;  // the alias inode this one answers for, or 0
  };
  mutable Mutex mu_;
  std::unordered_map<Ino, Slot> nodes_ GUARDED_BY(mu_);
  std::unordered_map<Ino, Ino> stand_ins_ GUARDED_BY(mu_);  // alias -> held
};

}  // namespace regfs::fs

#endif  // REGFS_FS_LINK_TABLE_H_
