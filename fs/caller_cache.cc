#include "fs/caller_cache.h"

#include <algorithm>

namespace regfs::fs {

using registry::Identity;
using registry::Interface;
using registry::Role;

namespace {

bool SameGroups(const Identity& identity, uid_t uid, gid_t gid,
                std::vector<gid_t> groups) {
  if (identity.uid != uid || identity.gid != gid) return false;
  if (std::find(groups.begin(), groups.end(), gid) == groups.end()) {
    groups.insert(groups.begin(), gid);
  }
  std::vector<gid_t> have = identity.groups;
  std::sort(groups.begin(), groups.end());
  std::sort(have.begin(), have.end());
  return groups == have;
}

}  // namespace

CallerCache::CallerCache(registry::Registry& registry, Clock::duration ttl)
    : registry_(registry), ttl_(ttl) {}

Identity CallerCache::ForChange(uid_t uid, gid_t gid,
                                const std::vector<gid_t>& groups) {
  const Key key{uid, gid};
  {
    MutexLock lock(mu_);
    const auto it = entries_.find(key);
    if (it != entries_.end() && it->second.expires > Clock::now() &&
        SameGroups(it->second.identity, uid, gid, groups)) {
      return it->second.identity;
    }
  }
  Identity identity = Identity::For(uid, gid, groups, Interface::kFs);
  MutexLock lock(mu_);
  Replace(key, identity);
  return identity;
}

std::optional<Identity> CallerCache::ForChangeWithoutGroups(uid_t uid,
                                                            gid_t gid) {
  const Key key{uid, gid};
  {
    MutexLock lock(mu_);
    if (groups_needed_) return std::nullopt;
    const auto it = bare_.find(key);
    if (it != bare_.end() && it->second.second > Clock::now()) {
      return it->second.first;
    }
  }
  // Only the user's name: Identity::For would also look up the gid's.
  Identity identity{.uid = uid,
                    .gid = gid,
                    .user = registry::UserName(uid),
                    .interface = Interface::kFs,
                    .groups_known = false};
  MutexLock lock(mu_);
  bare_[key] = {identity, Clock::now() + ttl_};
  return identity;
}

void CallerCache::NoteGroupsNeeded() {
  MutexLock lock(mu_);
  groups_needed_ = true;
}

Identity CallerCache::ForRead(uid_t uid, gid_t gid, const GroupsFn& groups) {
  const Key key{uid, gid};
  {
    MutexLock lock(mu_);
    const auto it = entries_.find(key);
    if (it != entries_.end() && it->second.expires > Clock::now()) {
      return it->second.identity;
    }
  }
  Identity identity = Identity::For(uid, gid, groups(), Interface::kFs);
  MutexLock lock(mu_);
  Replace(key, identity);
  return identity;
}

void CallerCache::Replace(const Key& key, const Identity& identity) {
  Entry fresh{identity, Clock::now() + ttl_, std::nullopt, {}};
  const auto it = entries_.find(key);
  if (it != entries_.end() && it->second.identity.groups == identity.groups) {
    fresh.role = it->second.role;
    fresh.role_expires = it->second.role_expires;
  }
  entries_[key] = std::move(fresh);
}

registry::Result<Role> CallerCache::RoleOf(const Identity& who) {
  if (!who.groups_known) return registry_.RoleOf(who);
  const Key key{who.uid, who.gid};
  uint64_t generation = 0;
  std::optional<Role> last;  // expired, but the last one read
  {
    MutexLock lock(mu_);
    const auto it = entries_.find(key);
    if (it != entries_.end() && it->second.role &&
        it->second.identity.groups == who.groups) {
      if (it->second.role_expires > Clock::now()) return *it->second.role;
      last = it->second.role;
    }
    generation = role_generation_;
  }
  // A stale view would wait for a database that does not answer.
  if (last && registry_.StaleSince()) return *last;
  registry::Result<Role> role = registry_.RoleOf(who);
  if (!role) {
    if (last) return *last;
    return role;
  }
  MutexLock lock(mu_);
  if (generation != role_generation_) return role;  // raced an invalidation
  const auto it = entries_.find(key);
  if (it != entries_.end() && it->second.identity.groups == who.groups) {
    it->second.role = *role;
    it->second.role_expires = Clock::now() + ttl_;
  }
  return role;
}

registry::Status CallerCache::Authorize(const Identity& who,
                                        const registry::Action& action) {
  return registry::Registry::Authorize(who, action,
                                       [&] { return RoleOf(who); });
}

void CallerCache::InvalidateRoles() {
  MutexLock lock(mu_);
  ++role_generation_;
  groups_needed_ = false;
  for (auto& [key, entry] : entries_) entry.role.reset();
}

}  // namespace regfs::fs
