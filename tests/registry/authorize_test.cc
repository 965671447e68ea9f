// Registry::Authorize: who may do what, and which refusal code (EACCES or
// EPERM through the mount) a refused action gets.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "registry/registry.h"
#include "registry/whoami.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Owner;
using testing::User;

constexpr std::optional<Code> kAllowed = std::nullopt;
constexpr std::optional<Code> kDenied = Code::kPermissionDenied;
constexpr std::optional<Code> kNotPermitted = Code::kNotPermitted;

constexpr uid_t kCaller = 20001;
constexpr uid_t kOther = 20002;

struct Case {
  Role role;
  Action action;
  std::optional<Code> decision;
};

Action StagedBy(uid_t uid) { return Action::ChangeStaged(User(uid)); }

std::string Describe(const Case& c) {
  return std::string(RoleName(c.role)) + " kind " +
         std::to_string(static_cast<int>(c.action.kind)) + " owner " +
         std::to_string(c.action.owner.uid);
}

TEST(AuthorizeTest, RoleTimesActionGivesTheDecision) {
  const std::vector<Case> cases = {
      {Role::kNone, Action::Read(), kDenied},
      {Role::kViewer, Action::Read(), kAllowed},
      {Role::kMember, Action::Read(), kAllowed},
      {Role::kAdmin, Action::Read(), kAllowed},
      {Role::kNone, Action::Change(), kDenied},
      {Role::kViewer, Action::Change(), kDenied},
      {Role::kMember, Action::Change(), kAllowed},
      {Role::kAdmin, Action::Change(), kAllowed},
      // Nobody changes what is immutable; who may change anything hears
      // EPERM, who may change nothing EACCES.
      {Role::kNone, Action::ChangeImmutable(), kDenied},
      {Role::kViewer, Action::ChangeImmutable(), kDenied},
      {Role::kMember, Action::ChangeImmutable(), kNotPermitted},
      {Role::kAdmin, Action::ChangeImmutable(), kNotPermitted},
      // A staged name: its owner whatever their role, else only admins.
      {Role::kNone, StagedBy(kCaller), kAllowed},
      {Role::kViewer, StagedBy(kCaller), kAllowed},
      {Role::kMember, StagedBy(kCaller), kAllowed},
      {Role::kNone, StagedBy(kOther), kDenied},
      {Role::kViewer, StagedBy(kOther), kDenied},
      {Role::kMember, StagedBy(kOther), kNotPermitted},
      {Role::kAdmin, StagedBy(kOther), kAllowed},
  };
  for (const Case& c : cases) {
    const Status decision = Registry::Authorize(
        User(kCaller), c.action, [&]() -> Result<Role> { return c.role; });
    EXPECT_EQ(CodeOf(decision), c.decision) << Describe(c);
  }
}

TEST(AuthorizeTest, ReadRefusalSaysReadingNeedsARole) {
  const Status decision =
      Registry::Authorize(User(kCaller), Action::Read(),
                          []() -> Result<Role> { return Role::kNone; });
  ASSERT_FALSE(decision.has_value());
  EXPECT_EQ(decision.error().message, "reading needs a role");
}

TEST(AuthorizeTest, OwnerOfAStagedNameNeedsNoRoleLookup) {
  bool asked = false;
  const Status decision = Registry::Authorize(
      User(kCaller), StagedBy(kCaller), [&]() -> Result<Role> {
        asked = true;
        return Fail(Code::kIoError, "no role table");
      });
  EXPECT_TRUE(decision.has_value());
  EXPECT_FALSE(asked);
}

TEST(AuthorizeTest, AFailedRoleLookupIsPassedOn) {
  for (const Action& action : {Action::Read(), Action::Change(),
                               Action::ChangeImmutable(), StagedBy(kOther)}) {
    const Status decision = Registry::Authorize(
        User(kCaller), action,
        []() -> Result<Role> { return Fail(Code::kIoError, "disk gone"); });
    EXPECT_EQ(CodeOf(decision), Code::kIoError);
  }
}

class AuthorizeStoreTest : public testing::RegistryTest {};

TEST_F(AuthorizeStoreTest, UsesTheCallersRoleInTheStore) {
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20003", Role::kMember));
  REGFS_ASSERT_OK(reg().Grant(Owner(), "20004", Role::kNone));
  EXPECT_EQ(CodeOf(reg().Authorize(User(20003), Action::Change())), kAllowed);
  EXPECT_EQ(CodeOf(reg().Authorize(User(20005), Action::Change())), kDenied)
      << "the default role is viewer";
  EXPECT_EQ(CodeOf(reg().Authorize(User(20005), Action::Read())), kAllowed);
  EXPECT_EQ(CodeOf(reg().Authorize(User(20004), Action::Read())), kDenied);
  EXPECT_EQ(CodeOf(reg().Authorize(Owner(), StagedBy(kOther))), kAllowed)
      << "the owner is an admin";
}

TEST(WhoamiJsonTest, KeysInOrderAndUnknownRoleWhenUnread) {
  Identity who;
  who.uid = 7;
  who.gid = 8;
  who.user = "u";
  who.groups = {8};
  who.group_names = {"g"};
  EXPECT_EQ(WhoamiJson(who, Role::kMember).dump(),
            R"({"uid":7,"user":"u","gid":8,"groups":[8],)"
            R"("group_names":["g"],"role":"member"})");
  EXPECT_EQ(WhoamiJson(who, Fail(Code::kIoError, "x"))["role"], "unknown");
}

}  // namespace
}  // namespace regfs::registry
