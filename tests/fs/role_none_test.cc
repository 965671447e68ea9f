// `regfs role grant USER none` through the mount: the user's own `none`
// denies what the default (viewer) gives everyone else. (A caller without
// a role cannot read .regfs/whoami either: it is refused like any read.)
// And a group's grant, made while the mount moves aliases without reading
// its callers' groups (fs/caller_cache.h), counts at once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using RoleNoneTest = MountTest;

TEST_F(RoleNoneTest, NoneDeniesOneUserWhileOthersKeepTheDefault) {
  // kNoRole has only the default role (viewer) until denied.
  const RunResult before = RunAs(kNoRole, {"ls", M("models").string()});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  ASSERT_TRUE(reg().Grant(root(), kNoRole.name(), registry::Role::kNone));
  // The daemon learns of the role event within a second (DESIGN).
  RunResult after;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  do {
    after = RunAs(kNoRole, {"ls", M("models").string()});
    if (after.exit_code != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_NE(after.exit_code, 0) << after.out << DaemonLog();
  EXPECT_NE(after.err.find("Permission denied"), std::string::npos)
      << after.err;
  const RunResult whoami = RunAs(kNoRole, {"cat", M(".regfs/whoami").string()});
  EXPECT_NE(whoami.exit_code, 0) << whoami.out;
  // Others keep the default.
  const RunResult other = RunAs(kGroupMember, {"ls", M("models").string()});
  EXPECT_EQ(other.exit_code, 0) << other.err;
}

// A `.tmp` symlink renamed over an alias, as `user`: 0 or the errno.
int MoveBySymlinkAndRename(const User& user, const stdfs::path& collection,
                           const char* target) {
  const std::string temp = (collection / ".tmp-move").string();
  const std::string alias = (collection / "mine").string();
  return AsUser(user, [&] {
    if (::symlink(target, temp.c_str()) != 0) return errno;
    if (std::rename(temp.c_str(), alias.c_str()) != 0) {
      const int err = errno;
      ::unlink(temp.c_str());
      return err;
    }
    return 0;
  });
}

TEST_F(RoleNoneTest, AGroupGrantCountsAtOnceWhereNoGroupHadOne) {
  // kGroupMember (in group 30000) is a member by the default, with no
  // group grant in the store: its moves need none of its groups.
  ASSERT_TRUE(reg().Revoke(root(), "group:30000"));
  ASSERT_TRUE(reg().Grant(root(), "*", registry::Role::kMember));
  ASSERT_EQ(MoveBySymlinkAndRename(kGroupMember, M("models"), "v0"), 0)
      << DaemonLog();
  ASSERT_EQ(MoveBySymlinkAndRename(kGroupMember, M("models"), "v1"), 0);
  ASSERT_EQ(RunAs(kGroupMember, {"ln", "-sfn", "v2", M("models/mine").string()})
                .exit_code,
            0);
  EXPECT_EQ(AliasTarget("models", "mine"), "v2");

  // A grant of `viewer` to its group makes it a viewer: it may still read
  // (reads use its groups), and the registry refuses its next move, however
  // soon, deciding in the move's transaction and asking for the groups.
  // (`none` would refuse already the lookup that precedes the change.)
  ASSERT_TRUE(reg().Grant(root(), "group:30000", registry::Role::kViewer));
  EXPECT_EQ(MoveBySymlinkAndRename(kGroupMember, M("models"), "v0"), EACCES)
      << DaemonLog();
  const RunResult ln =
      RunAs(kGroupMember, {"ln", "-sfn", "v1", M("models/mine").string()});
  EXPECT_NE(ln.exit_code, 0) << ln.out;
  EXPECT_NE(ln.err.find("Permission denied"), std::string::npos) << ln.err;
  EXPECT_EQ(AliasTarget("models", "mine"), "v2");
  // kNoRole, in no group, keeps the default.
  EXPECT_EQ(MoveBySymlinkAndRename(kNoRole, M("models"), "v1"), 0);
  EXPECT_EQ(AliasTarget("models", "mine"), "v1");

  // With the grant gone, the group member moves again.
  ASSERT_TRUE(reg().Revoke(root(), "group:30000"));
  EXPECT_EQ(MoveBySymlinkAndRename(kGroupMember, M("models"), "v0"), 0);
  EXPECT_EQ(AliasTarget("models", "mine"), "v0");
}

}  // namespace
}  // namespace regfs::fs::testing
