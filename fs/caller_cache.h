// Who is calling: the Identity of a request's uid/gid/groups (user and
// group names resolved through NSS) and its Role, cached for a short while
// because NSS lookups, /proc reads of supplementary groups and role queries
// cost more than the FUSE request they serve.
//
// Reads use the entry cached for (uid, gid) whatever its groups; changes
// pass the groups of their own request and get an identity with exactly
// those groups, or, while no change has needed them since the last role
// event, go without (ForChangeWithoutGroups): the registry decides whether
// a role depends on groups inside the change's own transaction, and says
// GroupsUnread when it does (a store with a group grant); the mount then
// reads the groups and asks again, and reads them first from then on.
//
// Roles are dropped on role events (InvalidateRoles). While the registry's
// view is stale (Registry::StaleSince) or a role cannot be read, the last
// role read for the same groups answers.
//
// Thread-safe: one mutex; registry and NSS calls run outside it.
#ifndef REGFS_FS_CALLER_CACHE_H_
#define REGFS_FS_CALLER_CACHE_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "registry/error.h"
#include "registry/identity.h"
#include "registry/model.h"
#include "registry/mutex.h"
#include "registry/registry.h"

namespace regfs::fs {

class CallerCache final {
 public:
  using Clock = std::chrono::steady_clock;
  using GroupsFn = std::function<std::vector<gid_t>()>;

  explicit CallerCache(registry::Registry& registry,
                       Clock::duration ttl = std::chrono::seconds(2));
  CallerCache(const CallerCache&) = delete;
  CallerCache& operator=(const CallerCache&) = delete;

  // The identity for a change: `groups` as the request reports them now.
  registry::Identity ForChange(uid_t uid, gid_t gid,
                               const std::vector<gid_t>& groups);
  // The identity for a change whose groups are not read
  // (Identity::groups_known false), or nullopt once a change has needed
  // them (NoteGroupsNeeded) and no role event has come since.
  std::optional<registry::Identity> ForChangeWithoutGroups(uid_t uid,
                                                           gid_t gid);
  // A change's role depended on the caller's groups (GroupsUnread).
  void NoteGroupsNeeded();
  // The identity for a read: the cached one of (uid, gid), else built with
  // `groups()`.
  registry::Identity ForRead(uid_t uid, gid_t gid, const GroupsFn& groups);
  // The role of `who`, cached per (uid, gid, groups); not cached for
  // unread groups.
  registry::Result<registry::Role> RoleOf(const registry::Identity& who);
  // Registry::Authorize with the cached role.
  registry::Status Authorize(const registry::Identity& who,
                             const registry::Action& action);
  // Roles changed: forgets them, and whether changes need groups.
  void InvalidateRoles();

 private:
  using Key = std::pair<uid_t, gid_t>;
  struct Entry {
    registry::Identity identity;
    Clock::time_point expires;
    // The role last read for identity's groups, current until
    // role_expires; past then, still the answer while the registry cannot
    // give a new one (a shared store's database away: reads go on with
    // what the mount knows).
    std::optional<registry::Role> role;
    Clock::time_point role_expires;
  };
  // A new entry for `identity`, keeping the role of the entry it replaces
  // if the groups are the same.
  void Replace(const Key& key, const registry::Identity& identity)
      REQUIRES(mu_);

  registry::Registry& registry_;
  const Clock::duration ttl_;
  Mutex mu_;
  std::map<Key, Entry> entries_ GUARDED_BY(mu_);
  // ForChangeWithoutGroups's identities: their names, resolved once a ttl.
  std::map<Key, std::pair<registry::Identity, Clock::time_point>> bare_
      GUARDED_BY(mu_);
  bool groups_needed_ GUARDED_BY(mu_) = false;
  uint64_t role_generation_ GUARDED_BY(mu_) = 0;  // bumped by InvalidateRoles
};

}  // namespace regfs::fs

#endif  // REGFS_FS_CALLER_CACHE_H_
