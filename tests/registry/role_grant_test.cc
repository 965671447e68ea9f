// Role grants of `none` to a user or group, and grants to a uid or gid,
// which are stored under the name the registry matches callers by.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "registry/identity.h"
#include "registry/registry.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Owner;
using testing::RegistryTest;
using testing::User;

using RoleGrantTest = RegistryTest;

// nobody/nogroup: present on every Debian system.
constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

Role RoleOf(Registry& reg, const Identity& who) {
  auto role = reg.RoleOf(who);
  EXPECT_TRUE(role.has_value()) << role.error().message;
  return role.value_or(Role::kAdmin);
}

std::vector<std::string> Principals(Registry& reg) {
  std::vector<std::string> out;
  auto roles = reg.ListRoles();
  EXPECT_TRUE(roles.has_value());
  for (const RoleGrant& g : roles.value_or(std::vector<RoleGrant>{})) {
    out.push_back(g.principal);
  }
  return out;
}

TEST_F(RoleGrantTest, NoneDeniesOneUserWhileTheDefaultIsViewer) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kNone));
  EXPECT_EQ(RoleOf(reg(), User(20002)), Role::kNone);
  EXPECT_EQ(RoleOf(reg(), User(20003)), Role::kViewer) << "others unchanged";
  // Revoking the grant gives the default back.
  REGFS_ASSERT_OK(reg().Revoke(Owner(), "20002"));
  EXPECT_EQ(RoleOf(reg(), User(20002)), Role::kViewer);
}

TEST_F(RoleGrantTest, UserNoneWinsOverTheUsersGroups) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "group:30001", Role::kAdmin));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kNone));
  EXPECT_EQ(RoleOf(reg(), User(20002, {30001})), Role::kNone);
  EXPECT_EQ(RoleOf(reg(), User(20003, {30001})), Role::kAdmin);
}

TEST_F(RoleGrantTest, GroupNoneDeniesUnlessAnotherGroupGrantsMore) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "group:30001", Role::kNone));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "group:30002", Role::kMember));
  const struct {
    const char* what;
    Identity who;
    Role role;
  } cases[] = {
      {"only the denied group", User(20001, {30001}), Role::kNone},
      {"denied and member groups", User(20002, {30001, 30002}), Role::kMember},
      {"no group grant", User(20003, {30003}), Role::kViewer},
  };
  for (const auto& c : cases) EXPECT_EQ(RoleOf(reg(), c.who), c.role) << c.what;
  // A user grant still wins over a denied group.
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20001", Role::kViewer));
  EXPECT_EQ(RoleOf(reg(), User(20001, {30001})), Role::kViewer);
}

TEST_F(RoleGrantTest, NoneUserIsRefusedChanges) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "w"));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "*", Role::kMember));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kNone));
  EXPECT_EQ(CodeOf(reg().SetAlias(User(20002), "models", "mine", "v0")),
            Code::kPermissionDenied);
  REGFS_EXPECT_OK(reg().SetAlias(User(20003), "models", "theirs", "v0"));
}

TEST_F(RoleGrantTest, AUidIsGrantedToItsUserName) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), std::to_string(kNobody), Role::kMember));
  EXPECT_EQ(Principals(reg()), std::vector<std::string>{"nobody"});
  const Identity nobody = Identity::For(kNobody, kNogroup, {}, Interface::kFs);
  ASSERT_EQ(nobody.user, "nobody");
  EXPECT_EQ(RoleOf(reg(), nobody), Role::kMember);
  // Revoking by uid removes the same grant.
  REGFS_ASSERT_OK(reg().Revoke(Owner(), std::to_string(kNobody)));
  EXPECT_TRUE(Principals(reg()).empty());
}

TEST_F(RoleGrantTest, AGidIsGrantedToItsGroupName) {
  const Identity who = Identity::For(20005, kNogroup, {}, Interface::kFs);
  ASSERT_FALSE(who.group_names.empty());
  const std::string name = who.group_names.front();
  ASSERT_NE(name, std::to_string(kNogroup)) << "gid 65534 has a name here";
  REGFS_ASSERT_OK(
      reg().Grant(Owner(), "group:" + std::to_string(kNogroup), Role::kMember));
  EXPECT_EQ(Principals(reg()), std::vector<std::string>{"group:" + name});
  EXPECT_EQ(RoleOf(reg(), who), Role::kMember);
}

TEST_F(RoleGrantTest, AUidWithoutANameMatchesCallersWithThatUid) {
  // What Identity holds for such a caller is its uid in decimal.
  REGFS_ASSERT_OK(reg().Grant(Owner(), "47002", Role::kAdmin));
  EXPECT_EQ(Principals(reg()), std::vector<std::string>{"47002"});
  EXPECT_EQ(RoleOf(reg(), User(47002)), Role::kAdmin);
}

TEST(CanonicalPrincipalTest, Table) {
  const struct {
    std::string given;
    std::string stored;
  } cases[] = {
      {"*", "*"},
      {"alice", "alice"},
      {"0", "root"},
      {"65534", "nobody"},
      {"group:0", "group:root"},
      {"group:staff", "group:staff"},
      {"47002", "47002"},
      {"group:47002", "group:47002"},
      {"4294967296", "4294967296"},  // not a uid: too large
      {"12ab", "12ab"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CanonicalPrincipal(c.given), c.stored) << c.given;
  }
}

}  // namespace
}  // namespace regfs::registry
