// `regfs search` (issue 16): its grouped output and --json, the same on
// the store directory (its owner) and through a mount (a member, as
// themselves), and refused through the mount, as `ls` is, to a user
// without a role. Label: fuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

namespace stdfs = std::filesystem;
using ::testing::HasSubstr;

constexpr uid_t kMemberUid = 20001;
constexpr uid_t kNoRoleUid = 20003;

class CliSearchTest : public CliMountTest {
 protected:
  void SetUp() override {
    CliMountTest::SetUp();
    if (HasFatalFailure()) return;
    Ok({"push", "resnet", WriteFile("weights.bin", "zero"), "--tag", "baseline",
        "--meta", "arch=ResNet50", "--description", "The first ResNet run"});
    Ok({"push", "resnet", WriteFile("weights.bin", "one"), "--alias",
        "production", "--tag", "resnet-tuned"});
    WriteFile("eval/resnet-scores.csv", "a,b");
    WriteFile("eval/plots/loss.svg", "<svg/>");
    Ok({"push", "evals", (dir() / "files/eval").string()});
    Ok({"role", "grant", std::to_string(kMemberUid), "member"});
    Ok({"role", "grant", std::to_string(kNoRoleUid), "none"});
    Mount("allow_other");
  }
};

TEST_F(CliSearchTest, GroupsMatchesWithTheirVersionsAndAliases) {
  EXPECT_EQ(Ok({"search", "resnet"}),
            "collections (1 match)\n"
            "  resnet/v1  resnet  [latest, production]\n"
            "\n"
            "tags (1 match)\n"
            "  resnet/v1  resnet-tuned  [latest, production]\n"
            "\n"
            "metadata (1 match)\n"
            "  resnet/v0  arch=ResNet50\n"
            "\n"
            "descriptions (1 match)\n"
            "  resnet/v0  The first ResNet run\n"
            "\n"
            "file names (1 match)\n"
            "  evals/v0  resnet-scores.csv  [latest]\n");
  EXPECT_EQ(Ok({"search", "PLOTS", "--limit", "1"}),
            "file names (1 match)\n"
            "  evals/v0  plots/  [latest]\n");
  EXPECT_EQ(Ok({"search", "no such thing"}),
            "no matches for 'no such thing'\n");
  EXPECT_THAT(Refused({"search", ""}), HasSubstr("needs a term"));
}

TEST_F(CliSearchTest, CountsWhatItLeavesOut) {
  const std::string out = Ok({"search", "e", "--limit", "1"});
  EXPECT_THAT(out, HasSubstr("collections (2 matches)\n"));
  EXPECT_THAT(out, HasSubstr("  ... and 1 more (narrow the term, or raise "
                             "--limit up to 1000)\n"));
  const nlohmann::json json = Json({"search", "e", "--limit", "1"});
  EXPECT_EQ(json["limit"], 1);
  EXPECT_EQ(json["groups"][0]["field"], "collection");
  EXPECT_EQ(json["groups"][0]["hits"].size(), 1u);
  EXPECT_EQ(json["groups"][0]["more"], 1);
}

TEST_F(CliSearchTest, AMemberSeesTheSameThroughTheMount) {
  const RunOptions member{.uid = kMemberUid, .gid = kMemberUid};
  const std::vector<std::vector<std::string>> searches = {
      {"search", "resnet"},
      {"search", "ResNet", "--json"},
      {"search", "e", "--limit", "1"},
      {"search", "%"},
      {"search", "nothing here"},
      {"search", ""},
  };
  for (const auto& args : searches) {
    SCOPED_TRACE(::testing::PrintToString(args));
    const RunResult direct = Regfs(args);
    const RunResult mounted = ThroughMount(args, member);
    EXPECT_EQ(mounted.exit_code, direct.exit_code) << mounted.err;
    EXPECT_EQ(mounted.out, direct.out);
    EXPECT_EQ(mounted.err, direct.err);
  }
}

TEST_F(CliSearchTest, WithoutARoleItIsRefusedThroughTheMountAsLsIs) {
  const RunOptions no_role{.uid = kNoRoleUid, .gid = kNoRoleUid};
  const RunResult ls = ThroughMount({"ls"}, no_role);
  const RunResult search = ThroughMount({"search", "resnet"}, no_role);
  EXPECT_EQ(ls.exit_code, 1);
  EXPECT_EQ(search.exit_code, 1);
  EXPECT_EQ(search.out, "");
  EXPECT_EQ(search.err, ls.err);
}

}  // namespace
}  // namespace regfs::tools::testing
