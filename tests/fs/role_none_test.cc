// `regfs role grant USER none` through the mount: the user's own `none`
// denies what the default (viewer) gives everyone else. (A caller without
// a role cannot read .regfs/whoami either: it is refused like any read.)
#include <gtest/gtest.h>

#include <chrono>
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

}  // namespace
}  // namespace regfs::fs::testing
