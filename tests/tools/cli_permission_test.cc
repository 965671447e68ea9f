// Roles and protected names through the command line, with the CLI run as
// a second, non-admin user (fork, then setresgid/setresuid in the child).
//
// In production only the store's owner uses the CLI on the store directly
// (it is created 0700); everyone else goes through the mount, and the
// registry makes the same role checks on both paths. To drive those checks
// from the CLI, these tests open the store's files to every user
// (OpenStoreToEveryone) — a test-only step that stands in for the mount's
// access, not something a deployment does. The refusal a user sees is then
// exactly the registry's, as the mount would log it.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

class CliPermissionTest : public CliTest {
 protected:
  void SetUp() override {
    // CI runs as root; never pass by skipping.
    ASSERT_EQ(geteuid(), 0u)
        << "the permission tests must run as root, to act as another user";
    CliTest::SetUp();
  }

  // Lets `nobody` open and write the database (see the file comment).
  void OpenStoreToEveryone() const {
    ASSERT_EQ(chmod(dir().c_str(), 0755), 0);
    ASSERT_EQ(chmod(store().c_str(), 0777), 0);
    for (const auto& entry : std::filesystem::directory_iterator(store())) {
      if (entry.is_regular_file()) chmod(entry.path().c_str(), 0666);
    }
  }

  static RunOptions AsNobody() { return {.uid = kNobody, .gid = kNogroup}; }

  // Pushes v0, v1, v2 of models and points production at v1.
  void PushModels() const {
    const std::string model = WriteFile("model.pt", "0");
    Ok({"push", "models", model});
    WriteFile("model.pt", "1");
    Ok({"push", "models", model, "--alias", "production"});
    WriteFile("model.pt", "2");
    Ok({"push", "models", model});
  }

  std::vector<nlohmann::json> History() const {
    const RunResult r = Regfs({"history", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<nlohmann::json> events;
    for (const auto& line : r.OutLines()) {
      events.push_back(nlohmann::json::parse(line));
    }
    return events;
  }
};

TEST_F(CliPermissionTest, OnlyAdminsMoveAProtectedAlias) {
  PushModels();
  EXPECT_EQ(Ok({"protect", "production"}),
            "protected 'production': only admins may create, move or remove "
            "aliases with this name\n");
  Ok({"role", "grant", "nobody", "member"});
  OpenStoreToEveryone();

  RunResult r = Regfs({"whoami"}, AsNobody());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("role:    member\n"));

  // The member is refused on the protected name, with the registry's words.
  EXPECT_EQ(Refused({"alias", "set", "models", "production", "v2"}, AsNobody()),
            "regfs: alias 'production' is protected: only admins may move it");
  EXPECT_THAT(Refused({"alias", "rm", "models", "production"}, AsNobody()),
              HasSubstr("alias 'production' is protected"));
  // ... while unprotected names are the member's to change.
  r = Regfs({"alias", "set", "models", "candidate", "v2"}, AsNobody());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "models/candidate -> v2\n");
  EXPECT_EQ(Ok({"resolve", "models/production"}).substr(0, 3), "v1 ");

  // An admin moves it.
  EXPECT_EQ(Ok({"alias", "set", "models", "production", "v2"}),
            "models/production -> v2\n");
  EXPECT_EQ(Ok({"resolve", "models/production"}).substr(0, 3), "v2 ");

  // The history names each actor, and refusals left no trace.
  std::vector<std::string> moves;
  for (const auto& e : History()) {
    if (e["event"] != "alias.create" && e["event"] != "alias.move") continue;
    if (e["alias"] == "latest") continue;
    moves.push_back(fmt::format("{} {} {} {}", e["event"].get<std::string>(),
                                e["alias"].get<std::string>(),
                                e["uid"].get<int>(),
                                e["user"].get<std::string>()));
  }
  EXPECT_THAT(moves,
              ::testing::ElementsAre("alias.create production 0 root",
                                     "alias.create candidate 65534 nobody",
                                     "alias.move production 0 root"));
}

TEST_F(CliPermissionTest, ViewersMayNotChangeAnything) {
  PushModels();
  OpenStoreToEveryone();  // nobody has no grant: the default role, viewer
  RunResult r = Regfs({"whoami", "--json"}, AsNobody());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["role"], "viewer");
  EXPECT_THAT(
      Refused({"alias", "set", "models", "candidate", "v2"}, AsNobody()),
      HasSubstr("viewer"));
  EXPECT_THAT(Refused({"tag", "add", "models/v0", "good"}, AsNobody()),
              HasSubstr("viewer"));
  Refused({"protect", "staging"}, AsNobody());
  Refused({"role", "grant", "nobody", "admin"}, AsNobody());
  Refused({"rm", "models/v0"}, AsNobody());
  // Reading is fine.
  r = Regfs({"resolve", "models/production"}, AsNobody());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 3), "v1 ");
}

TEST_F(CliPermissionTest, MembersMayNotProtectGrantOrDelete) {
  PushModels();
  Ok({"role", "grant", "nobody", "member"});
  OpenStoreToEveryone();
  EXPECT_THAT(Refused({"protect", "staging"}, AsNobody()), HasSubstr("admins"));
  EXPECT_THAT(Refused({"role", "grant", "nobody", "admin"}, AsNobody()),
              HasSubstr("admins"));
  EXPECT_THAT(Refused({"rm", "models/v0"}, AsNobody()), HasSubstr("admins"));
}

TEST_F(CliPermissionTest, GroupGrantsCount) {
  PushModels();
  Ok({"role", "grant", "group:nogroup", "admin"});
  OpenStoreToEveryone();
  const RunResult r =
      Regfs({"alias", "set", "models", "production", "v0"}, AsNobody());
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Without access to the store's files, a non-owner gets one clear line.
TEST_F(CliPermissionTest, StoreIsPrivateToItsOwner) {
  PushModels();
  ASSERT_EQ(chmod(dir().c_str(), 0755), 0);
  EXPECT_EQ(std::filesystem::status(store()).permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  // ... which says who may use the store and how everyone else gets in.
  const std::string hint =
      "only the store's owner (" + CurrentUser().name +
      ") uses the CLI on it directly; everyone else works through a regfs "
      "mount of it";
  EXPECT_THAT(Refused({"ls"}, AsNobody()),
              AllOf(HasSubstr("Permission denied"), HasSubstr(hint)));
  EXPECT_THAT(
      Refused({"alias", "set", "models", "candidate", "v2"}, AsNobody()),
      HasSubstr(hint));
  // Readable but not writable to the caller: the same hint.
  ASSERT_EQ(chmod(store().c_str(), 0755), 0);
  ASSERT_EQ(chmod((store() / "registry.db").c_str(), 0644), 0);
  EXPECT_THAT(Refused({"ls"}, AsNobody()), HasSubstr(hint));
}

}  // namespace
}  // namespace regfs::tools::testing
