// `regfs rm COLLECTION [--all]`: an empty collection goes for members and
// admins; one with versions only with --all, by an admin, and never while
// it holds a protected alias. Each refusal is one line and exit 1.
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

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CliRmCollectionTest : public CliTest {
 protected:
  // Pushes v0 and v1 of models, with candidate -> v0.
  void PushModels() const {
    const std::string model = WriteFile("model.pt", "0");
    Ok({"push", "models", model, "--alias", "candidate"});
    WriteFile("model.pt", "1");
    Ok({"push", "models", model});
  }

  std::vector<std::string> EventsAfter(size_t skip) const {
    const RunResult r = Regfs({"history", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> out;
    const auto lines = r.OutLines();
    for (size_t i = skip; i < lines.size(); ++i) {
      const auto e = nlohmann::json::parse(lines[i]);
      out.push_back(e["event"].get<std::string>() + " " +
                    (e["alias"].is_string() ? e["alias"].get<std::string>()
                                            : std::string("-")) +
                    " " +
                    (e["old"].is_string() ? e["old"].get<std::string>()
                                          : std::string("-")));
    }
    return out;
  }

  size_t EventCount() const { return Regfs({"history", "--json"}).OutLines().size(); }
};

TEST_F(CliRmCollectionTest, WithoutAllOnlyAnEmptyCollection) {
  PushModels();
  EXPECT_EQ(Refused({"rm", "models"}),
            "regfs: collection 'models' is not empty: it has 2 version(s); an "
            "admin can delete it with them: regfs rm models --all");
  Ok({"rm", "models/v0"});
  Ok({"rm", "models/v1"});
  EXPECT_EQ(Ok({"rm", "models"}), "deleted collection models\n");
  EXPECT_THAT(Refused({"rm", "models"}), HasSubstr("no collection 'models'"));
  EXPECT_THAT(Refused({"rm", "models/v0", "--all"}),
              HasSubstr("regfs rm COLLECTION --all"));
}

TEST_F(CliRmCollectionTest, AllDeletesEverythingWithHistoryRows) {
  PushModels();
  const size_t before = EventCount();
  EXPECT_EQ(Ok({"rm", "models", "--all"}), "deleted collection models\n");
  EXPECT_THAT(EventsAfter(before),
              ElementsAre("alias.remove candidate v0", "version.delete - v0",
                          "version.delete - v1", "collection.delete - -"));
  EXPECT_THAT(Refused({"ls", "models"}), HasSubstr("no collection"));
  // The blobs are unreferenced now: gc removes them, fsck stays clean.
  Ok({"gc"});
  EXPECT_THAT(Ok({"fsck"}), HasSubstr("clean"));
  // The name is free; the numbering goes on.
  EXPECT_THAT(Ok({"push", "models", WriteFile("m", "new")}),
              ::testing::StartsWith("models/v2  ("));
  EXPECT_THAT(Ok({"history", "models"}), HasSubstr("deleted collection models"));
}

TEST_F(CliRmCollectionTest, AllIsRefusedUnderAProtectedAlias) {
  Ok({"push", "models", WriteFile("m", "x"), "--alias", "production"});
  Ok({"protect", "production"});
  const size_t before = EventCount();
  EXPECT_EQ(Refused({"rm", "models", "--all"}),
            "regfs: models/production is a protected alias (-> v0): remove it "
            "before deleting the collection");
  EXPECT_EQ(EventCount(), before);
  Ok({"alias", "rm", "models", "production"});
  Ok({"rm", "models", "--all"});
}

TEST_F(CliRmCollectionTest, AllIsForAdminsOnly) {
  ASSERT_EQ(geteuid(), 0u) << "must run as root, to act as another user";
  PushModels();
  Ok({"role", "grant", "nobody", "member"});
  // Lets `nobody` open and write the database (as cli_permission_test).
  ASSERT_EQ(chmod(dir().c_str(), 0755), 0);
  ASSERT_EQ(chmod(store().c_str(), 0777), 0);
  for (const auto& entry : std::filesystem::directory_iterator(store())) {
    if (entry.is_regular_file()) chmod(entry.path().c_str(), 0666);
  }
  const RunOptions nobody{.uid = 65534, .gid = 65534};
  EXPECT_EQ(Refused({"rm", "models", "--all"}, nobody),
            "regfs: user 'nobody' is a member: only admins may delete a "
            "collection with its versions");
  const RunResult r = Regfs({"rm", "models"}, nobody);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("regfs rm models --all"));
  Ok({"rm", "models", "--all"});
}

}  // namespace
}  // namespace regfs::tools::testing
