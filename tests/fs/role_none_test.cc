// `regfs role grant USER none` through the mount: the user's own `none`
// denies what the default (viewer) would give, and .regfs/whoami says so.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using RoleNoneTest = MountTest;

TEST_F(RoleNoneTest, WhoamiShowsNoneAndNothingIsListed) {
  // kNoRole has only the default role (viewer) until denied.
  const RunResult before = RunAs(kNoRole, {"ls", M("models").string()});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  ASSERT_TRUE(reg().Grant(root(), kNoRole.name(), registry::Role::kNone));
  // The daemon learns of the role event within a second (DESIGN).
  std::string role;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  do {
    const RunResult who = RunAs(kNoRole, {"cat", M(".regfs/whoami").string()});
    ASSERT_EQ(who.exit_code, 0) << who.err;
    role = nlohmann::json::parse(who.out)["role"];
    if (role == "none") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(role, "none") << DaemonLog();
  const RunResult after = RunAs(kNoRole, {"ls", M("models").string()});
  EXPECT_NE(after.exit_code, 0) << after.out << DaemonLog();
  // Others keep the default.
  const RunResult other = RunAs(kGroupMember, {"ls", M("models").string()});
  EXPECT_EQ(other.exit_code, 0) << other.err;
}

}  // namespace
}  // namespace regfs::fs::testing
