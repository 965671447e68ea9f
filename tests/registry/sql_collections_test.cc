// registry/sql/collections.h, called directly on a fresh store's database:
// collections with their counts, insertion with ids never reused, the
// case-insensitive twin, the kind and numbering, and deleted collections.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry/sql/collections.h"
#include "registry/sql/sqlite.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

using testing::Describe;
using testing::Owner;

// A fresh store (RegistryTest) and a second connection to its database,
// for the statements under test; the Registry makes what needs its rules.
class SqlCollectionsTest : public testing::RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    auto db = sql::SqliteConnection::Open(store() / "registry.db", false);
    ASSERT_TRUE(db.has_value()) << Describe(db);
    db_ = std::move(*db);
  }
  void TearDown() override {
    db_.reset();
    RegistryTest::TearDown();
  }

  int64_t Insert(std::string_view name, int64_t next_version = 0) {
    auto id = sql::InsertCollection(*db_, name, next_version, Owner(), 1234);
    EXPECT_TRUE(id.has_value()) << Describe(id);
    return id.value_or(-1);
  }

  sql::CollectionRow Find(std::string_view name) {
    auto c = sql::FindCollection(*db_, name);
    EXPECT_TRUE(c.has_value()) << Describe(c);
    EXPECT_TRUE(c.has_value() && c->has_value()) << name;
    return c.has_value() && c->has_value() ? **c : sql::CollectionRow{};
  }

  std::unique_ptr<sql::Connection> db_;
};

TEST_F(SqlCollectionsTest, InsertedCollectionIsFoundEmpty) {
  const int64_t id = Insert("models", 4);
  const sql::CollectionRow c = Find("models");
  EXPECT_EQ(c.id, id);
  EXPECT_EQ(c.name, "models");
  EXPECT_EQ(c.kind, Kind::kEmpty);
  EXPECT_EQ(c.next_version, 4);

  auto all = sql::QueryCollections(*db_, std::nullopt, std::nullopt);
  REGFS_ASSERT_OK(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].created, 1234);
  EXPECT_EQ((*all)[0].creator_uid, Owner().uid);
  EXPECT_EQ((*all)[0].creator, Owner().user);
  EXPECT_EQ((*all)[0].version_count, 0u);
  EXPECT_EQ((*all)[0].latest, std::nullopt);
}

TEST_F(SqlCollectionsTest, FindIsExactAndMissingIsNullopt) {
  Insert("models");
  for (const char* name : {"Models", "model", "models2", ""}) {
    auto c = sql::FindCollection(*db_, name);
    REGFS_ASSERT_OK(c);
    EXPECT_FALSE(c->has_value()) << name;
  }
}

TEST_F(SqlCollectionsTest, CaseTwin) {
  Insert("Models");
  Insert("data");
  const struct {
    const char* name;
    std::optional<std::string> twin;
  } cases[] = {
      {"models", "Models"}, {"MODELS", "Models"},    {"Models", "Models"},
      {"DATA", "data"},     {"other", std::nullopt},
  };
  for (const auto& c : cases) {
    auto twin = sql::CollectionCaseTwin(*db_, c.name);
    REGFS_ASSERT_OK(twin);
    EXPECT_EQ(*twin, c.twin) << c.name;
  }
}

TEST_F(SqlCollectionsTest, KindAndNextVersionAreSet) {
  const int64_t id = Insert("models");
  REGFS_ASSERT_OK(sql::SetKindAndNextVersion(*db_, id, Kind::kTree, 7));
  const sql::CollectionRow c = Find("models");
  EXPECT_EQ(c.kind, Kind::kTree);
  EXPECT_EQ(c.next_version, 7);
}

TEST_F(SqlCollectionsTest, QueryNarrowsByNameOrIdAndCounts) {
  REGFS_ASSERT_OK(PushContent(Owner(), "b", "one"));
  REGFS_ASSERT_OK(PushContent(Owner(), "b", "two"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "b", "prod", "v0"));
  REGFS_ASSERT_OK(PushContent(Owner(), "a", "three"));
  const int64_t b_id = Find("b").id;
  const struct {
    std::optional<std::string_view> name;
    std::optional<int64_t> id;
    std::vector<std::string> names;
  } cases[] = {
      {std::nullopt, std::nullopt, {"a", "b"}},
      {"b", std::nullopt, {"b"}},
      {std::nullopt, b_id, {"b"}},
      {"c", std::nullopt, {}},
      {std::nullopt, b_id + 100, {}},
  };
  for (const auto& c : cases) {
    auto found = sql::QueryCollections(*db_, c.name, c.id);
    REGFS_ASSERT_OK(found);
    std::vector<std::string> names;
    for (const auto& f : *found) names.push_back(f.name);
    EXPECT_EQ(names, c.names)
        << c.name.value_or("-") << " " << c.id.value_or(0);
  }
  auto b = sql::QueryCollections(*db_, "b", std::nullopt);
  REGFS_ASSERT_OK(b);
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].kind, Kind::kFile);
  EXPECT_EQ((*b)[0].version_count, 2u);
  EXPECT_EQ((*b)[0].alias_count, 1u);
  EXPECT_EQ((*b)[0].latest, std::optional<uint64_t>(1));
}

TEST_F(SqlCollectionsTest, AliasRowsByName) {
  REGFS_ASSERT_OK(PushContent(Owner(), "m", "one"));
  auto v1 = PushContent(Owner(), "m", "two");
  REGFS_ASSERT_OK(v1);
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "m", "staging", "v1"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "m", "prod", "v0"));
  auto rows = sql::CollectionAliasRows(*db_, Find("m").id);
  REGFS_ASSERT_OK(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].name, "prod");
  EXPECT_EQ((*rows)[0].number, 0u);
  EXPECT_EQ((*rows)[1].name, "staging");
  EXPECT_EQ((*rows)[1].number, 1u);
  EXPECT_EQ((*rows)[1].version_id, v1->id);
}

TEST_F(SqlCollectionsTest, RetiredCollectionKeepsItsIdAndNumbering) {
  auto none = sql::DeletedNextVersion(*db_, "models");
  REGFS_ASSERT_OK(none);
  EXPECT_EQ(*none, 0);

  const int64_t first = Insert("models", 3);
  REGFS_ASSERT_OK(sql::RetireCollection(*db_, first, 42));
  auto gone = sql::FindCollection(*db_, "models");
  REGFS_ASSERT_OK(gone);
  EXPECT_FALSE(gone->has_value());
  auto next = sql::DeletedNextVersion(*db_, "models");
  REGFS_ASSERT_OK(next);
  EXPECT_EQ(*next, 3);

  // The deleted id is not given again, to any name.
  EXPECT_GT(Insert("other"), first);
}

}  // namespace
}  // namespace regfs::registry
