// `regfs drafts ls|rm|limits`: what each user sees and may do.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class CliDraftsTest : public CliTest {
 protected:
  // Writes draft NAME of uid in the collection with id 1 (made by `push`).
  fs::path Draft(uid_t uid, const std::string& name,
                 const std::string& content) const {
    const fs::path dir = store() / "drafts/1" / std::to_string(uid);
    fs::create_directories(dir);
    std::ofstream(dir / name) << content;
    return dir / name;
  }
};

TEST_F(CliDraftsTest, LsListsDraftsWithSizeAndIdleTime) {
  Ok({"push", "models", WriteFile("m.pt", "0")});
  const uid_t me = CurrentUser().uid;
  Draft(me, ".model.pt", std::string(10000, 'x'));
  Draft(me + 1, ".other", "y");
  const std::string out = Ok({"drafts", "ls"});
  EXPECT_THAT(out, HasSubstr(".model.pt"));
  EXPECT_THAT(out, HasSubstr(".other")) << "the owner is an admin";
  EXPECT_THAT(out, HasSubstr("models"));
  auto json = Json({"drafts", "ls"});
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 2u);
  EXPECT_EQ(json[0]["collection"], "models");
  EXPECT_EQ(json[0]["name"], ".model.pt");
  EXPECT_GE(json[0]["bytes"].get<uint64_t>(), 10000u);
  EXPECT_LT(json[0]["idle_seconds"].get<int64_t>(), 600);
}

TEST_F(CliDraftsTest, RmDiscardsOneDraft) {
  Ok({"push", "models", WriteFile("m.pt", "0")});
  const uid_t me = CurrentUser().uid;
  const fs::path mine = Draft(me, ".a", "a");
  const fs::path theirs = Draft(4242, ".b", "b");
  Ok({"drafts", "rm", "models", ".a"});
  EXPECT_FALSE(fs::exists(mine));
  Ok({"drafts", "rm", "models", ".b", "--user", "4242"});
  EXPECT_FALSE(fs::exists(theirs));
  EXPECT_THAT(Refused({"drafts", "rm", "models", ".a"}),
              HasSubstr("no draft .a"));
}

TEST_F(CliDraftsTest, LimitsShowDefaultsAndSet) {
  Ok({"push", "models", WriteFile("m.pt", "0")});
  EXPECT_EQ(Ok({"drafts", "limits"}),
            "quota 100.0 GiB per user, drafts idle for 7d are removed\n");
  Ok({"drafts", "limits", "--quota", "50G", "--idle", "3d"});
  auto json = Json({"drafts", "limits"});
  EXPECT_EQ(json["quota_bytes"], 50ull << 30);
  EXPECT_EQ(json["idle_seconds"], 3 * 86400);
  EXPECT_THAT(Refused({"drafts", "limits", "--quota", "lots"}),
              HasSubstr("is not a size"));
  EXPECT_THAT(Refused({"drafts", "limits", "--idle", "3x"}),
              HasSubstr("is not a duration"));
}

}  // namespace
}  // namespace regfs::tools::testing
