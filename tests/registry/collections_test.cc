// Registry::DeleteCollection: `rmdir` of an empty collection (members and
// admins), `regfs rm COLL --all` (admins; refused under a protected alias),
// the history rows, re-creating the name (a new collection whose numbering
// continues), and time travel before and after.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "registry/names.h"
#include "registry/registry.h"
#include "registry/replay.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::CodeOf;
using testing::Describe;
using testing::Owner;
using testing::User;

constexpr uid_t kMember = 20001;
constexpr uid_t kViewer = 20002;

class CollectionDeleteTest : public testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    REGFS_ASSERT_OK(reg().Grant(Owner(), std::to_string(kMember),
                                Role::kMember));
    REGFS_ASSERT_OK(reg().Grant(Owner(), std::to_string(kViewer),
                                Role::kViewer));
  }

  // The kinds of events after `seq`, in order, as their names.
  std::vector<std::string> KindsSince(uint64_t seq) {
    std::vector<std::string> kinds;
    for (const Event& e : AllEvents()) {
      if (e.seq > seq) kinds.emplace_back(EventTypeName(e.type));
    }
    return kinds;
  }

  std::vector<std::string> NamesAt(uint64_t seq) {
    std::vector<std::string> names;
    auto all = reg().CollectionsAt(seq);
    EXPECT_TRUE(all.has_value()) << Describe(all);
    if (all) {
      for (const Collection& c : *all) names.push_back(c.name);
    }
    return names;
  }
};

TEST_F(CollectionDeleteTest, EmptyCollectionIsDeletedByMembersAndAdmins) {
  for (const Identity& who : {User(kMember), Owner()}) {
    SCOPED_TRACE(who.user);
    REGFS_ASSERT_OK(reg().CreateCollection(who, "typo"));
    const uint64_t seq = Seq();
    REGFS_ASSERT_OK(reg().DeleteCollection(who, "typo", /*all=*/false));
    EXPECT_EQ(CodeOf(reg().GetCollection("typo")), Code::kNotFound);
    auto events = AllEvents();
    ASSERT_EQ(events.size(), seq + 1);
    EXPECT_EQ(events.back().type, EventType::kCollectionDelete);
    EXPECT_EQ(events.back().collection, "typo");
    EXPECT_EQ(events.back().uid, who.uid);
  }
}

TEST_F(CollectionDeleteTest, RefusalsChangeNothing) {
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "empty"));
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "weights"));
  REGFS_ASSERT_OK(reg().Protect(Owner(), "production"));
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "guarded"));
  REGFS_ASSERT_OK(PushContent(Owner(), "guarded", "weights 2"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "guarded", "production", "v0"));
  struct Case {
    const char* what;
    Identity who;
    const char* collection;
    bool all;
    Code code;
    const char* message;  // a part of the message
  };
  const Case cases[] = {
      {"viewer, empty", User(kViewer), "empty", false,
       Code::kPermissionDenied, "viewer"},
      {"no role, empty", User(20099), "empty", false,
       Code::kPermissionDenied, ""},
      {"member, with versions", User(kMember), "models", false,
       Code::kConflict, "--all"},
      {"admin, with versions", Owner(), "models", false, Code::kConflict,
       "regfs rm models --all"},
      {"member, --all", User(kMember), "models", true,
       Code::kPermissionDenied, "admins"},
      {"admin, --all, protected alias", Owner(), "guarded", true,
       Code::kNotPermitted, "guarded/production"},
      {"missing", Owner(), "nothing", false, Code::kNotFound, ""},
      {"bad name", Owner(), ".regfs", false, Code::kInvalidArgument, ""},
  };
  const uint64_t seq = Seq();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto refused = reg().DeleteCollection(c.who, c.collection, c.all);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, c.code) << Describe(refused);
    EXPECT_NE(refused.error().message.find(c.message), std::string::npos)
        << refused.error().message;
  }
  EXPECT_EQ(Seq(), seq);
  for (const char* name : {"empty", "models", "guarded"}) {
    EXPECT_TRUE(reg().GetCollection(name).has_value()) << name;
  }
  EXPECT_TRUE(reg().GetVersion("guarded", 0).has_value());
}

TEST_F(CollectionDeleteTest, AllRemovesAliasesVersionsAndBlobsGoAtGc) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "weights 0"));
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "weights 1"));
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "weights 2"));
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 1));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "candidate", "v2"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "best", "v0"));
  REGFS_ASSERT_OK(reg().AddTag(Owner(), "models", 0, "tagged"));
  REGFS_ASSERT_OK(PushContent(Owner(), "other", "other weights"));
  const uint64_t seq = Seq();

  REGFS_ASSERT_OK(reg().DeleteCollection(Owner(), "models", /*all=*/true));
  EXPECT_EQ(CodeOf(reg().GetCollection("models")), Code::kNotFound);
  EXPECT_EQ(KindsSince(seq),
            (std::vector<std::string>{"alias.remove", "alias.remove",
                                      "version.delete", "version.delete",
                                      "collection.delete"}));
  for (const Event& e : AllEvents()) {
    if (e.seq <= seq) continue;
    EXPECT_EQ(e.collection, "models");
    if (e.type == EventType::kVersionDelete) {
      EXPECT_TRUE(e.old_version == 0u || e.old_version == 2u);
    }
  }
  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean()) << fsck->problems.front();
  auto gc = reg().Gc(Owner());
  REGFS_ASSERT_OK(gc);
  EXPECT_EQ(BlobCount(), 1u);  // only `other`'s blob is left
  EXPECT_TRUE(reg().GetVersion("other", 0).has_value());
}

// The name can be used again; the new collection continues the deleted
// one's numbering, so that `models/v0` in the history names one content.
TEST_F(CollectionDeleteTest, RecreatedCollectionIsNewAndContinuesNumbering) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "old 0"));
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "old 1"));
  auto old = reg().GetCollection("models");
  REGFS_ASSERT_OK(old);
  REGFS_ASSERT_OK(reg().DeleteCollection(Owner(), "models", /*all=*/true));

  auto fresh = reg().CreateCollection(User(kMember), "models");
  REGFS_ASSERT_OK(fresh);
  EXPECT_GT(fresh->id, old->id);
  EXPECT_EQ(fresh->version_count, 0u);
  EXPECT_EQ(fresh->kind, Kind::kEmpty);
  auto v = PushContent(User(kMember), "models", "new");
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->number, 2u);
  EXPECT_EQ(CodeOf(reg().GetVersion("models", 0)), Code::kNotFound);

  // Deleted again, empty this time: the numbering still goes on.
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 2));
  REGFS_ASSERT_OK(reg().DeleteCollection(User(kMember), "models", false));
  auto again = PushContent(Owner(), "models", "newest");
  REGFS_ASSERT_OK(again);
  EXPECT_EQ(again->number, 3u);

  // Survives a reopen (the numbering is in the store, not in memory).
  Reopen();
  REGFS_ASSERT_OK(reg().DeleteVersion(Owner(), "models", 3));
  REGFS_ASSERT_OK(reg().DeleteCollection(Owner(), "models", false));
  auto last = PushContent(Owner(), "models", "last");
  REGFS_ASSERT_OK(last);
  EXPECT_EQ(last->number, 4u);
}

// The newest collection deleted: its id is still never given again.
TEST_F(CollectionDeleteTest, IdsAreNeverReused) {
  auto a = reg().CreateCollection(Owner(), "a");
  REGFS_ASSERT_OK(a);
  REGFS_ASSERT_OK(reg().DeleteCollection(Owner(), "a", false));
  auto b = reg().CreateCollection(Owner(), "b");
  REGFS_ASSERT_OK(b);
  EXPECT_GT(b->id, a->id);
  EXPECT_EQ(CodeOf(reg().GetCollectionById(a->id)), Code::kNotFound);
}

TEST_F(CollectionDeleteTest, TimeTravelShowsEachCollectionInItsTime) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "old 0"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "candidate", "v0"));
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "typo"));
  const uint64_t before = Seq();
  REGFS_ASSERT_OK(reg().DeleteCollection(Owner(), "models", true));
  REGFS_ASSERT_OK(reg().DeleteCollection(Owner(), "typo", false));
  const uint64_t gone = Seq();
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "new 1"));
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "models", "fresh", "v1"));
  const uint64_t after = Seq();

  // Before: both collections, as they were; the deleted version's content
  // is gone, its alias names it (version_id 0).
  EXPECT_EQ(NamesAt(before), (std::vector<std::string>{"models", "typo"}));
  REGFS_EXPECT_OK(reg().GetCollectionAt("typo", before));
  auto then = reg().GetCollectionAt("models", before);
  REGFS_ASSERT_OK(then);
  auto versions = reg().VersionsAt("models", before);
  REGFS_ASSERT_OK(versions);
  EXPECT_TRUE(versions->empty());
  auto aliases = reg().AliasesAt("models", before);
  REGFS_ASSERT_OK(aliases);
  std::vector<std::string> names;
  for (const Alias& a : *aliases) {
    names.push_back(a.name);
    EXPECT_EQ(a.version, 0u);
    EXPECT_EQ(a.version_id, 0);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"candidate", "latest"}));

  // Between: neither.
  EXPECT_TRUE(NamesAt(gone).empty());
  EXPECT_EQ(CodeOf(reg().GetCollectionAt("models", gone)), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().GetCollectionAt("typo", gone)), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().AliasesAt("models", gone)), Code::kNotFound);
  EXPECT_EQ(CodeOf(reg().GetAliasAt("typo", "latest", gone)),
            Code::kNotFound);

  // After: only the new collection, none of the old one's aliases.
  EXPECT_EQ(NamesAt(after), (std::vector<std::string>{"models"}));
  auto now = reg().GetCollectionAt("models", after);
  REGFS_ASSERT_OK(now);
  EXPECT_NE(now->id, then->id);
  versions = reg().VersionsAt("models", after);
  REGFS_ASSERT_OK(versions);
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].number, 1u);
  aliases = reg().AliasesAt("models", after);
  REGFS_ASSERT_OK(aliases);
  names.clear();
  for (const Alias& a : *aliases) {
    names.push_back(a.name);
    EXPECT_EQ(a.version, 1u);
    EXPECT_NE(a.version_id, 0);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"fresh", "latest"}));
  EXPECT_EQ(CodeOf(reg().GetAliasAt("models", "candidate", after)),
            Code::kNotFound);
  // And before, the new collection's version does not show.
  versions = reg().VersionsAt("models", before);
  REGFS_ASSERT_OK(versions);
  EXPECT_TRUE(versions->empty());
}

TEST_F(CollectionDeleteTest, HistoryOfTheNameShowsBothCollectionsInOrder) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "old"));
  REGFS_ASSERT_OK(reg().DeleteCollection(Owner(), "models", true));
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "new"));
  HistoryFilter filter;
  filter.collection = "models";
  auto events = reg().History(filter);
  REGFS_ASSERT_OK(events);
  std::vector<std::string> lines;
  for (const Event& e : *events) {
    lines.push_back(std::string(EventTypeName(e.type)) + " " +
                    (e.old_version ? VersionName(*e.old_version) : "-") + " " +
                    (e.new_version ? VersionName(*e.new_version) : "-"));
  }
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "collection.create - -", "version.create - v0",
                       "version.delete v0 -", "collection.delete - -",
                       "collection.create - -", "version.create - v1"}));
  EXPECT_NE(RenderText(events->at(3)).find("deleted collection models"),
            std::string::npos);
  EXPECT_NE(RenderJsonLine(events->at(3)).find("\"collection.delete\""),
            std::string::npos);
}

// CollectionReplay starts afresh at collection.delete and .create: nothing
// of a deleted collection leaks into the next one of the same name.
TEST(CollectionReplayDeleteTest, DeleteAndCreateStartAfresh) {
  auto event = [](uint64_t seq, EventType type, std::string alias = "",
                  std::optional<uint64_t> v = std::nullopt) {
    Event e;
    e.seq = seq;
    e.type = type;
    e.collection = "models";
    e.alias = std::move(alias);
    e.new_version = v;
    return e;
  };
  CollectionReplay replay("models", std::string("best"));
  replay.Apply(event(1, EventType::kCollectionCreate));
  replay.Apply(event(2, EventType::kVersionCreate, "", 0));
  replay.Apply(event(3, EventType::kAliasCreate, "best", 0));
  EXPECT_TRUE(replay.Find("best").has_value());
  replay.Apply(event(4, EventType::kCollectionDelete));
  EXPECT_FALSE(replay.exists());
  EXPECT_FALSE(replay.Find("best").has_value());
  EXPECT_FALSE(replay.latest().has_value());
  replay.Apply(event(5, EventType::kCollectionCreate));
  EXPECT_TRUE(replay.exists());
  EXPECT_TRUE(replay.versions().empty());
  ASSERT_EQ(replay.timeline().size(), 2u);
  EXPECT_FALSE(replay.timeline().back().has_value()) << "best went with it";
}

}  // namespace
}  // namespace regfs::registry
