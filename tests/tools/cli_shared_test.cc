// `regfs` on a shared store (issue 14): two store directories ("nodes")
// joined to one registry in a throwaway PostgreSQL database, with one blob
// directory. What one node changes, the other reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "registry/shared_store.h"
#include "tests/registry/pg_server.h"
#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class CliSharedTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    auto server = registry::testing::PgServer::Get();
    ASSERT_TRUE(server.has_value())
        << "the test PostgreSQL server did not start: "
        << server.error().message;
    auto conninfo = (*server)->CreateDatabase();
    ASSERT_TRUE(conninfo.has_value()) << conninfo.error().message;
    metadata_ = *conninfo;
    blobs_ = (dir() / "shared-blobs").string();
  }

  std::string Init(const std::string& node) const {
    return OkOn(node, {"init", "--metadata", metadata_, "--blobs", blobs_});
  }

  std::string metadata_;
  std::string blobs_;
};

TEST_F(CliSharedTest, InitCreatesTheRegistryAndASecondNodeJoinsIt) {
  EXPECT_THAT(Init("node-a"),
              StartsWith("initialized an empty shared registry in "));
  EXPECT_THAT(Init("node-b"),
              StartsWith("joined the existing registry in " + metadata_));
  // The configuration is the owner's alone; it holds no database file.
  struct stat st {};
  ASSERT_EQ(::stat((dir() / "node-b" / "shared-store.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(dir() / "node-b" / "registry.db"));
  // Once joined, the directory is a store: init again is refused.
  const RunResult again =
      On("node-b", {"init", "--metadata", metadata_, "--blobs", blobs_});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("already holds a registry"));
}

TEST_F(CliSharedTest, PushOnOneNodeIsReadAndMovedOnTheOther) {
  Init("node-a");
  Init("node-b");
  const std::string model = WriteFile("model.bin", "weights v0");
  EXPECT_THAT(OkOn("node-a", {"push", "models", model, "--alias",
                              "production"}),
              StartsWith("models/v0  ("));
  OkOn("node-a", {"push", "models", WriteFile("model2.bin", "weights v1")});
  // Node B sees both versions and the alias, and reads the bytes.
  EXPECT_THAT(OkOn("node-b", {"ls", "models"}), HasSubstr("v1"));
  EXPECT_EQ(OkOn("node-b", {"resolve", "models/production"}).substr(0, 3),
            "v0 ");
  // B moves the alias (compare-and-swap); A sees the move.
  OkOn("node-b",
       {"alias", "set", "models", "production", "v1", "--expect", "v0"});
  EXPECT_EQ(OkOn("node-a", {"resolve", "models/production"}).substr(0, 3),
            "v1 ");
  const RunResult stale = On(
      "node-a", {"alias", "set", "models", "production", "v0", "--expect", "v0"});
  EXPECT_EQ(stale.exit_code, 1) << stale.out;
  // Both nodes write one history: A reads B's move, which names the
  // machine it was made on (both nodes are this machine here).
  const std::string host = ::regfs::registry::HostName();
  ASSERT_FALSE(host.empty());
  nlohmann::json move;
  std::istringstream lines(OkOn("node-a", {"history", "--json"}));
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.value("host", ""), host) << line;
    if (j["event"] == "alias.move") move = j;
  }
  ASSERT_TRUE(move.is_object()) << "no alias.move in the history";
  EXPECT_EQ(move["user"], CurrentUser().name);
  const std::string text = OkOn("node-a", {"history", "--alias", "production"});
  EXPECT_THAT(text, HasSubstr(" " + CurrentUser().name + "@" + host + " "));
  EXPECT_THAT(text, HasSubstr("production"));
  // fsck and gc from either node: one blob directory, nothing to remove.
  EXPECT_THAT(OkOn("node-b", {"fsck"}), HasSubstr("2 versions"));
  OkOn("node-a", {"gc"});
  EXPECT_EQ(OkOn("node-b", {"resolve", "models/v0"}).substr(0, 3), "v0 ");
  OkOn("node-b", {"fsck"});
}

// Automations (issue 16) live in the shared registry: added on one node,
// listed, tested and removed on the other, delivered by either node's
// deliverer, logged for both.
TEST_F(CliSharedTest, AutomationsWorkAcrossNodes) {
  Init("node-a");
  Init("node-b");
  OkOn("node-a", {"push", "models", WriteFile("m0", "zero"), "--alias",
                  "production"});
  OkOn("node-a", {"push", "models", WriteFile("m1", "one")});
  const std::string seen = (dir() / "seen").string();
  EXPECT_THAT(OkOn("node-a", {"automation", "add", "cmd", "--on",
                              "alias.move", "--exec", "cat >> " + seen}),
              StartsWith("added automation cmd on alias.move: exec as "));
  const auto list = nlohmann::json::parse(
      OkOn("node-b", {"automation", "ls", "--json"}));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "cmd");
  EXPECT_THAT(OkOn("node-b", {"automation", "test", "cmd"}),
              StartsWith("automation cmd: delivered (status 0) in "));
  // Node A delivers a move made on node B; both read the log.
  RunningRegfs run({"--store", (dir() / "node-a").string(), "automation",
                    "run", "--poll-ms", "50"});
  OkOn("node-b", {"alias", "set", "models", "production", "v1"});
  nlohmann::json log;
  for (int i = 0; i < 600 && log.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log = nlohmann::json::parse(
        OkOn("node-b", {"automation", "log", "cmd", "--json"}));
  }
  EXPECT_EQ(run.Stop(SIGTERM), 0);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["outcome"], "ok");
  EXPECT_EQ(OkOn("node-a", {"automation", "log", "--json"}),
            OkOn("node-b", {"automation", "log", "--json"}));
  EXPECT_EQ(OkOn("node-b", {"automation", "rm", "cmd"}),
            "removed automation cmd\n");
  EXPECT_EQ(OkOn("node-a", {"automation", "ls", "--json"}), "[]\n");
  const std::string history = OkOn("node-a", {"history"});
  EXPECT_THAT(history, HasSubstr("added automation cmd"));
  EXPECT_THAT(history, HasSubstr("removed automation cmd"));
}

TEST_F(CliSharedTest, APasswordInTheConninfoIsRefusedAndNotShown) {
  const RunResult r = On(
      "node-a", {"init", "--metadata", "postgresql://regfs:s3cret@db/registry",
                 "--blobs", blobs_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("PGPASSFILE"));
  EXPECT_THAT(r.err, Not(HasSubstr("s3cret")));
  EXPECT_FALSE(std::filesystem::exists(dir() / "node-a"));
  const RunResult words =
      On("node-a", {"init", "--metadata", metadata_ + " password=s3cret",
                    "--blobs", blobs_});
  EXPECT_EQ(words.exit_code, 1);
  EXPECT_THAT(words.err, Not(HasSubstr("s3cret")));
  // --blobs needs --metadata, and the other way round.
  EXPECT_NE(On("node-a", {"init", "--blobs", blobs_}).exit_code, 0);
}

TEST_F(CliSharedTest, AnUnreachableDatabaseFailsWithOneLineAndNoStore) {
  const RunResult r =
      On("node-a", {"init", "--metadata",
                    "host=" + (dir() / "no-server").string() + " dbname=x",
                    "--blobs", blobs_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, StartsWith("regfs: postgres: cannot connect"));
  EXPECT_FALSE(
      std::filesystem::exists(dir() / "node-a" / "shared-store.conf"));
}

}  // namespace
}  // namespace regfs::tools::testing
