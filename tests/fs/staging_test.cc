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
}

// A name that may be an alias waits kCommitAfter (then the mount commits
// it); a '.'-name, private staging, lives kPrivateLifetime.
TEST_F(StagingTest, ExpireHandsOverAliasNamesSoonerThanDotNames) {
  StagedEntry temp;
  temp.collection_id = 1;
  temp.name = "CuStom14";
  ASSERT_EQ(staging_.Add(temp), Staging::AddResult::kAdded);
  StagedEntry dot;
  dot.collection_id = 1;
  dot.name = ".hidden";
  ASSERT_EQ(staging_.Add(dot), Staging::AddResult::kAdded);

  now_ += Staging::kCommitAfter - 1ms;
  EXPECT_TRUE(staging_.Expire().empty());
  now_ += 1ms;
  auto expired = staging_.Expire();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].name, "CuStom14");
  EXPECT_FALSE(staging_.Find(1, "CuStom14").has_value());
  ASSERT_TRUE(staging_.Find(1, ".hidden").has_value());

  now_ = Staging::Clock::time_point(1000s) + Staging::kPrivateLifetime - 1ms;
  EXPECT_TRUE(staging_.Expire().empty());
  now_ += 1ms;
  expired = staging_.Expire();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].name, ".hidden");
}

TEST(StagingLifetimes, AreInjectable) {
  Staging::Clock::time_point now(1000s);
  Staging staging([&] { return now; }, 300ms, 200ms);
  StagedEntry temp;
  temp.name = "CuStom14";
  ASSERT_EQ(staging.Add(temp), Staging::AddResult::kAdded);
  StagedEntry dot;
  dot.name = ".x";
  ASSERT_EQ(staging.Add(dot), Staging::AddResult::kAdded);
  now += 200ms;
  EXPECT_EQ(staging.Expire().size(), 1u);
  now += 100ms;
  EXPECT_EQ(staging.Expire().size(), 1u);
}

StagedEntry EntryOf(uid_t uid, std::string name) {
  StagedEntry entry;
  entry.collection_id = 1;
  entry.name = std::move(name);
  entry.who.uid = uid;
  entry.who.user = std::to_string(uid);
  return entry;
}

// Issue #11: one member's flood filled a table shared by everybody, and
// every `ln -sf` in the mount failed with ENOSPC for 30 s.
TEST_F(StagingTest, PerUserBoundRefusesOnlyThatUser) {
  constexpr uid_t kFlooder = 20001;
  for (size_t i = 0; i < Staging::kMaxStagedPerUser; ++i) {
    StagedEntry entry = EntryOf(kFlooder, ".f" + std::to_string(i));
    ASSERT_EQ(staging_.Add(entry), Staging::AddResult::kAdded) << i;
  }
  EXPECT_EQ(staging_.CountOf(kFlooder), Staging::kMaxStagedPerUser);
  StagedEntry more = EntryOf(kFlooder, ".more");
  EXPECT_EQ(staging_.Add(more), Staging::AddResult::kUserFull);
  for (uid_t other : {0u, 20003u, 20005u}) {
    StagedEntry entry = EntryOf(other, "CuAbc" + std::to_string(other % 1000));
    EXPECT_EQ(staging_.Add(entry), Staging::AddResult::kAdded) << other;
    EXPECT_TRUE(staging_.Take(1, entry.name, entry.ino).has_value());
  }
  // Taking, restoring and expiring keep the count right.
  auto taken = staging_.Take(1, ".f0");
  ASSERT_TRUE(taken.has_value());
  StagedEntry again = EntryOf(kFlooder, ".again");
  EXPECT_EQ(staging_.Add(again), Staging::AddResult::kAdded);
  EXPECT_FALSE(staging_.Restore(*taken));  // the quota is full again
  ASSERT_TRUE(staging_.Take(1, ".again").has_value());
  EXPECT_TRUE(staging_.Restore(*taken));
  EXPECT_EQ(staging_.Find(1, ".f0")->ino, taken->ino);
  EXPECT_EQ(staging_.Find(1, ".f0")->created, taken->created);
  now_ += Staging::kPrivateLifetime;
  EXPECT_EQ(staging_.Expire().size(), Staging::kMaxStagedPerUser);
  EXPECT_EQ(staging_.CountOf(kFlooder), 0u);
  EXPECT_EQ(staging_.Add(more), Staging::AddResult::kAdded);
}

// The global bound needs kMaxStagingUsers distinct uids: one user cannot
// reach it, and users who already stage keep their own quota.
TEST_F(StagingTest, BoundOnUsersNeedsThatManyUids) {
  for (uid_t uid = 1; uid <= Staging::kMaxStagingUsers; ++uid) {
    StagedEntry entry = EntryOf(uid, ".x" + std::to_string(uid));
    ASSERT_EQ(staging_.Add(entry), Staging::AddResult::kAdded) << uid;
  }
  StagedEntry newcomer = EntryOf(99999, ".new");
  EXPECT_EQ(staging_.Add(newcomer), Staging::AddResult::kFull);
  StagedEntry known = EntryOf(1, ".second");
  EXPECT_EQ(staging_.Add(known), Staging::AddResult::kAdded);
  ASSERT_TRUE(staging_.Take(1, ".x7").has_value());  // uid 7's only entry
  EXPECT_EQ(staging_.Add(newcomer), Staging::AddResult::kAdded);
}

TEST_F(StagingTest, TakeAllEmptiesTheTable) {
  StagedEntry a = EntryOf(5, "CuStom14");
  StagedEntry b = EntryOf(6, ".b");
  ASSERT_EQ(staging_.Add(a), Staging::AddResult::kAdded);
  ASSERT_EQ(staging_.Add(b), Staging::AddResult::kAdded);
  EXPECT_EQ(staging_.TakeAll().size(), 2u);
  EXPECT_FALSE(staging_.Find(1, "CuStom14").has_value());
  EXPECT_EQ(staging_.CountOf(5), 0u);
  EXPECT_TRUE(staging_.TakeAll().empty());
}

}  // namespace
}  // namespace regfs::fs
