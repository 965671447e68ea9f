// The mount's read cache (registry/read_cache.h): what each event forgets,
// the bounds, and a Registry with the cache on (both engines): its own
// changes show at once, other processes' changes once it is told of them
// (Refresh), and what it has read answers without the database.
#include "registry/read_cache.h"

#include <gtest/gtest.h>

#include <barrier>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "registry/names.h"
#include "registry/registry.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::Owner;
using testing::RegistryTest;
using testing::User;

Alias MakeAlias(std::string collection, std::string name, uint64_t version) {
  Alias a;
  a.collection = std::move(collection);
  a.name = std::move(name);
  a.version = version;
  return a;
}

Version MakeVersion(int64_t id, int64_t collection_id, std::string collection,
                    uint64_t number) {
  Version v;
  v.id = id;
  v.collection_id = collection_id;
  v.collection = std::move(collection);
  v.number = number;
  return v;
}

Event MakeEvent(EventType type, std::string collection, std::string alias = "",
                std::optional<uint64_t> old_version = std::nullopt) {
  Event e;
  e.type = type;
  e.collection = std::move(collection);
  e.alias = std::move(alias);
  e.old_version = old_version;
  return e;
}

TEST(ReadCacheTest, AMoveForgetsOnlyItsAlias) {
  ReadCache cache;
  cache.PutAlias(MakeAlias("models", "production", 1));
  cache.PutAlias(MakeAlias("models", "staging", 2));
  cache.PutAlias(MakeAlias("data", "production", 3));
  const auto forgotten =
      cache.Forget(MakeEvent(EventType::kAliasMove, "models", "production"));
  ASSERT_EQ(forgotten.size(), 1u);
  EXPECT_EQ(forgotten[0].collection, "models");
  EXPECT_EQ(forgotten[0].name, "production");
  EXPECT_FALSE(cache.GetAlias("models", "production"));
  EXPECT_TRUE(cache.GetAlias("models", "staging"));
  EXPECT_TRUE(cache.GetAlias("data", "production"));
}

TEST(ReadCacheTest, ARenameForgetsBothNames) {
  ReadCache cache;
  cache.PutAlias(MakeAlias("models", "old", 1));
  cache.PutAlias(MakeAlias("models", "new", 2));
  Event e = MakeEvent(EventType::kAliasRename, "models", "old");
  e.renamed_to = "new";
  EXPECT_EQ(cache.Forget(e).size(), 2u);
  EXPECT_EQ(cache.sizes().aliases, 0u);
}

TEST(ReadCacheTest, ANewVersionForgetsLatestAndKeepsTheRest) {
  ReadCache cache;
  cache.PutAlias(MakeAlias("models", "latest", 1));
  cache.PutAlias(MakeAlias("models", "production", 1));
  cache.PutVersion(MakeVersion(7, 3, "models", 1));
  (void)cache.Forget(MakeEvent(EventType::kVersionCreate, "models"));
  EXPECT_FALSE(cache.GetAlias("models", "latest"));
  EXPECT_TRUE(cache.GetAlias("models", "production"));
  EXPECT_TRUE(cache.GetVersion(3, 1));
}

TEST(ReadCacheTest, ADeletedVersionTakesItsTreeAndTheCollectionsAliases) {
  ReadCache cache;
  cache.PutVersion(MakeVersion(7, 3, "models", 1));
  cache.PutVersion(MakeVersion(8, 3, "models", 2));
  TreeEntry of7{.id = 1, .version_id = 7, .parent_id = 0, .name = "a"};
  TreeEntry of8{.id = 2, .version_id = 8, .parent_id = 0, .name = "a"};
  cache.PutTreeEntry(of7);
  cache.PutTreeEntry(of8);
  cache.PutAlias(MakeAlias("models", "production", 2));
  (void)cache.Forget(MakeEvent(EventType::kVersionDelete, "models", "", 1));
  EXPECT_FALSE(cache.GetVersion(3, 1));
  EXPECT_TRUE(cache.GetVersion(3, 2));
  EXPECT_FALSE(cache.GetTreeEntry(7, 0, "a"));
  EXPECT_TRUE(cache.GetTreeEntry(8, 0, "a"));
  EXPECT_FALSE(cache.GetTreeEntryById(1));
  ASSERT_TRUE(cache.GetTreeEntryById(2));
  EXPECT_EQ(cache.GetTreeEntryById(2)->version_id, 8);
  EXPECT_FALSE(cache.GetAlias("models", "production"));
}

// A mount resolves the inode of an open by the entry's id: the entry put
// by a lookup by name answers it.
TEST(ReadCacheTest, ATreeEntryIsFoundByNameAndById) {
  ReadCache cache;
  cache.PutTreeEntry(
      TreeEntry{.id = 5, .version_id = 7, .parent_id = 2, .name = "x.bin"});
  ASSERT_TRUE(cache.GetTreeEntryById(5));
  EXPECT_EQ(cache.GetTreeEntryById(5)->name, "x.bin");
  ASSERT_TRUE(cache.GetTreeEntry(7, 2, "x.bin"));
  EXPECT_EQ(cache.GetTreeEntry(7, 2, "x.bin")->id, 5);
  EXPECT_FALSE(cache.GetTreeEntryById(6));
  EXPECT_EQ(cache.sizes().tree_entries, 1u);
}

// A file's entry is held without its digest, which its blob's key gives
// back, collision suffix and all; a directory has neither.
TEST(ReadCacheTest, ATreeEntryComesBackAsItWasPut) {
  ReadCache cache;
  const std::string digest(32, 'a');
  const TreeEntry file{.id = 5,
                       .version_id = 7,
                       .parent_id = 2,
                       .name = "x.bin",
                       .executable = true,
                       .size = 4096,
                       .blob = digest + ".1",
                       .digest = digest};
  const TreeEntry dir{
      .id = 6, .version_id = 7, .parent_id = 0, .name = "d", .is_dir = true};
  cache.PutTreeEntries({file, dir});
  for (const TreeEntry& e : {file, dir}) {
    auto by_id = cache.GetTreeEntryById(e.id);
    ASSERT_TRUE(by_id);
    auto by_name = cache.GetTreeEntry(e.version_id, e.parent_id, e.name);
    ASSERT_TRUE(by_name);
    for (const TreeEntry& got : {*by_id, *by_name}) {
      EXPECT_EQ(got.id, e.id);
      EXPECT_EQ(got.name, e.name);
      EXPECT_EQ(got.is_dir, e.is_dir);
      EXPECT_EQ(got.executable, e.executable);
      EXPECT_EQ(got.size, e.size);
      EXPECT_EQ(got.blob, e.blob);
      EXPECT_EQ(got.digest, e.digest);
    }
  }
  // The same name in another directory or version is another entry.
  EXPECT_FALSE(cache.GetTreeEntry(7, 3, "x.bin"));
  EXPECT_FALSE(cache.GetTreeEntry(8, 2, "x.bin"));
  EXPECT_FALSE(cache.GetTreeEntry(7, 2, "y.bin"));
}

// A tree of 100,000 files fits whole, so that a walk that comes round
// again finds every entry; one more than the bound empties the map.
TEST(ReadCacheTest, ATreeOfAHundredThousandFilesFits) {
  ReadCache cache;
  std::vector<TreeEntry> dir;
  for (int64_t i = 1; i <= 100000; ++i) {
    dir.push_back(TreeEntry{.id = i,
                            .version_id = 7,
                            .parent_id = 1 + i / 1000,
                            .name = "f" + std::to_string(i),
                            .blob = std::string(32, 'b')});
    if (dir.size() == 1000) {
      cache.PutTreeEntries(dir);
      dir.clear();
    }
  }
  EXPECT_EQ(cache.sizes().tree_entries, 100000u);
  for (int64_t i = 1; i <= 100000; i += 997) {
    ASSERT_TRUE(cache.GetTreeEntryById(i)) << i;
    ASSERT_TRUE(cache.GetTreeEntry(7, 1 + i / 1000, "f" + std::to_string(i)))
        << i;
  }
  for (int64_t i = 100001; i <= int64_t{ReadCache::kMaxTreeEntries} + 1; ++i) {
    cache.PutTreeEntry(TreeEntry{.id = i, .version_id = 8, .name = "g"});
  }
  EXPECT_LE(cache.sizes().tree_entries, ReadCache::kMaxTreeEntries);
  EXPECT_GE(cache.sizes().tree_entries, 1u);
}

// Deleting a version this cache never held (its tree entries were looked
// up by id alone) cannot leave them behind.
TEST(ReadCacheTest, ADeletedVersionNotCachedForgetsEveryTreeEntry) {
  ReadCache cache;
  cache.PutTreeEntry(
      TreeEntry{.id = 5, .version_id = 7, .parent_id = 0, .name = "a"});
  (void)cache.Forget(MakeEvent(EventType::kVersionDelete, "models", "", 1));
  EXPECT_FALSE(cache.GetTreeEntryById(5));
  EXPECT_FALSE(cache.GetTreeEntry(7, 0, "a"));
}

TEST(ReadCacheTest, ProtectingANameForgetsItInEveryCollection) {
  ReadCache cache;
  cache.PutAlias(MakeAlias("models", "production", 1));
  cache.PutAlias(MakeAlias("data", "production", 1));
  cache.PutAlias(MakeAlias("data", "staging", 1));
  EXPECT_EQ(cache.Forget(MakeEvent(EventType::kProtect, "", "production"))
                .size(),
            2u);
  EXPECT_TRUE(cache.GetAlias("data", "staging"));
}

TEST(ReadCacheTest, ADeletedCollectionTakesEverythingOfIt) {
  ReadCache cache;
  cache.PutCollectionId("models", 3);
  cache.PutVersion(MakeVersion(7, 3, "models", 1));
  cache.PutAlias(MakeAlias("models", "production", 1));
  cache.PutCollectionId("data", 4);
  (void)cache.Forget(MakeEvent(EventType::kCollectionDelete, "models"));
  EXPECT_FALSE(cache.CollectionId("models"));
  EXPECT_FALSE(cache.GetVersion(3, 1));
  EXPECT_FALSE(cache.GetAlias("models", "production"));
  EXPECT_EQ(cache.CollectionId("data"), 4);
}

VersionAttrs MakeAttrs(int64_t id, uint64_t number) {
  return VersionAttrs{.id = id, .number = number, .size = number * 10};
}

// A block's versions answer by number; deleting one forgets it alone, and
// the block stays held whole (a number missing from it is read alone).
TEST(ReadCacheTest, VersionAttrsOfABlockAnswerUntilDeleted) {
  using BlockHeld = ReadCache::BlockHeld;
  ReadCache cache;
  EXPECT_EQ(cache.VersionBlockHeld(3, 2), BlockHeld::kNothing);
  cache.PutVersionAttrs(3, "models", MakeAttrs(8, 2));
  EXPECT_EQ(cache.VersionBlockHeld(3, 2), BlockHeld::kSome);
  EXPECT_EQ(cache.VersionBlockHeld(3, 1), BlockHeld::kSome);
  EXPECT_EQ(cache.VersionBlockHeld(3, ReadCache::kVersionBlock),
            BlockHeld::kNothing);
  EXPECT_EQ(cache.VersionBlockHeld(4, 2), BlockHeld::kNothing);
  cache.PutVersionBlock(3, "models", 2,
                        {MakeAttrs(7, 1), MakeAttrs(8, 2), MakeAttrs(9, 3)});
  EXPECT_EQ(cache.VersionBlockHeld(3, 500), BlockHeld::kWhole);
  EXPECT_EQ(cache.sizes().version_attrs, 3u);  // v2 once
  for (uint64_t n : {1, 2, 3}) {
    auto a = cache.GetVersionAttrs(3, n);
    ASSERT_TRUE(a) << n;
    EXPECT_EQ(a->number, n);
    EXPECT_EQ(a->id, static_cast<int64_t>(6 + n));
    EXPECT_EQ(a->size, n * 10);
  }
  EXPECT_FALSE(cache.GetVersionAttrs(3, 4));
  EXPECT_FALSE(cache.GetVersionAttrs(4, 1));

  (void)cache.Forget(MakeEvent(EventType::kVersionDelete, "models", "", 2));
  EXPECT_FALSE(cache.GetVersionAttrs(3, 2));
  EXPECT_TRUE(cache.GetVersionAttrs(3, 1));
  EXPECT_TRUE(cache.GetVersionAttrs(3, 3));
  EXPECT_EQ(cache.VersionBlockHeld(3, 2), BlockHeld::kWhole);
  // Another collection's v2 of the same name is not this one.
  (void)cache.Forget(MakeEvent(EventType::kVersionDelete, "data", "", 1));
  EXPECT_TRUE(cache.GetVersionAttrs(3, 1));
  EXPECT_EQ(cache.sizes().version_attrs, 2u);
}

TEST(ReadCacheTest, ADeletedCollectionTakesItsVersionAttrs) {
  ReadCache cache;
  cache.PutVersionBlock(3, "models", 1, {MakeAttrs(7, 1)});
  cache.PutVersionBlock(4, "data", 1, {MakeAttrs(9, 1)});
  (void)cache.Forget(MakeEvent(EventType::kCollectionDelete, "models"));
  EXPECT_FALSE(cache.GetVersionAttrs(3, 1));
  EXPECT_EQ(cache.VersionBlockHeld(3, 1), ReadCache::BlockHeld::kNothing);
  EXPECT_TRUE(cache.GetVersionAttrs(4, 1));
  EXPECT_EQ(cache.sizes().version_attrs, 1u);
}

TEST(ReadCacheTest, VersionAttrsStayWithinTheirBound) {
  ReadCache cache;
  const uint64_t per = ReadCache::kVersionBlock;
  std::vector<VersionAttrs> block;
  for (uint64_t b = 0; b * per <= ReadCache::kMaxVersionAttrs; ++b) {
    block.clear();
    for (uint64_t n = b * per; n < (b + 1) * per; ++n) {
      block.push_back(MakeAttrs(static_cast<int64_t>(n + 1), n));
    }
    cache.PutVersionBlock(3, "models", b * per, block);
    ASSERT_LE(cache.sizes().version_attrs, ReadCache::kMaxVersionAttrs);
  }
  // The last block put is held.
  EXPECT_TRUE(cache.GetVersionAttrs(3, block.back().number));
}

TEST(ReadCacheTest, TagsAndRolesForgetNothing) {
  ReadCache cache;
  cache.PutAlias(MakeAlias("models", "production", 1));
  cache.PutVersion(MakeVersion(7, 3, "models", 1));
  for (EventType type : {EventType::kTagAdd, EventType::kTagRemove,
                         EventType::kRoleGrant, EventType::kRoleRevoke}) {
    EXPECT_TRUE(cache.Forget(MakeEvent(type, "models", "production")).empty());
  }
  EXPECT_EQ(cache.sizes().aliases, 1u);
  EXPECT_EQ(cache.sizes().versions, 1u);
}

TEST(ReadCacheTest, AFullMapIsEmptiedSoTheBoundHolds) {
  ReadCache cache;
  for (size_t i = 0; i <= ReadCache::kMaxAliases; ++i) {
    cache.PutAlias(MakeAlias("models", "a" + std::to_string(i), 1));
  }
  EXPECT_LE(cache.sizes().aliases, ReadCache::kMaxAliases);
  EXPECT_GE(cache.sizes().aliases, 1u);
}

// A Registry with the cache on, as a mount's, beside a second Registry on
// the same store, as another process (or, on a shared store, machine).
class CachedReadsTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    for (int i = 0; i < 3; ++i) {
      REGFS_ASSERT_OK(PushContent(Owner(), "models", "m" + std::to_string(i)));
    }
    auto c = reg().GetCollection("models");
    REGFS_ASSERT_OK(c);
    first_ = c->next_number - 3;
    REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "production",
                                   "v" + std::to_string(first_)));
    reg().EnableReadCache();
    auto other = Registry::Open(store());
    REGFS_ASSERT_OK(other);
    other_ = std::move(*other);
  }
  void TearDown() override {
    other_.reset();
    RegistryTest::TearDown();
  }

  uint64_t TargetOf(std::string_view alias) {
    auto a = reg().GetAlias("models", alias);
    EXPECT_TRUE(a.has_value()) << testing::Describe(a);
    return a ? a->version : 0;
  }
  // What the other Registry committed after `seq`, told to ours.
  void RefreshAfter(uint64_t seq) {
    HistoryFilter filter;
    filter.after_seq = seq;
    auto events = reg().History(filter);
    REGFS_ASSERT_OK(events);
    reg().Refresh(*events);
  }

  uint64_t first_ = 0;  // the number of the first version
  std::unique_ptr<Registry> other_;
};

TEST_F(CachedReadsTest, OwnChangesShowAtOnce) {
  EXPECT_EQ(TargetOf("production"), first_);
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "production",
                                 "v" + std::to_string(first_ + 1)));
  EXPECT_EQ(TargetOf("production"), first_ + 1);
  EXPECT_EQ(TargetOf("latest"), first_ + 2);
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "m3"));
  EXPECT_EQ(TargetOf("latest"), first_ + 3);
  REGFS_ASSERT_OK(reg().RemoveAlias(Owner(), "models", "production"));
  EXPECT_EQ(testing::CodeOf(reg().GetAlias("models", "production")),
            Code::kNotFound);
}

// A move made here is held as the move read it, so that the kernel's
// lookup of a rename's target that follows it costs no read: what another
// process does next shows once refreshed, as for any alias read here.
TEST_F(CachedReadsTest, AnAliasMovedHereIsHeldAsMoved) {
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "production",
                                 "v" + std::to_string(first_ + 1)));
  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(other_->SetAlias(Owner(), "models", "production",
                                   "v" + std::to_string(first_ + 2)));
  EXPECT_EQ(TargetOf("production"), first_ + 1);
  RefreshAfter(seq);
  EXPECT_EQ(TargetOf("production"), first_ + 2);
}

// Moves of one alias from several threads at once share commits (group
// commit), where a member may move it after another read it: whatever the
// batches, the alias held after each round of moves is the store's.
TEST_F(CachedReadsTest, ConcurrentMovesOfOneAliasLeaveTheStoresTarget) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 100;
  std::barrier start(kThreads + 1);
  std::barrier done(kThreads + 1);
  std::vector<std::thread> movers;
  for (int t = 0; t < kThreads; ++t) {
    movers.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        start.arrive_and_wait();
        const uint64_t to = first_ + static_cast<uint64_t>((t + round) % 3);
        EXPECT_TRUE(reg()
                        .SetAlias(Owner(), "models", "production",
                                  "v" + std::to_string(to))
                        .has_value());
        done.arrive_and_wait();
      }
    });
  }
  int stale = 0;
  for (int round = 0; round < kRounds; ++round) {
    start.arrive_and_wait();
    done.arrive_and_wait();
    // No ASSERT here: the movers wait at the barrier for every round.
    auto stored = other_->GetAlias("models", "production");
    EXPECT_TRUE(stored.has_value()) << testing::Describe(stored);
    if (!stored || TargetOf("production") != stored->version) ++stale;
  }
  for (std::thread& mover : movers) mover.join();
  EXPECT_EQ(stale, 0) << "rounds whose held alias was not the store's";
}

TEST_F(CachedReadsTest, OthersChangesShowOnceRefreshed) {
  EXPECT_EQ(TargetOf("production"), first_);
  EXPECT_EQ(TargetOf("latest"), first_ + 2);
  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(other_->SetAlias(Owner(), "models", "production",
                                   "v" + std::to_string(first_ + 1)));
  REGFS_ASSERT_OK(other_->Protect(Owner(), "production"));
  // Not told yet: the cache answers what it read (the mount's watcher
  // tells it within its poll, or at once when the writer announces).
  EXPECT_EQ(TargetOf("production"), first_);
  RefreshAfter(seq);
  auto moved = reg().GetAlias("models", "production");
  REGFS_ASSERT_OK(moved);
  EXPECT_EQ(moved->version, first_ + 1);
  EXPECT_TRUE(moved->is_protected);
  EXPECT_EQ(TargetOf("latest"), first_ + 2);
}

TEST_F(CachedReadsTest, AVersionDeletedElsewhereIsGoneOnceRefreshed) {
  auto c = reg().LookupCollection("models");
  REGFS_ASSERT_OK(c);
  REGFS_ASSERT_OK(reg().GetVersionByNumber(c->id, first_ + 2));
  EXPECT_EQ(TargetOf("latest"), first_ + 2);
  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(other_->DeleteVersion(Owner(), "models", first_ + 2));
  RefreshAfter(seq);
  EXPECT_EQ(testing::CodeOf(reg().GetVersionByNumber(c->id, first_ + 2)),
            Code::kNotFound);
  EXPECT_EQ(TargetOf("latest"), first_ + 1);
}

// A lookup's attributes are those of the version; the second lookup in a
// block reads the block, after which a version made or deleted elsewhere
// still shows (read alone, forgotten when refreshed).
TEST_F(CachedReadsTest, VersionAttrsAreTheVersionsAndFollowChanges) {
  auto c = reg().LookupCollection("models");
  REGFS_ASSERT_OK(c);
  for (uint64_t n = first_; n < first_ + 3; ++n) {
    auto attrs = reg().GetVersionAttrs(*c, n);
    REGFS_ASSERT_OK(attrs);
    auto v = reg().GetVersionByNumber(c->id, n);
    REGFS_ASSERT_OK(v);
    EXPECT_EQ(attrs->id, v->id);
    EXPECT_EQ(attrs->number, n);
    EXPECT_EQ(attrs->kind, v->kind);
    EXPECT_EQ(attrs->creator_uid, v->creator_uid);
    EXPECT_EQ(attrs->created, v->created);
    EXPECT_EQ(attrs->size, v->size);
  }
  EXPECT_EQ(testing::CodeOf(reg().GetVersionAttrs(*c, first_ + 3)),
            Code::kNotFound);
  EXPECT_EQ(testing::CodeOf(reg().GetVersionAttrs(*c, UINT64_MAX)),
            Code::kNotFound);

  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(other_->DeleteVersion(Owner(), "models", first_ + 1));
  PushRequest push;
  push.collection = "models";
  push.paths = {Source("m3.bin", "m3")};
  auto pushed = other_->Push(Owner(), push);
  REGFS_ASSERT_OK(pushed);
  // A version made after its block was read is read alone.
  auto made = reg().GetVersionAttrs(*c, pushed->number);
  REGFS_ASSERT_OK(made);
  EXPECT_EQ(made->id, pushed->id);
  RefreshAfter(seq);
  EXPECT_EQ(testing::CodeOf(reg().GetVersionAttrs(*c, first_ + 1)),
            Code::kNotFound);
  REGFS_EXPECT_OK(reg().GetVersionAttrs(*c, first_));
}

// CheckTarget answers a version the cache holds without a read (issue 15:
// every `.tmp` symlink before a rename asks), and follows its deletion.
TEST_F(CachedReadsTest, CheckTargetAnswersFromTheCacheAndFollowsDeletes) {
  auto c = reg().LookupCollection("models");
  REGFS_ASSERT_OK(c);
  const uint64_t n = first_ + 1;
  REGFS_ASSERT_OK(reg().GetVersionAttrs(*c, n));
  auto checked = reg().CheckTarget(Owner(), "models", VersionName(n));
  REGFS_ASSERT_OK(checked);
  EXPECT_EQ(*checked, n);
  EXPECT_EQ(
      testing::CodeOf(reg().CheckTarget(User(20003), "models", VersionName(n))),
      Code::kPermissionDenied)
      << "a viewer, even from the cache";
  EXPECT_EQ(testing::CodeOf(reg().CheckTarget(Owner(), "models",
                                              "../other/" + VersionName(n))),
            Code::kInvalidArgument);

  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(other_->DeleteVersion(Owner(), "models", n));
  // Until this registry hears of the delete, the cache answers (a read
  // would say NotFound); the rename that follows checks in its
  // transaction.
  checked = reg().CheckTarget(Owner(), "models", VersionName(n));
  REGFS_ASSERT_OK(checked);
  EXPECT_EQ(*checked, n) << "answered from the cache";
  RefreshAfter(seq);
  EXPECT_EQ(
      testing::CodeOf(reg().CheckTarget(Owner(), "models", VersionName(n))),
      Code::kNotFound);
  checked = reg().CheckTarget(Owner(), "models", VersionName(first_));
  REGFS_ASSERT_OK(checked);
  EXPECT_EQ(*checked, first_);
}

TEST_F(CachedReadsTest, ACollectionRecreatedElsewhereGetsItsNewId) {
  REGFS_ASSERT_OK(PushContent(Owner(), "scratch", "s"));
  auto before = reg().LookupCollection("scratch");
  REGFS_ASSERT_OK(before);
  const uint64_t seq = Seq();
  REGFS_ASSERT_OK(other_->DeleteCollection(Owner(), "scratch", /*all=*/true));
  REGFS_ASSERT_OK(other_->CreateCollection(Owner(), "scratch"));
  RefreshAfter(seq);
  auto after = reg().LookupCollection("scratch");
  REGFS_ASSERT_OK(after);
  EXPECT_NE(after->id, before->id);
}

}  // namespace
}  // namespace regfs::registry
