// fs/caller_cache.h: identities cached per (uid, gid) for reads, exact
// groups for changes, and roles that a role event drops.
#include "fs/caller_cache.h"

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <vector>

#include "registry/identity.h"
#include "registry/model.h"
#include "tests/fs/temp_store.h"

namespace regfs::fs {
namespace {

using registry::Identity;
using registry::Interface;
using registry::Role;
using testing::Admin;
using testing::Caller;
using testing::kMemberUid;
using testing::TempStore;

constexpr auto kLong = std::chrono::hours(1);
constexpr auto kExpired = std::chrono::seconds(0);
constexpr gid_t kGroupA = 30001;
constexpr gid_t kGroupB = 30002;

// A groups() for ForRead that counts how often it was asked.
struct CountingGroups {
  std::vector<gid_t> groups;
  int calls = 0;
  CallerCache::GroupsFn Fn() {
    return [this] {
      ++calls;
      return groups;
    };
  }
};

class CallerCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.ok()); }

  // The role the registry itself gives `who` now.
  Role RegistryRole(const Identity& who) {
    auto role = store_.reg().RoleOf(who);
    EXPECT_TRUE(role.has_value()) << role.error().message;
    return role.value_or(Role::kNone);
  }
  void Grant(const char* principal, Role role) {
    auto s = store_.reg().Grant(Admin(), principal, role);
    ASSERT_TRUE(s.has_value()) << s.error().message;
  }

  TempStore store_;
};

TEST_F(CallerCacheTest, ForReadBuildsTheIdentityOnceAndThenReusesIt) {
  CallerCache cache(store_.reg(), kLong);
  CountingGroups first{{kGroupA}};
  const Identity id = cache.ForRead(kMemberUid, kMemberUid, first.Fn());
  EXPECT_EQ(first.calls, 1);
  EXPECT_EQ(id.uid, kMemberUid);
  EXPECT_EQ(id.gid, kMemberUid);
  EXPECT_EQ(id.groups, (std::vector<gid_t>{kMemberUid, kGroupA}));
  EXPECT_EQ(id.user, "20001");
  EXPECT_EQ(id.interface, Interface::kFs);

  // Whatever the groups are now, a read uses the cached entry.
  CountingGroups second{{kGroupB}};
  const Identity again = cache.ForRead(kMemberUid, kMemberUid, second.Fn());
  EXPECT_EQ(second.calls, 0) << "NSS and /proc asked again within the ttl";
  EXPECT_EQ(again.groups, id.groups);
}

TEST_F(CallerCacheTest, ForReadAsksAgainOnceTheEntryExpired) {
  CallerCache cache(store_.reg(), kExpired);
  CountingGroups first{{kGroupA}};
  cache.ForRead(kMemberUid, kMemberUid, first.Fn());
  CountingGroups second{{kGroupB}};
  const Identity id = cache.ForRead(kMemberUid, kMemberUid, second.Fn());
  EXPECT_EQ(second.calls, 1);
  EXPECT_EQ(id.groups, (std::vector<gid_t>{kMemberUid, kGroupB}));
}

TEST_F(CallerCacheTest, EachUidAndGidPairHasItsOwnEntry) {
  CallerCache cache(store_.reg(), kLong);
  CountingGroups a{{kGroupA}};
  CountingGroups b{{kGroupB}};
  const Identity one = cache.ForRead(kMemberUid, kMemberUid, a.Fn());
  const Identity other_gid = cache.ForRead(kMemberUid, kGroupB, b.Fn());
  EXPECT_EQ(b.calls, 1);
  EXPECT_EQ(one.gid, kMemberUid);
  EXPECT_EQ(other_gid.gid, kGroupB);
  const Identity other_uid = cache.ForRead(kMemberUid + 1, kMemberUid, b.Fn());
  EXPECT_EQ(b.calls, 2);
  EXPECT_EQ(other_uid.uid, kMemberUid + 1);
}

TEST_F(CallerCacheTest, ForChangeUsesExactlyTheGroupsOfTheRequest) {
  CallerCache cache(store_.reg(), kLong);
  CountingGroups read{{kGroupA}};
  cache.ForRead(kMemberUid, kMemberUid, read.Fn());

  const Identity same = cache.ForChange(kMemberUid, kMemberUid, {kGroupA});
  EXPECT_EQ(same.groups, (std::vector<gid_t>{kMemberUid, kGroupA}));
  // The gid counts as one of the groups whether or not the request says so.
  const Identity with_gid =
      cache.ForChange(kMemberUid, kMemberUid, {kGroupA, kMemberUid});
  EXPECT_EQ(with_gid.groups, (std::vector<gid_t>{kMemberUid, kGroupA}));

  const Identity changed = cache.ForChange(kMemberUid, kMemberUid, {kGroupB});
  EXPECT_EQ(changed.groups, (std::vector<gid_t>{kMemberUid, kGroupB}));
  // The change's identity replaced the cached one, reads included.
  CountingGroups later{{kGroupA}};
  const Identity read_now = cache.ForRead(kMemberUid, kMemberUid, later.Fn());
  EXPECT_EQ(later.calls, 0);
  EXPECT_EQ(read_now.groups, changed.groups);

  const Identity none = cache.ForChange(kMemberUid, kMemberUid, {});
  EXPECT_EQ(none.groups, (std::vector<gid_t>{kMemberUid}));
}

TEST_F(CallerCacheTest, RoleOfAnswersWhatTheRegistryDecides) {
  CallerCache cache(store_.reg(), kLong);
  Grant("20001", Role::kMember);
  const Identity member = cache.ForChange(kMemberUid, kMemberUid, {});
  const Identity viewer = cache.ForChange(kMemberUid + 1, kMemberUid + 1, {});
  const Identity root = cache.ForChange(0, 0, {});
  for (const Identity& who : {member, viewer, root}) {
    auto role = cache.RoleOf(who);
    ASSERT_TRUE(role.has_value()) << role.error().message;
    EXPECT_EQ(*role, RegistryRole(who)) << who.user;
  }
  EXPECT_EQ(*cache.RoleOf(member), Role::kMember);
  EXPECT_EQ(*cache.RoleOf(viewer), Role::kViewer);
  EXPECT_EQ(*cache.RoleOf(root), Role::kAdmin);
}

// A role is cached with its caller's entry; InvalidateRoles (called on
// every role event) drops every cached role, so the next request sees the
// new grant.
TEST_F(CallerCacheTest, InvalidateRolesDropsCachedRoles) {
  CallerCache cache(store_.reg(), kLong);
  const Identity who = cache.ForChange(kMemberUid, kMemberUid, {});
  const Identity other = cache.ForChange(kMemberUid + 1, kMemberUid + 1, {});
  ASSERT_EQ(cache.RoleOf(who).value_or(Role::kNone), Role::kViewer);
  ASSERT_EQ(cache.RoleOf(other).value_or(Role::kNone), Role::kViewer);

  Grant("20001", Role::kMember);
  Grant("20002", Role::kNone);
  EXPECT_EQ(cache.RoleOf(who).value_or(Role::kNone), Role::kViewer)
      << "cached until a role event";
  cache.InvalidateRoles();
  EXPECT_EQ(cache.RoleOf(who).value_or(Role::kNone), Role::kMember);
  EXPECT_EQ(cache.RoleOf(other).value_or(Role::kViewer), Role::kNone);

  Grant("*", Role::kMember);
  Grant("20001", Role::kAdmin);
  cache.InvalidateRoles();
  EXPECT_EQ(cache.RoleOf(who).value_or(Role::kNone), Role::kAdmin);
}

TEST_F(CallerCacheTest, AnExpiredRoleIsAskedAgain) {
  CallerCache cache(store_.reg(), kExpired);
  const Identity who = cache.ForChange(kMemberUid, kMemberUid, {});
  ASSERT_EQ(cache.RoleOf(who).value_or(Role::kNone), Role::kViewer);
  Grant("20001", Role::kMember);
  EXPECT_EQ(cache.RoleOf(who).value_or(Role::kNone), Role::kMember);
}

// The role is cached per (uid, gid, groups): a caller whose groups differ
// from the cached identity's is asked of the registry.
TEST_F(CallerCacheTest, ARoleIsCachedOnlyForTheSameGroups) {
  CallerCache cache(store_.reg(), kLong);
  const Identity plain = cache.ForChange(kMemberUid, kMemberUid, {});
  ASSERT_EQ(cache.RoleOf(plain).value_or(Role::kNone), Role::kViewer);
  Grant("group:30001", Role::kMember);
  const Identity in_group = Caller(kMemberUid, {kGroupA});
  EXPECT_EQ(cache.RoleOf(in_group).value_or(Role::kNone), Role::kMember);
  EXPECT_EQ(cache.RoleOf(plain).value_or(Role::kNone), Role::kViewer)
      << "the cached role of the identity without the group";
}

// Without an entry for (uid, gid) nothing is cached: each call asks.
TEST_F(CallerCacheTest, ARoleWithoutAnIdentityEntryIsNotCached) {
  CallerCache cache(store_.reg(), kLong);
  const Identity who = Caller(kMemberUid);
  ASSERT_EQ(cache.RoleOf(who).value_or(Role::kNone), Role::kViewer);
  Grant("20001", Role::kMember);
  EXPECT_EQ(cache.RoleOf(who).value_or(Role::kNone), Role::kMember);
}

// Changes go without the caller's groups until one needs them (the
// registry said GroupsUnread), and again after the next role event.
TEST_F(CallerCacheTest, ChangesGoWithoutGroupsUntilOneNeedsThem) {
  CallerCache cache(store_.reg(), kLong);
  auto bare = cache.ForChangeWithoutGroups(kMemberUid, kMemberUid);
  ASSERT_TRUE(bare.has_value());
  EXPECT_FALSE(bare->groups_known);
  EXPECT_TRUE(bare->groups.empty());
  EXPECT_TRUE(bare->group_names.empty());
  EXPECT_EQ(bare->uid, kMemberUid);
  EXPECT_EQ(bare->user, "20001");
  EXPECT_EQ(cache.RoleOf(*bare).value_or(Role::kNone), Role::kViewer);

  Grant("group:30001", Role::kMember);
  EXPECT_EQ(cache.RoleOf(*bare).error().code, registry::Code::kGroupsUnread)
      << "never a cached role for unread groups";
  cache.NoteGroupsNeeded();
  EXPECT_FALSE(cache.ForChangeWithoutGroups(kMemberUid, kMemberUid))
      << "groups are read from now on";
  EXPECT_FALSE(cache.ForChangeWithoutGroups(kMemberUid + 1, kMemberUid + 1));
  cache.InvalidateRoles();
  EXPECT_TRUE(cache.ForChangeWithoutGroups(kMemberUid, kMemberUid))
      << "a role event may have removed the group grants";
}

}  // namespace
}  // namespace regfs::fs
