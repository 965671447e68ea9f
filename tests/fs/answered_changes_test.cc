// fs/answered_changes.h: the changes whose names this mount's own replies
// updated, taken once each by the watcher.
#include "fs/answered_changes.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace regfs::fs {
namespace {

TEST(AnsweredChangesTest, EachSeqIsTakenOnce) {
  AnsweredChanges answered;
  answered.Add(7);
  answered.Add(9);
  EXPECT_FALSE(answered.Take(8));
  EXPECT_TRUE(answered.Take(7));
  EXPECT_FALSE(answered.Take(7));
  EXPECT_TRUE(answered.Take(9));
  EXPECT_EQ(answered.size(), 0u);
}

TEST(AnsweredChangesTest, PastTheBoundTheOldestAreDropped) {
  AnsweredChanges answered;
  const uint64_t n = AnsweredChanges::kMax + 10;
  for (uint64_t seq = 1; seq <= n; ++seq) answered.Add(seq);
  EXPECT_EQ(answered.size(), AnsweredChanges::kMax);
  // Dropped: the watcher then invalidates, as for anyone's change.
  EXPECT_FALSE(answered.Take(1));
  EXPECT_FALSE(answered.Take(10));
  EXPECT_TRUE(answered.Take(11));
  EXPECT_TRUE(answered.Take(n));
}

}  // namespace
}  // namespace regfs::fs
