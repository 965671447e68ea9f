// Time travel: aliases as they stood after a past event, `name@{N}`, and
// the parsing of moments and reflog names.
#include "registry/replay.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Owner;
using testing::User;

class ReplayTest : public testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    for (int i = 0; i < 3; ++i) {
      REGFS_ASSERT_OK(PushContent(Owner(), "models", "m" + std::to_string(i)));
    }
  }

  // alias -> version number, `latest` included.
  std::map<std::string, uint64_t> At(uint64_t seq,
                                     std::string_view collection = "models") {
    auto aliases = reg().AliasesAt(collection, seq);
    EXPECT_TRUE(aliases.has_value()) << testing::Describe(aliases);
    std::map<std::string, uint64_t> out;
    if (!aliases) return out;
    for (const Alias& a : *aliases) out[a.name] = a.version;
    return out;
  }
};

TEST_F(ReplayTest, AliasesAtReplaysCreateMoveRenameRemove) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "prod", "v0"));
  const uint64_t created = Seq();
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "prod", "v1"));
  const uint64_t moved = Seq();
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "dev", "v2"));
  REGFS_ASSERT_OK(reg().RenameAlias(Owner(), "models", "dev", "prod", true));
  const uint64_t renamed = Seq();
  REGFS_ASSERT_OK(reg().RemoveAlias(Owner(), "models", "prod"));
  const uint64_t removed = Seq();

  using M = std::map<std::string, uint64_t>;
  EXPECT_EQ(At(created), (M{{"latest", 2}, {"prod", 0}}));
  EXPECT_EQ(At(moved), (M{{"latest", 2}, {"prod", 1}}));
  EXPECT_EQ(At(renamed), (M{{"latest", 2}, {"prod", 2}}));
  EXPECT_EQ(At(removed), (M{{"latest", 2}}));
  EXPECT_EQ(At(removed), At(Seq())) << "replaying everything is the present";
}

TEST_F(ReplayTest, LatestFollowsVersionCreationAndDeletion) {
  const uint64_t three = Seq();
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 2));
  EXPECT_EQ(At(Seq())["latest"], 1u);
  EXPECT_EQ(At(three)["latest"], 2u);
  auto then = reg().GetAliasAt("models", "latest", three);
  REGFS_ASSERT_OK(then);
  EXPECT_EQ(then->version, 2u);
  EXPECT_EQ(then->version_id, 0) << "v2's content is gone";
  EXPECT_TRUE(then->is_latest);
}

TEST_F(ReplayTest, VersionsAtListsOnlyWhatExistedThenAndStillDoes) {
  auto events = AllEvents();
  uint64_t after_v0 = 0;
  for (const Event& e : events) {
    if (e.type == EventType::kVersionCreate && e.new_version == 0u) {
      after_v0 = e.seq;
    }
  }
  ASSERT_NE(after_v0, 0u);
  auto versions = reg().VersionsAt("models", after_v0);
  REGFS_ASSERT_OK(versions);
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].number, 0u);
  EXPECT_EQ(CodeOf(reg().VersionsAt("nosuch", Seq())), Code::kNotFound);
}

TEST_F(ReplayTest, VersionByNumberCarriesItsCreationEvent) {
  auto models = reg().GetCollection("models");
  REGFS_ASSERT_OK(models);
  auto v1 = reg().GetVersionByNumber(models->id, 1);
  REGFS_ASSERT_OK(v1);
  EXPECT_EQ(v1->number, 1u);
  EXPECT_TRUE(v1->aliases.empty()) << "no details";
  bool found = false;
  for (const Event& e : AllEvents()) {
    if (e.type == EventType::kVersionCreate && e.new_version == 1u) {
      EXPECT_EQ(v1->created_seq, e.seq);
      found = true;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(CodeOf(reg().GetVersionByNumber(models->id, 9)), Code::kNotFound);
}

TEST_F(ReplayTest, CollectionsAtOmitsLaterCollections) {
  const uint64_t before = Seq();
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "datasets"));
  auto then = reg().CollectionsAt(before);
  REGFS_ASSERT_OK(then);
  ASSERT_EQ(then->size(), 1u);
  EXPECT_EQ((*then)[0].name, "models");
  auto now = reg().CollectionsAt(Seq());
  REGFS_ASSERT_OK(now);
  EXPECT_EQ(now->size(), 2u);
  EXPECT_EQ(CodeOf(reg().AliasesAt("datasets", before)), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().GetCollectionAt("datasets", before)),
            Code::kNotFound);
  REGFS_EXPECT_OK(reg().GetCollectionAt("datasets", Seq()));
  REGFS_EXPECT_OK(reg().GetCollectionAt("models", before));
  auto none = reg().CollectionsAt(0);
  REGFS_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(ReplayTest, ProtectionIsReplayedToo) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "production", "v0"));
  const uint64_t before = Seq();
  REGFS_ASSERT_OK(reg().Protect(Owner(), "production"));
  auto then = reg().GetAliasAt("models", "production", before);
  auto now = reg().GetAliasAt("models", "production", Seq());
  REGFS_ASSERT_OK(then);
  REGFS_ASSERT_OK(now);
  EXPECT_FALSE(then->is_protected);
  EXPECT_TRUE(now->is_protected);
  EXPECT_EQ(then->revision, before);
  EXPECT_EQ(then->updated_by, Owner().user);
}

TEST_F(ReplayTest, AliasBeforeWalksBackThroughChanges) {
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "prod", "v0"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "prod", "v1"));
  // A move to the version it already names records nothing.
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "prod", "v1"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "prod", "v2"));
  auto target = [&](uint64_t back) -> std::optional<uint64_t> {
    auto a = reg().GetAliasBefore("models", "prod", back);
    if (!a) return std::nullopt;
    return a->version;
  };
  EXPECT_EQ(target(0), 2u);
  EXPECT_EQ(target(1), 1u);
  EXPECT_EQ(target(2), 0u);
  EXPECT_EQ(target(3), std::nullopt);
  EXPECT_EQ(CodeOf(reg().GetAliasBefore("models", "prod", 3)),
            Code::kNotFound);

  REGFS_ASSERT_OK(reg().RemoveAlias(Owner(), "models", "prod"));
  EXPECT_EQ(CodeOf(reg().GetAliasBefore("models", "prod", 0)),
            Code::kNotFound)
      << "removed now";
  EXPECT_EQ(target(1), 2u) << "what it named before it was removed";
}

TEST_F(ReplayTest, LatestBeforeAndVersionsRefused) {
  auto previous = reg().GetAliasBefore("models", "latest", 1);
  REGFS_ASSERT_OK(previous);
  EXPECT_EQ(previous->version, 1u);
  EXPECT_EQ(CodeOf(reg().GetAliasBefore("models", "v1", 1)),
            Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(reg().GetAliasAt("models", "v1", Seq())),
            Code::kInvalidArgument);
}

TEST_F(ReplayTest, SeqAtReadsNowEventNumbersAndTimes) {
  const uint64_t last = Seq();
  auto now = reg().SeqAt("now");
  REGFS_ASSERT_OK(now);
  EXPECT_EQ(*now, last);
  auto two = reg().SeqAt("2");
  REGFS_ASSERT_OK(two);
  EXPECT_EQ(*two, 2u);
  EXPECT_EQ(CodeOf(reg().SeqAt(std::to_string(last + 1))), Code::kNotFound);
  auto before_all = reg().SeqAt("2000-01-01");
  REGFS_ASSERT_OK(before_all);
  EXPECT_EQ(*before_all, 0u);
  EXPECT_EQ(CodeOf(reg().SeqAt("2999-01-01T00:00:00Z")), Code::kNotFound)
      << "a time in the future is no pin";
  const TimeMs first = AllEvents().front().time;
  auto at_first = reg().SeqAt(FormatTime(first));
  REGFS_ASSERT_OK(at_first);
  EXPECT_GE(*at_first, 1u);
  for (const char* bad : {"", "yesterday", "-1", "12abc", "v3"}) {
    EXPECT_EQ(CodeOf(reg().SeqAt(bad)), Code::kInvalidArgument) << bad;
  }
}

struct ReflogCase {
  const char* name;
  bool ok;
  const char* alias;
  uint64_t back;
};

TEST(ParseReflogNameTest, Table) {
  const ReflogCase cases[] = {
      {"production@{1}", true, "production", 1},
      {"latest@{0}", true, "latest", 0},
      {"a@{12}", true, "a", 12},
      {"production", false, "", 0},
      {"@{1}", false, "", 0},
      {"p@{}", false, "", 0},
      {"p@{-1}", false, "", 0},
      {"p@{+1}", false, "", 0},
      {"p@{1x}", false, "", 0},
      {"p@{1", false, "", 0},
      {"p@1}", false, "", 0},
      {"p@{1234567890}", false, "", 0},
  };
  for (const auto& c : cases) {
    auto parsed = ParseReflogName(c.name);
    ASSERT_EQ(parsed.has_value(), c.ok) << c.name;
    if (!c.ok) continue;
    EXPECT_EQ(parsed->alias, c.alias) << c.name;
    EXPECT_EQ(parsed->back, c.back) << c.name;
  }
}

}  // namespace
}  // namespace regfs::registry
