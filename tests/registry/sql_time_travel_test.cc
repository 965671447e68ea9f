// The statements of time travel (registry/sql/time_travel.h) on a fresh
// store: the seq at a time, collections' lives in the history, the
// collections deleted since an event, and what a collection held then.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry/registry.h"
#include "registry/sql/sqlite.h"
#include "registry/sql/time_travel.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::sql {
namespace {

using testing::Describe;
using testing::Owner;
using testing::RegistryTest;

class SqlTimeTravelTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    auto db = SqliteConnection::Open(store() / "registry.db", false);
    ASSERT_TRUE(db.has_value()) << Describe(db);
    db_ = std::move(*db);
  }

  Connection& db() { return *db_; }

  // Pushes a version of `collection`; returns the seq after it.
  uint64_t Push(std::string_view collection, std::string_view content) {
    auto v = PushContent(Owner(), collection, content);
    EXPECT_TRUE(v.has_value()) << Describe(v);
    return Seq();
  }

  uint64_t DeleteAll(std::string_view collection) {
    auto s = reg().DeleteCollection(Owner(), collection, /*all=*/true);
    EXPECT_TRUE(s.has_value()) << Describe(s);
    return Seq();
  }

  std::unique_ptr<Connection> db_;
};

TEST_F(SqlTimeTravelTest, LastSeqAtIsTheNewestEventByThatTime) {
  Push("models", "a");
  Push("models", "b");
  const std::vector<Event> events = AllEvents();
  ASSERT_FALSE(events.empty());
  auto newest_by = [&](TimeMs time) {
    uint64_t seq = 0;
    for (const Event& e : events) {
      if (e.time <= time) seq = e.seq;
    }
    return seq;
  };
  std::vector<TimeMs> times = {events.front().time - 1, INT64_MAX};
  for (const Event& e : events) times.push_back(e.time);
  for (TimeMs time : times) {
    auto seq = LastSeqAt(db(), time);
    REGFS_ASSERT_OK(seq);
    EXPECT_EQ(*seq, newest_by(time)) << "at " << time;
  }
  auto none = LastSeqAt(db(), events.front().time - 1);
  REGFS_ASSERT_OK(none);
  EXPECT_EQ(*none, 0u);
}

TEST_F(SqlTimeTravelTest, LifeEventsFollowCreationAndDeletion) {
  const uint64_t before = Seq();
  const uint64_t created = Push("models", "a");
  Push("other", "b");
  const uint64_t deleted = DeleteAll("models");
  const uint64_t again = Push("models", "c");

  struct Case {
    std::string name;
    uint64_t seq;
    std::optional<EventType> last;
  };
  for (const Case& c : std::vector<Case>{
           {"models", before, std::nullopt},
           {"models", created, EventType::kCollectionCreate},
           {"models", deleted - 1, EventType::kCollectionCreate},
           {"models", deleted, EventType::kCollectionDelete},
           {"models", again, EventType::kCollectionCreate},
           {"other", created, std::nullopt},
           {"other", again, EventType::kCollectionCreate},
           {"never", again, std::nullopt},
       }) {
    auto last = LastLifeEvent(db(), c.name, c.seq);
    REGFS_ASSERT_OK(last);
    EXPECT_EQ(*last, c.last) << c.name << " at " << c.seq;
  }

  auto until = LifeEventsUntil(db(), deleted);
  REGFS_ASSERT_OK(until);
  ASSERT_EQ(until->size(), 3u);
  EXPECT_EQ((*until)[0].collection, "models");
  EXPECT_EQ((*until)[0].type, EventType::kCollectionCreate);
  EXPECT_EQ((*until)[1].collection, "other");
  EXPECT_EQ((*until)[1].type, EventType::kCollectionCreate);
  EXPECT_EQ((*until)[2].collection, "models");
  EXPECT_EQ((*until)[2].type, EventType::kCollectionDelete);
  auto all = LifeEventsUntil(db(), again);
  REGFS_ASSERT_OK(all);
  EXPECT_EQ(all->size(), 4u);
  auto none = LifeEventsUntil(db(), before);
  REGFS_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(SqlTimeTravelTest, DeletedCollectionsAfterAnEvent) {
  Push("models", "a");
  auto first = reg().GetCollection("models");
  REGFS_ASSERT_OK(first);
  const uint64_t deleted_first = DeleteAll("models");
  Push("models", "b");
  Push("zoo", "c");
  const uint64_t deleted_zoo = DeleteAll("zoo");
  const uint64_t deleted_second = DeleteAll("models");

  auto one = FirstDeletedAfter(db(), "models", deleted_first - 1);
  REGFS_ASSERT_OK(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->id, first->id);
  EXPECT_EQ((*one)->name, "models");
  EXPECT_EQ((*one)->kind, Kind::kFile);
  EXPECT_EQ((*one)->created, first->created);
  EXPECT_EQ((*one)->creator, first->creator);
  EXPECT_EQ((*one)->version_count, 0u);

  auto second = FirstDeletedAfter(db(), "models", deleted_first);
  REGFS_ASSERT_OK(second);
  ASSERT_TRUE(second->has_value());
  EXPECT_NE((*second)->id, first->id);
  auto none = FirstDeletedAfter(db(), "models", deleted_second);
  REGFS_ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());

  auto after = DeletedAfter(db(), deleted_first - 1);
  REGFS_ASSERT_OK(after);
  std::vector<std::string> names;
  for (const Collection& c : *after) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"models", "zoo", "models"}));
  auto later = DeletedAfter(db(), deleted_zoo);
  REGFS_ASSERT_OK(later);
  ASSERT_EQ(later->size(), 1u);
  EXPECT_EQ(later->front().id, (*second)->id);
}

TEST_F(SqlTimeTravelTest, VersionsCreatedByAnEvent) {
  const uint64_t before = Push("other", "x");
  const uint64_t v0 = Push("models", "a");
  const uint64_t v1 = Push("models", "b");
  auto c = reg().GetCollection("models");
  REGFS_ASSERT_OK(c);
  for (const auto& [seq, numbers] :
       std::vector<std::pair<uint64_t, std::vector<uint64_t>>>{
           {before, {}}, {v0, {0}}, {v1, {0, 1}}}) {
    auto versions = VersionsCreatedBy(db(), c->id, seq);
    REGFS_ASSERT_OK(versions);
    std::vector<uint64_t> got;
    for (const Version& v : *versions) {
      got.push_back(v.number);
      EXPECT_EQ(v.collection, "models");
      EXPECT_LE(v.created_seq, seq);
    }
    EXPECT_EQ(got, numbers) << "at " << seq;
  }
}

TEST_F(SqlTimeTravelTest, ReplayEventsAreTheCollectionsAndProtections) {
  Push("models", "a");
  Push("other", "b");
  REGFS_ASSERT_OK(reg().Protect(Owner(), "prod"));
  const uint64_t protect = Seq();
  Push("models", "c");
  auto events = ReplayEvents(db(), "models", Seq());
  REGFS_ASSERT_OK(events);
  std::vector<uint64_t> want;
  for (const Event& e : AllEvents()) {
    if (e.collection == "models" || e.type == EventType::kProtect) {
      want.push_back(e.seq);
    }
  }
  std::vector<uint64_t> got;
  for (const Event& e : *events) got.push_back(e.seq);
  EXPECT_EQ(got, want);
  EXPECT_NE(std::find(got.begin(), got.end(), protect), got.end());
  auto until = ReplayEvents(db(), "models", protect - 1);
  REGFS_ASSERT_OK(until);
  for (const Event& e : *until) {
    EXPECT_LT(e.seq, protect);
    EXPECT_EQ(e.collection, "models");
  }
}

}  // namespace
}  // namespace regfs::registry::sql
