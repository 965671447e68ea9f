// registry/sql/collections.h, called directly on a fresh store's database:
// collections with their counts, insertion with ids never reused, the
// case-insensitive twin, the kind and numbering, and deleted collections.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "registry/sql/collections.h"
#include "tests/registry/sql_test_util.h"

namespace regfs::registry {
namespace {

using testing::Describe;
using testing::Owner;

// The Registry makes what needs its rules (SqlTest).
class SqlCollectionsTest : public testing::SqlTest {
 protected:
  int64_t Insert(std::string_view name, int64_t next_version = 0) {
    auto id = sql::InsertCollection(db(), name, next_version, Owner(), 1234);
    EXPECT_TRUE(id.has_value()) << Describe(id);
    return id.value_or(-1);
  }

  sql::CollectionRow Find(std::string_view name) {
    auto c = sql::FindCollection(db(), name);
    EXPECT_TRUE(c.has_value()) << Describe(c);
    EXPECT_TRUE(c.has_value() && c->has_value()) << name;
    return c.has_value() && c->has_value() ? **c : sql::CollectionRow{};
  }
};

TEST_F(SqlCollectionsTest, InsertedCollectionIsFoundEmpty) {
  const int64_t id = Insert("models", 4);
  const sql::CollectionRow c = Find("models");
  EXPECT_EQ(c.id, id);
  EXPECT_EQ(c.name, "models");
  EXPECT_EQ(c.kind, Kind::kEmpty);
  EXPECT_EQ(c.next_version, 4);

  auto all = sql::QueryCollections(db(), std::nullopt, std::nullopt);
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
    auto c = sql::FindCollection(db(), name);
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
    auto twin = sql::CollectionCaseTwin(db(), c.name);
    REGFS_ASSERT_OK(twin);
    EXPECT_EQ(*twin, c.twin) << c.name;
  }
}

TEST_F(SqlCollectionsTest, KindAndNextVersionAreSet) {
  const int64_t id = Insert("models");
  REGFS_ASSERT_OK(sql::SetKindAndNextVersion(db(), id, Kind::kTree, 7));
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
    auto found = sql::QueryCollections(db(), c.name, c.id);
    REGFS_ASSERT_OK(found);
    std::vector<std::string> names;
    for (const auto& f : *found) names.push_back(f.name);
    EXPECT_EQ(names, c.names)
        << c.name.value_or("-") << " " << c.id.value_or(0);
  }
  auto b = sql::QueryCollections(db(), "b", std::nullopt);
  REGFS_ASSERT_OK(b);
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].kind, Kind::kFile);
  EXPECT_EQ((*b)[0].version_count, 2u);
  EXPECT_EQ((*b)[0].alias_count, 1u);
  EXPECT_EQ((*b)[0].latest, std::optional<uint64_t>(1));
}

TEST_F(SqlCollectionsTest, RetiredCollectionKeepsItsIdAndNumbering) {
  auto none = sql::DeletedNextVersion(db(), "models");
  REGFS_ASSERT_OK(none);
  EXPECT_EQ(*none, 0);

  const int64_t first = Insert("models", 3);
  REGFS_ASSERT_OK(sql::RetireCollection(db(), first, 42));
  auto gone = sql::FindCollection(db(), "models");
  REGFS_ASSERT_OK(gone);
  EXPECT_FALSE(gone->has_value());
  auto next = sql::DeletedNextVersion(db(), "models");
  REGFS_ASSERT_OK(next);
  EXPECT_EQ(*next, 3);

  // The deleted id is not given again, to any name.
  EXPECT_GT(Insert("other"), first);
}

}  // namespace
}  // namespace regfs::registry
