#include "fs/draft_table.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace regfs::fs {
namespace {

TEST(DraftTableTest, InternGivesOneInodePerKey) {
  DraftTable table;
  const Ino a = table.Intern({1, 1000, ".a"});
  EXPECT_EQ(TypeOf(a), NodeType::kDraft);
  EXPECT_EQ(table.Intern({1, 1000, ".a"}), a);
  EXPECT_NE(table.Intern({1, 1001, ".a"}), a);  // another owner
  EXPECT_NE(table.Intern({2, 1000, ".a"}), a);  // another collection
  ASSERT_TRUE(table.Get(a).has_value());
  EXPECT_EQ(table.Get(a)->path, ".a");
}

TEST(DraftTableTest, RootOfAPath) {
  const struct {
    std::string path, root;
    bool is_root;
  } cases[] = {
      {".a", ".a", true},
      {".data/x.bin", ".data", false},
      {".data/sub/.x.AbC123", ".data", false},
  };
  for (const auto& c : cases) {
    const DraftKey key{1, 0, c.path};
    EXPECT_EQ(key.root(), c.root) << c.path;
    EXPECT_EQ(key.is_root(), c.is_root) << c.path;
  }
}

TEST(DraftTableTest, RenameMovesTheSubtreeOnly) {
  DraftTable table;
  const Ino d = table.Intern({1, 7, ".d"});
  const Ino x = table.Intern({1, 7, ".d/sub/x"});
  const Ino sibling = table.Intern({1, 7, ".d-other/y"});  // not under .d
  const Ino other_owner = table.Intern({1, 8, ".d/z"});
  const Ino replaced = table.Intern({1, 7, ".e/old"});
  table.Rename(1, 7, ".d", ".e");
  EXPECT_EQ(table.Get(d)->path, ".e");
  EXPECT_EQ(table.Get(x)->path, ".e/sub/x");
  EXPECT_EQ(table.Get(sibling)->path, ".d-other/y");
  EXPECT_EQ(table.Get(other_owner)->path, ".d/z");
  EXPECT_FALSE(table.Get(replaced).has_value());
  EXPECT_EQ(table.Intern({1, 7, ".e/sub/x"}), x);
}

TEST(DraftTableTest, RemoveDropsTheSubtreeAndTheRootLock) {
  DraftTable table;
  const Ino d = table.Intern({1, 7, ".d"});
  const Ino x = table.Intern({1, 7, ".d/x"});
  const Ino keep = table.Intern({1, 7, ".dd"});
  auto lock = table.RootOf(1, 7, ".d");
  lock->published = true;
  table.Remove(1, 7, ".d");
  EXPECT_FALSE(table.Get(d).has_value());
  EXPECT_FALSE(table.Get(x).has_value());
  EXPECT_TRUE(table.Get(keep).has_value());
  // A new draft of the same name starts unpublished; the old handle's
  // lock stays published.
  EXPECT_FALSE(table.RootOf(1, 7, ".d")->published);
  EXPECT_TRUE(lock->published);
}

TEST(DraftTableTest, RenamedRootKeepsItsLock) {
  DraftTable table;
  auto lock = table.RootOf(1, 7, ".a");
  table.Rename(1, 7, ".a", ".b");
  EXPECT_EQ(table.RootOf(1, 7, ".b"), lock);
  EXPECT_NE(table.RootOf(1, 7, ".a"), lock);
}

TEST(DraftTableTest, ARootMovedIntoADraftJoinsItsLocks) {
  DraftTable table;
  auto moved = table.RootOf(1, 7, ".a");
  auto nested = table.RootOf(1, 7, ".b");
  table.Rename(1, 7, ".b", ".a/b");   // .b's handles now under .a
  table.Rename(1, 7, ".a", ".d/a");   // and .a's under .d
  const DraftRootLocks locks = table.LocksOf(1, 7, ".d");
  ASSERT_EQ(locks.merged.size(), 2u);
  EXPECT_EQ(locks.merged[0], moved);
  EXPECT_EQ(locks.merged[1], nested);
  EXPECT_TRUE(table.LocksOf(1, 7, ".a").merged.empty());  // a new .a
}

TEST(DraftUsageTest, ReserveRefusesPastTheQuotaPerUser) {
  DraftUsage usage;
  usage.Reset({{7, 900}});
  EXPECT_FALSE(usage.Reserve(7, 200, 1000));
  EXPECT_TRUE(usage.Reserve(8, 200, 1000));  // another user
  EXPECT_TRUE(usage.Reserve(7, 100, 1000));
  EXPECT_TRUE(usage.Reserve(7, 0, 1000));  // no growth: always
  usage.Add(7, -5000);
  EXPECT_EQ(usage.Of(7), 0u);
}

}  // namespace
}  // namespace regfs::fs
