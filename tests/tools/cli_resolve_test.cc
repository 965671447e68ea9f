// `regfs resolve`: an alias now, as it was after a past moment (--at), N
// changes ago (ALIAS@{N}), and as a path under a mount (--path).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

class CliResolveTest : public CliTest {
 protected:
  // models/v0 "zero" with production, v1 "one", then production moved to
  // v1. The move is the newest event, and it carries a later millisecond
  // than the push before it, so that a time can tell them apart.
  void PushAndMove() {
    const std::string model = WriteFile("model.pt", "zero");
    Ok({"push", "models", model, "--alias", "production"});
    WriteFile("model.pt", "one");
    Ok({"push", "models", model});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    Ok({"alias", "set", "models", "production", "v1"});
    const std::vector<nlohmann::json> events = Events();
    ASSERT_GE(events.size(), 2u);
    move_ = events.back();
    before_move_ = events[events.size() - 2];
    ASSERT_EQ(move_["event"], "alias.move");
    ASSERT_LT(before_move_["time"].get<std::string>(),
              move_["time"].get<std::string>());
  }

  std::vector<nlohmann::json> Events() const {
    const RunResult r = Regfs({"history", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<nlohmann::json> events;
    for (const auto& line : r.OutLines()) {
      events.push_back(nlohmann::json::parse(line));
    }
    return events;
  }

  // The version `resolve ARGS` names: "v0" of "v0 /store/blobs/...".
  std::string VersionOf(std::vector<std::string> args) const {
    args.insert(args.begin(), "resolve");
    const std::string out = Ok(args);
    return out.substr(0, out.find_first_of(" \n"));
  }

  static std::string Seq(const nlohmann::json& event) {
    return std::to_string(event["seq"].get<uint64_t>());
  }

  nlohmann::json move_;
  nlohmann::json before_move_;
};

TEST_F(CliResolveTest, AtAnEventNumber) {
  PushAndMove();
  EXPECT_EQ(VersionOf({"models/production", "--at", Seq(before_move_)}), "v0");
  EXPECT_EQ(VersionOf({"models/production", "--at", Seq(move_)}), "v1");
  EXPECT_EQ(VersionOf({"models/production", "--at", "now"}), "v1");
  EXPECT_EQ(VersionOf({"models/latest", "--at", Seq(before_move_)}), "v1");
  // The line is the one `resolve` prints without --at: version, blob.
  const std::string line =
      Ok({"resolve", "models/production", "--at", Seq(before_move_)});
  ASSERT_THAT(line, MatchesRegex("v0 /.*/blobs/[0-9a-f]{2}/[0-9a-f]+\n"));
  EXPECT_EQ(ReadFile(line.substr(3, line.size() - 4)), "zero");

  const nlohmann::json j =
      Json({"resolve", "models/production", "--at", Seq(before_move_)});
  EXPECT_EQ(j["version"], "v0");
  EXPECT_EQ(j["name"], "production");
  EXPECT_EQ(j["at_seq"], before_move_["seq"]);
  EXPECT_FALSE(Json({"resolve", "models/production"}).contains("at_seq"));
}

TEST_F(CliResolveTest, AtATime) {
  PushAndMove();
  const std::string before = before_move_["time"].get<std::string>();
  const std::string after = move_["time"].get<std::string>();
  EXPECT_EQ(VersionOf({"models/production", "--at", before}), "v0");
  EXPECT_EQ(VersionOf({"models/production", "--at", after}), "v1");
  // A time resolves after the newest event at or before it.
  EXPECT_EQ(Json({"resolve", "models/production", "--at", before})["at_seq"],
            before_move_["seq"]);
  // Before the first event there was nothing to resolve.
  EXPECT_THAT(Refused({"resolve", "models/production", "--at", "2000-01-01"}),
              HasSubstr("models"));
}

TEST_F(CliResolveTest, PreviousTargets) {
  PushAndMove();
  EXPECT_EQ(VersionOf({"models/production@{0}"}), "v1");
  EXPECT_EQ(VersionOf({"models/production@{1}"}), "v0");
  EXPECT_EQ(VersionOf({"models/latest@{1}"}), "v0");
  const nlohmann::json j = Json({"resolve", "models/production@{1}"});
  EXPECT_EQ(j["version"], "v0");
  EXPECT_EQ(j["name"], "production@{1}");
  EXPECT_EQ(j["back"], 1);
  EXPECT_EQ(ReadFile(j["blob_path"].get<std::string>()), "zero");
  // production has had two targets.
  EXPECT_THAT(Refused({"resolve", "models/production@{2}"}),
              HasSubstr("models/production has had 2 target(s), not 3"));
}

TEST_F(CliResolveTest, AVersionDeletedSinceFails) {
  PushAndMove();
  Ok({"rm", "models/v0"});
  EXPECT_EQ(
      Refused({"resolve", "models/production", "--at", Seq(before_move_)}),
      "regfs: models/production named v0 after event " + Seq(before_move_) +
          ", but v0 has been deleted since");
  EXPECT_EQ(Refused({"resolve", "models/production@{1}"}),
            "regfs: models/production@{1} named v0, but v0 has been deleted "
            "since");
  EXPECT_EQ(VersionOf({"models/production"}), "v1");
}

TEST_F(CliResolveTest, BadMomentsAndCombinations) {
  PushAndMove();
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"models/production", "--at", "yesterday"}, 2, "'yesterday'"},
      {{"models/production", "--at", "-3"}, 2, "'-3'"},
      {{"models/production", "--at", ""}, 2, "''"},
      {{"models/production@{1}", "--at", "now"}, 2, "ALIAS@{N}"},
      {{"models/production", "--at", "999"}, 1, "there is no event 999"},
      {{"models/v0", "--at", "now"}, 1, "v0 is a version, not an alias"},
      {{"models/nosuch", "--at", "now"}, 1, "nosuch"},
      {{"models/nosuch@{1}"}, 1, "nosuch"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"resolve"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const RunResult r = Regfs(args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args[0] << " " << r.err;
    EXPECT_THAT(r.err, StartsWith("regfs: ")) << c.args[0];
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.args[0];
    EXPECT_EQ(r.out, "") << c.args[0];
  }
}

TEST_F(CliResolveTest, PathUnderAMountPoint) {
  PushAndMove();
  Ok({"push", "zoo", WriteFile("a", "1"), WriteFile("b", "2")});
  EXPECT_EQ(Ok({"resolve", "models/production", "--path", "/registry"}),
            "/registry/models/v1\n");
  EXPECT_EQ(Ok({"resolve", "models/production", "--path", "/registry/", "--at",
                Seq(before_move_)}),
            "/registry/models/v0\n");
  EXPECT_EQ(Ok({"resolve", "models/production@{1}", "--path", "/registry"}),
            "/registry/models/v0\n");
  EXPECT_EQ(Ok({"resolve", "zoo/latest", "--path", "/registry"}),
            "/registry/zoo/v0\n");
  // A relative mount point is made absolute.
  EXPECT_EQ(
      Ok({"resolve", "models/latest", "--path", "mnt"}),
      (std::filesystem::current_path() / "mnt/models/v1").string() + "\n");
  const nlohmann::json j = Json({"resolve", "models/production", "--path",
                                 "/registry", "--at", Seq(before_move_)});
  EXPECT_EQ(j["path"], "/registry/models/v0");
  EXPECT_EQ(j["version"], "v0");
  EXPECT_EQ(j["at_seq"], before_move_["seq"]);
  EXPECT_FALSE(Json({"resolve", "models/production"}).contains("path"));
}

}  // namespace
}  // namespace regfs::tools::testing
