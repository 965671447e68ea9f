// fs/link_table.h: the symlink snapshots the kernel holds, kept while it
// holds a lookup count on their inode and dropped by forget.
#include "fs/link_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fs/inode.h"
#include "registry/model.h"

namespace regfs::fs {
namespace {

LinkNode Node(std::string name, uint64_t version) {
  LinkNode node;
  node.collection_id = 7;
  node.collection = "models";
  node.name = std::move(name);
  node.version = version;
  return node;
}

// The name and version `ino` answers now, or nullopt when the table has
// forgotten it.
std::optional<std::string> Shown(const LinkTable& table, Ino ino) {
  const std::optional<LinkNode> node = table.Get(ino);
  if (!node) return std::nullopt;
  return node->name + "->v" + std::to_string(node->version);
}

constexpr Ino kProduction = MakeIno(NodeType::kAlias, 41);
constexpr Ino kCandidate = MakeIno(NodeType::kAlias, 42);

TEST(LinkTableTest, AnUnknownInodeHasNoSnapshot) {
  LinkTable table;
  EXPECT_EQ(Shown(table, kProduction), std::nullopt);
  table.Forget(kProduction, 1);  // forgetting what was never held is harmless
  EXPECT_EQ(Shown(table, kProduction), std::nullopt);
}

TEST(LinkTableTest, RememberKeepsTheSnapshotWhole) {
  LinkTable table;
  LinkNode node = Node("production", 3);
  node.target = "../models/v3";
  node.is_protected = true;
  node.staged = true;
  node.updated = 1700000000123;
  node.updated_uid = 20001;
  node.updated_by = "20001";
  table.Remember(kProduction, node);
  const std::optional<LinkNode> got = table.Get(kProduction);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->collection_id, 7);
  EXPECT_EQ(got->collection, "models");
  EXPECT_EQ(got->name, "production");
  EXPECT_EQ(got->version, 3u);
  EXPECT_EQ(got->target, "../models/v3");
  EXPECT_FALSE(got->is_latest);
  EXPECT_TRUE(got->is_protected);
  EXPECT_TRUE(got->staged);
  EXPECT_EQ(got->updated, 1700000000123);
  EXPECT_EQ(got->updated_uid, 20001u);
  EXPECT_EQ(got->updated_by, "20001");
}

// Each Remember counts one lookup; the entry lives until forget has
// dropped as many as were counted, in any split.
TEST(LinkTableTest, ForgetDropsTheEntryWhenItsLookupsAreGone) {
  struct {
    const char* what;
    int lookups;
    std::vector<uint64_t> forgets;
    bool held_after;
  } cases[] = {
      {"one lookup, forget 1", 1, {1}, false},
      {"two lookups, forget 1", 2, {1}, true},
      {"two lookups, forget 1 then 1", 2, {1, 1}, false},
      {"two lookups, forget 2", 2, {2}, false},
      {"three lookups, forget 2", 3, {2}, true},
      {"one lookup, forget more than counted", 1, {5}, false},
      {"five lookups, forget 0", 5, {0}, true},
  };
  for (const auto& c : cases) {
    LinkTable table;
    for (int i = 0; i < c.lookups; ++i) {
      table.Remember(kProduction, Node("production", 3));
    }
    table.Remember(kCandidate, Node("candidate", 2));
    for (uint64_t n : c.forgets) table.Forget(kProduction, n);
    EXPECT_EQ(Shown(table, kProduction).has_value(), c.held_after) << c.what;
    // Another inode is never touched by forgets of this one.
    EXPECT_EQ(Shown(table, kCandidate), "candidate->v2") << c.what;
  }
}

TEST(LinkTableTest, RememberAgainRefreshesTheSnapshot) {
  LinkTable table;
  table.Remember(kProduction, Node("production", 3));
  table.Remember(kProduction, Node("production", 4));
  EXPECT_EQ(Shown(table, kProduction), "production->v4");
  table.Forget(kProduction, 1);
  EXPECT_EQ(Shown(table, kProduction), "production->v4") << "two lookups";
  table.Forget(kProduction, 1);
  EXPECT_EQ(Shown(table, kProduction), std::nullopt);
}

TEST(LinkTableTest, UpdateReplacesAHeldSnapshotWithoutCountingALookup) {
  LinkTable table;
  const Ino staged = MakeIno(NodeType::kStaged, 1);
  LinkNode draft = Node(".tmp", 2);
  draft.staged = true;
  table.Remember(staged, draft);
  table.Update(staged, Node("production", 2));  // the draft was committed
  const std::optional<LinkNode> got = table.Get(staged);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "production");
  EXPECT_FALSE(got->staged);
  table.Forget(staged, 1);
  EXPECT_EQ(Shown(table, staged), std::nullopt)
      << "Update must not have counted a lookup";
}

TEST(LinkTableTest, UpdateOfAnInodeTheKernelDoesNotHoldAddsNothing) {
  LinkTable table;
  table.Update(kProduction, Node("production", 2));
  EXPECT_EQ(Shown(table, kProduction), std::nullopt);
  table.Remember(kProduction, Node("production", 3));
  table.Forget(kProduction, 1);
  table.Update(kProduction, Node("production", 4));
  EXPECT_EQ(Shown(table, kProduction), std::nullopt)
      << "a forgotten inode must not come back";
}

TEST(LinkTableTest, LinkNodeOfCopiesWhatTheRegistryReturned) {
  registry::Alias alias;
  alias.id = 5;
  alias.collection = "models";
  alias.name = "production";
  alias.version = 3;
  alias.version_id = 99;
  alias.revision = 12;
  alias.is_protected = true;
  alias.updated = 1700000000123;
  alias.updated_uid = 20001;
  alias.updated_by = "20001";
  const LinkNode node = LinkNodeOf(alias, 7);
  EXPECT_EQ(node.collection_id, 7);
  EXPECT_EQ(node.collection, "models");
  EXPECT_EQ(node.name, "production");
  EXPECT_EQ(node.version, 3u);
  EXPECT_EQ(node.target, "") << "readlink gives v<version>";
  EXPECT_FALSE(node.is_latest);
  EXPECT_TRUE(node.is_protected);
  EXPECT_FALSE(node.staged);
  EXPECT_EQ(node.updated, 1700000000123);
  EXPECT_EQ(node.updated_uid, 20001u);
  EXPECT_EQ(node.updated_by, "20001");

  alias.name = "latest";
  alias.is_latest = true;
  alias.is_protected = false;
  EXPECT_TRUE(LinkNodeOf(alias, 7).is_latest);
}

// Lookups and forgets of many inodes from several threads (as libfuse's
// multi-threaded loop makes them) leave exactly the balance they counted.
TEST(LinkTableTest, ConcurrentLookupsAndForgetsBalance) {
  LinkTable table;
  constexpr int kThreads = 4;
  constexpr uint64_t kInodes = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&table] {
      for (uint64_t i = 1; i <= kInodes; ++i) {
        table.Remember(MakeIno(NodeType::kAlias, i), Node("a", i));
        table.Remember(MakeIno(NodeType::kAlias, i), Node("a", i));
        table.Forget(MakeIno(NodeType::kAlias, i), 1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // Each inode holds kThreads lookups now.
  for (uint64_t i = 1; i <= kInodes; ++i) {
    const Ino ino = MakeIno(NodeType::kAlias, i);
    table.Forget(ino, kThreads - 1);
    EXPECT_EQ(Shown(table, ino), "a->v" + std::to_string(i));
    table.Forget(ino, 1);
    EXPECT_EQ(Shown(table, ino), std::nullopt);
  }
}

// A committed staged entry answers for its alias's inode while the kernel
// holds it, and no longer once forgotten.
TEST(LinkTableTest, AStagedEntryStandsInForItsAliasUntilForgotten) {
  LinkTable table;
  constexpr Ino kStaged = MakeIno(NodeType::kStaged, 9);
  EXPECT_EQ(table.InoFor(kProduction), kProduction);
  // Not held: nothing to stand in.
  table.UpdateStandingIn(kStaged, Node("production", 4), kProduction);
  EXPECT_EQ(table.InoFor(kProduction), kProduction);

  table.Remember(kStaged, Node(".tmp", 4));
  table.UpdateStandingIn(kStaged, Node("production", 4), kProduction);
  EXPECT_EQ(table.InoFor(kProduction), kStaged);
  EXPECT_EQ(Shown(table, kStaged), "production->v4");
  EXPECT_EQ(table.InoFor(kCandidate), kCandidate);  // other aliases: their own

  table.Remember(kStaged, Node("production", 4));  // a lookup found it
  table.Forget(kStaged, 1);
  EXPECT_EQ(table.InoFor(kProduction), kStaged);  // one lookup still held
  table.Forget(kStaged, 1);
  EXPECT_EQ(table.InoFor(kProduction), kProduction);
  EXPECT_EQ(Shown(table, kStaged), std::nullopt);
}

// A newer stand-in for the same alias inode replaces the older one, and
// forgetting the older one leaves the newer in place.
TEST(LinkTableTest, ForgettingAnOlderStandInKeepsTheNewer) {
  LinkTable table;
  constexpr Ino kFirst = MakeIno(NodeType::kStaged, 1);
  constexpr Ino kSecond = MakeIno(NodeType::kStaged, 2);
  table.Remember(kFirst, Node("a", 1));
  table.Remember(kSecond, Node("b", 1));
  table.UpdateStandingIn(kFirst, Node("production", 1), kProduction);
  table.UpdateStandingIn(kSecond, Node("production", 1), kProduction);
  EXPECT_EQ(table.InoFor(kProduction), kSecond);
  table.Forget(kFirst, 1);
  EXPECT_EQ(table.InoFor(kProduction), kSecond);
  table.Forget(kSecond, 1);
  EXPECT_EQ(table.InoFor(kProduction), kProduction);
}

}  // namespace
}  // namespace regfs::fs
