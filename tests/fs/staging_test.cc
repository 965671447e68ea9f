// Unit tests of fs/staging: when a symlink is the second step of `ln -sf`.
#include "fs/staging.h"

#include <gtest/gtest.h>

namespace regfs::fs {
namespace {

using namespace std::chrono_literals;

class StagingTest : public ::testing::Test {
 protected:
  Staging::Clock::time_point now_ = Staging::Clock::time_point(1000s);
  Staging staging_{[this] { return now_; }};
};

TEST(StagingNames, Classifies) {
  struct Case {
    const char* name;
    bool temp;
    bool dot;
  };
  const Case cases[] = {
      {"CuAb12Xy", true, false},  {"Cu000000", true, false},
      {"CuAb12X", false, false},  {"CuAb12Xyz", false, false},
      {"cuAb12Xy", false, false}, {"CuAb-2Xy", false, false},
      {".tmp", false, true},      {".", false, false},
      {"..", false, false},       {"candidate", false, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Staging::IsCoreutilsTempName(c.name), c.temp) << c.name;
    EXPECT_EQ(Staging::IsStagingOnlyName(c.name), c.dot) << c.name;
  }
}

TEST_F(StagingTest, LookupThenTempNameIsAReplace) {
  staging_.NoteLookup(7, 1, "candidate", ExistingKind::kAlias);
  staging_.NoteLookup(7, 1, "v1", ExistingKind::kOther);  // ln follows it
  auto existing = staging_.TakeReplaceEvidence(7, 1, "CuAbcdef", "v0");
  ASSERT_TRUE(existing.has_value());
  EXPECT_EQ(existing->name, "candidate");
  EXPECT_EQ(existing->kind, ExistingKind::kAlias);
  // Consumed.
  EXPECT_FALSE(staging_.TakeReplaceEvidence(7, 1, "CuAbcdeg", "v0"));
}

TEST_F(StagingTest, OrdinaryNamesAreNeverStagedOnLookupEvidence) {
  staging_.NoteLookup(7, 1, "latest", ExistingKind::kAlias);
  EXPECT_FALSE(staging_.TakeReplaceEvidence(7, 1, "fresh", "v0"));
}

TEST_F(StagingTest, EvidenceIsPerProcessCollectionAndWindow) {
  staging_.NoteLookup(7, 1, "candidate", ExistingKind::kAlias);
  EXPECT_FALSE(staging_.TakeReplaceEvidence(8, 1, "CuAbcdef", "v0"));
  EXPECT_FALSE(staging_.TakeReplaceEvidence(7, 2, "CuAbcdef", "v0"));
  now_ += Staging::kReplaceWindow + 1s;
  EXPECT_FALSE(staging_.TakeReplaceEvidence(7, 1, "CuAbcdef", "v0"));
}

TEST_F(StagingTest, VersionLookupGivesOther) {
  staging_.NoteLookup(7, 1, "v1", ExistingKind::kOther);
  auto existing = staging_.TakeReplaceEvidence(7, 1, "CuAbcdef", "v0");
  ASSERT_TRUE(existing.has_value());
  EXPECT_EQ(existing->kind, ExistingKind::kOther);
}

TEST_F(StagingTest, FailedCreateThenTempNameWithTheSameTarget) {
  staging_.NoteCreateExists(7, 1, "candidate", "v3");
  EXPECT_FALSE(staging_.TakeReplaceEvidence(7, 1, "CuAbc123", "v4"));
  // Only coreutils' temporary names: any other name becomes an alias.
  EXPECT_FALSE(staging_.TakeReplaceEvidence(7, 1, "tmp123", "v3"));
  EXPECT_FALSE(staging_.TakeReplaceEvidence(7, 1, "Cu-bc123", "v3"));
  auto existing = staging_.TakeReplaceEvidence(7, 1, "CuAbc123", "v3");
  ASSERT_TRUE(existing.has_value());
  EXPECT_EQ(existing->name, "candidate");
  EXPECT_EQ(existing->kind, ExistingKind::kAlias);
}

TEST_F(StagingTest, TakeOfAnInodeLeavesALaterEntryOfTheSameName) {
  StagedEntry first;
  first.collection_id = 1;
  first.name = ".tmp";
  ASSERT_EQ(staging_.Add(first), Staging::AddResult::kAdded);
  ASSERT_TRUE(staging_.Take(1, ".tmp", first.ino).has_value());
  StagedEntry second = first;
  ASSERT_EQ(staging_.Add(second), Staging::AddResult::kAdded);
  EXPECT_FALSE(staging_.Take(1, ".tmp", first.ino).has_value());
  ASSERT_TRUE(staging_.Find(1, ".tmp").has_value());
  EXPECT_EQ(staging_.Take(1, ".tmp", second.ino)->ino, second.ino);
}

TEST_F(StagingTest, StagedEntriesAddFindTakeExpire) {
  StagedEntry a;
  a.collection_id = 1;
  a.name = "CuAbcdef";
  a.version = 3;
  ASSERT_EQ(staging_.Add(a), Staging::AddResult::kAdded);
  EXPECT_NE(a.ino, 0u);
  StagedEntry dup = a;
  EXPECT_EQ(staging_.Add(dup), Staging::AddResult::kNameTaken);
  ASSERT_TRUE(staging_.Find(1, "CuAbcdef").has_value());
  EXPECT_EQ(staging_.Find(1, "CuAbcdef")->version, 3u);
  EXPECT_FALSE(staging_.Find(2, "CuAbcdef").has_value());

  StagedEntry b;
  b.collection_id = 1;
  b.name = ".tmp";
  ASSERT_EQ(staging_.Add(b), Staging::AddResult::kAdded);
  EXPECT_NE(a.ino, b.ino);
  EXPECT_TRUE(staging_.Take(1, ".tmp").has_value());
  EXPECT_FALSE(staging_.Find(1, ".tmp").has_value());

  now_ += 29s;
  EXPECT_TRUE(staging_.Expire().empty());
  now_ += 2s;
  const auto expired = staging_.Expire();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].name, "CuAbcdef");
  EXPECT_FALSE(staging_.Find(1, "CuAbcdef").has_value());
}

}  // namespace
}  // namespace regfs::fs
