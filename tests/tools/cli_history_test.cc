// `regfs history`: every event with its actor, as JSON Lines and as text,
// filters, and --follow.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

class CliHistoryTest : public CliTest {
 protected:
  // `regfs history ARGS --json`, one parsed object per line.
  std::vector<nlohmann::json> Events(std::vector<std::string> args = {}) const {
    args.insert(args.begin(), "history");
    args.push_back("--json");
    const RunResult r = Regfs(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    std::vector<nlohmann::json> events;
    for (const auto& line : r.OutLines()) {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      EXPECT_TRUE(j.is_object()) << "not a JSON object: " << line;
      events.push_back(j);
    }
    return events;
  }

  // "event collection alias old new" of each event, `latest` left out.
  static std::vector<std::string> Summaries(
      const std::vector<nlohmann::json>& events) {
    auto text = [](const nlohmann::json& j) {
      return j.is_null() ? std::string("-") : j.get<std::string>();
    };
    std::vector<std::string> out;
    for (const auto& e : events) {
      if (e["alias"] == "latest") continue;
      // Tag events carry the tag in "tag", alias events the alias.
      const nlohmann::json& name = e.contains("tag") ? e["tag"] : e["alias"];
      out.push_back(text(e["event"]) + " " + text(e["collection"]) + " " +
                    text(name) + " " + text(e["old"]) + " " + text(e["new"]));
    }
    return out;
  }

  // The operations whose events the tests expect, in order.
  void DoEverything() const {
    const std::string model = WriteFile("model.pt", "0");
    Ok({"push", "models", model});
    Ok({"alias", "set", "models", "candidate", "v0"});
    WriteFile("model.pt", "1");
    Ok({"push", "models", model});
    Ok({"alias", "set", "models", "candidate", "v1"});
    Ok({"protect", "production"});
    Ok({"alias", "mv", "models", "candidate", "best"});
    Ok({"tag", "add", "models/v1", "good"});
    Ok({"alias", "rm", "models", "best"});
    Ok({"rm", "models/v0"});
    Ok({"unprotect", "production"});
    Ok({"role", "grant", "nobody", "member"});
    Ok({"role", "revoke", "nobody"});
  }
};

TEST_F(CliHistoryTest, JsonShowsEveryEventWithItsActor) {
  DoEverything();
  const std::vector<nlohmann::json> events = Events();
  ASSERT_FALSE(events.empty());

  std::vector<std::string> summaries = Summaries(events);
  // Whether the first push also logs the collection's creation is the
  // registry's business; everything else is fixed.
  std::erase_if(summaries, [](const std::string& s) {
    return s.starts_with("collection.create");
  });
  EXPECT_THAT(
      summaries,
      ElementsAre(
          "version.create models - - v0", "alias.create models candidate - v0",
          "version.create models - - v1", "alias.move models candidate v0 v1",
          "name.protect - production - -",
          "alias.rename models candidate v1 v1", "tag.add models good - v1",
          "alias.remove models best v1 -", "version.delete models - v0 -",
          "name.unprotect - production - -", "role.grant - - - -",
          "role.revoke - - - -"));

  uint64_t seq = 0;
  for (const auto& e : events) {
    EXPECT_EQ(e["seq"], ++seq) << e;  // gapless, from 1
    EXPECT_THAT(e["time"].get<std::string>(),
                MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
                             "[0-9]{2}\\.[0-9]{3}Z"));
    EXPECT_EQ(e["uid"], CurrentUser().uid) << e;
    EXPECT_EQ(e["user"], CurrentUser().name) << e;
    EXPECT_EQ(e["interface"], "cli") << e;
    // One machine: an embedded store's events name no host.
    EXPECT_FALSE(e.contains("host")) << e;
  }
  const auto& rename = events[events.size() - 7];
  EXPECT_EQ(rename["event"], "alias.rename");
  EXPECT_EQ(rename["to"], "best");
  EXPECT_EQ(events.back()["principal"], "nobody");

  // The text form has one line per event.
  const RunResult text = Regfs({"history"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_EQ(text.OutLines().size(), events.size());
  EXPECT_THAT(text.OutLines()[0],
              MatchesRegex(" +1  .*" + CurrentUser().name + ".*"));
  EXPECT_THAT(text.out, Not(HasSubstr(CurrentUser().name + "@")));
}

TEST_F(CliHistoryTest, FiltersByCollectionAliasAndTime) {
  DoEverything();
  Ok({"push", "other", WriteFile("o", "o"), "--alias", "candidate"});

  for (const auto& e : Events({"models"})) EXPECT_EQ(e["collection"], "models");
  EXPECT_THAT(Summaries(Events({"other"})),
              ::testing::Contains("alias.create other candidate - v0"));

  // An alias's own story, a rename included.
  EXPECT_THAT(Summaries(Events({"models/candidate"})),
              ElementsAre("alias.create models candidate - v0",
                          "alias.move models candidate v0 v1",
                          "alias.rename models candidate v1 v1"));
  EXPECT_EQ(Summaries(Events({"models", "--alias", "candidate"})),
            Summaries(Events({"models/candidate"})));

  EXPECT_TRUE(Events({"--since", "2999-01-01"}).empty());
  EXPECT_EQ(Events({"--since", "@0"}).size(), Events().size());
  const std::string first_time = Events()[0]["time"];
  EXPECT_EQ(Events({"--since", first_time}).size(), Events().size());
}

TEST_F(CliHistoryTest, FollowPrintsNewEventsUntilInterrupted) {
  Ok({"push", "models", WriteFile("m", "0")});
  const size_t backlog = Events().size();

  RunningRegfs follow(
      {"--store", store().string(), "history", "--follow", "--json"});
  for (size_t i = 0; i < backlog; ++i) {
    ASSERT_TRUE(follow.ReadLine(std::chrono::seconds(10))) << "backlog " << i;
  }
  EXPECT_FALSE(follow.ReadLine(std::chrono::milliseconds(500)));

  Ok({"alias", "set", "models", "candidate", "v0"});
  const auto line = follow.ReadLine(std::chrono::seconds(5));
  ASSERT_TRUE(line) << "no event within 5 s";
  const nlohmann::json e = nlohmann::json::parse(*line);
  EXPECT_EQ(e["event"], "alias.create");
  EXPECT_EQ(e["alias"], "candidate");
  EXPECT_EQ(e["seq"], backlog + 1);

  EXPECT_EQ(follow.Stop(SIGINT), 0);
}

TEST_F(CliHistoryTest, FollowHonoursTheFilter) {
  Ok({"push", "models", WriteFile("m", "0")});
  RunningRegfs follow({"--store", store().string(), "history", "models",
                       "--alias", "best", "--follow"});
  Ok({"alias", "set", "models", "candidate", "v0"});
  Ok({"alias", "set", "models", "best", "v0"});
  const auto line = follow.ReadLine(std::chrono::seconds(5));
  ASSERT_TRUE(line);
  EXPECT_THAT(*line,
              MatchesRegex(".*" + CurrentUser().name + ".*models/best.*"));
  EXPECT_FALSE(follow.ReadLine(std::chrono::milliseconds(500)));
  EXPECT_EQ(follow.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace regfs::tools::testing
