// registry/sql/aliases.h and dialect.h, called directly on a fresh store.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "registry/sql/access.h"
#include "registry/sql/aliases.h"
#include "registry/sql/dialect.h"
#include "tests/registry/sql_test_util.h"

namespace regfs::registry::testing {
namespace {

class SqlAliasesTest : public SqlTest {
 protected:
  void SetUp() override {
    SqlTest::SetUp();
    if (HasFatalFailure()) return;
    for (const char* content : {"zero", "one"}) {
      auto v = PushContent(Owner(), "m", content);
      ASSERT_TRUE(v.has_value()) << Describe(v);
      versions_.push_back(*v);
    }
    auto c = reg().GetCollection("m");
    ASSERT_TRUE(c.has_value()) << Describe(c);
    c_ = sql::CollectionRow{c->id, c->name, c->kind, 2};
  }

  // Inserts alias `name` of "m" naming version `number`; its row id.
  int64_t Insert(std::string_view name, uint64_t number, uint64_t revision) {
    const sql::AliasStamp stamp{revision, 1000, 42, "alice"};
    EXPECT_TRUE(sql::InsertAlias(db(), c_.id, name, versions_[number].id,
                                 stamp)
                    .has_value());
    auto row = sql::FindAlias(db(), c_.id, name);
    EXPECT_TRUE(row.has_value() && row->has_value()) << name;
    return row.has_value() && row->has_value() ? (*row)->id : 0;
  }

  sql::CollectionRow c_;
  std::vector<Version> versions_;
};

TEST_F(SqlAliasesTest, WritesAndReadsOneAlias) {
  const int64_t id = Insert("prod", 0, 7);
  auto row = sql::FindAlias(db(), c_.id, "prod");
  REGFS_ASSERT_OK(row);
  ASSERT_TRUE(row->has_value());
  EXPECT_EQ((*row)->name, "prod");
  EXPECT_EQ((*row)->version_id, versions_[0].id);
  EXPECT_EQ((*row)->number, 0u);

  auto alias = sql::GetAlias(db(), c_, "prod");
  REGFS_ASSERT_OK(alias);
  ASSERT_TRUE(alias->has_value());
  EXPECT_EQ((*alias)->id, id);
  EXPECT_EQ((*alias)->collection, "m");
  EXPECT_EQ((*alias)->version, 0u);
  EXPECT_EQ((*alias)->revision, 7u);
  EXPECT_EQ((*alias)->updated, 1000);
  EXPECT_EQ((*alias)->updated_uid, 42u);
  EXPECT_EQ((*alias)->updated_by, "alice");
  EXPECT_FALSE((*alias)->is_protected);
  EXPECT_FALSE((*alias)->is_latest);

  REGFS_ASSERT_OK(sql::MoveAlias(db(), id, versions_[1].id,
                                 sql::AliasStamp{8, 2000, 43, "bob"}));
  alias = sql::GetAlias(db(), c_, "prod");
  REGFS_ASSERT_OK(alias);
  ASSERT_TRUE(alias->has_value());
  EXPECT_EQ((*alias)->version, 1u);
  EXPECT_EQ((*alias)->revision, 8u);
  EXPECT_EQ((*alias)->updated_by, "bob");

  REGFS_ASSERT_OK(sql::RenameAlias(db(), id, "production",
                                   sql::AliasStamp{9, 3000, 44, "carol"}));
  auto old_name = sql::GetAlias(db(), c_, "prod");
  REGFS_ASSERT_OK(old_name);
  EXPECT_FALSE(old_name->has_value());
  alias = sql::GetAlias(db(), c_, "production");
  REGFS_ASSERT_OK(alias);
  ASSERT_TRUE(alias->has_value());
  EXPECT_EQ((*alias)->id, id) << "a rename keeps the row";
  EXPECT_EQ((*alias)->version, 1u);
  EXPECT_EQ((*alias)->revision, 9u);
  EXPECT_EQ((*alias)->updated_uid, 44u);

  REGFS_ASSERT_OK(sql::DeleteAlias(db(), id));
  row = sql::FindAlias(db(), c_.id, "production");
  REGFS_ASSERT_OK(row);
  EXPECT_FALSE(row->has_value());
}

TEST_F(SqlAliasesTest, ListsByNameWithProtectionIgnoringCase) {
  Insert("staging", 1, 1);
  Insert("prod", 0, 2);
  Insert("canary", 1, 3);
  REGFS_ASSERT_OK(sql::InsertProtectedName(db(), "PROD", 1, "root"));
  auto list = sql::ListAliases(db(), c_);
  REGFS_ASSERT_OK(list);
  std::vector<std::string> names;
  for (const Alias& a : *list) {
    names.push_back(a.name);
    EXPECT_EQ(a.is_protected, a.name == "prod") << a.name;
    EXPECT_EQ(a.collection, "m");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"canary", "prod", "staging"}));
  auto one = sql::GetAlias(db(), c_, "prod");
  REGFS_ASSERT_OK(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_TRUE((*one)->is_protected);

  sql::CollectionRow other = c_;
  other.id = c_.id + 1000;
  auto none = sql::ListAliases(db(), other);
  REGFS_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(SqlAliasesTest, CaseTwin) {
  const int64_t prod = Insert("prod", 0, 1);
  Insert("Best", 1, 2);
  struct Case {
    const char* name;
    bool except_prod;
    std::optional<std::string> twin;
  };
  const Case cases[] = {
      {"PROD", false, "prod"},    {"Prod", false, "prod"},
      {"best", false, "Best"},    {"prod", false, std::nullopt},
      {"PROD", true, std::nullopt}, {"other", false, std::nullopt},
  };
  for (const Case& c : cases) {
    auto twin =
        sql::AliasCaseTwin(db(), c_.id, c.name, c.except_prod ? prod : 0);
    REGFS_ASSERT_OK(twin);
    EXPECT_EQ(*twin, c.twin) << c.name << " except_prod=" << c.except_prod;
  }
}

TEST(SqlDialectTest, EqualsIgnoringCaseFoldsAsciiOnly) {
  TempDir tmp;
  auto db = sql::SqliteConnection::Open(tmp.path() / "t.db", true);
  REGFS_ASSERT_OK(db);
  auto same = sql::EqualsIgnoringCase(sql::Engine::kSqlite, "?1", "?2");
  REGFS_ASSERT_OK(same);
  auto stmt = (*db)->Prepare("SELECT " + *same);
  REGFS_ASSERT_OK(stmt);
  struct Case {
    const char* a;
    const char* b;
    bool equal;
  };
  const Case cases[] = {
      {"prod", "PROD", true},   {"Prod", "pRoD", true},
      {"prod", "prods", false}, {"\xc3\xa9", "\xc3\x89", false},  // é, É
      {"", "", true},
  };
  for (const Case& c : cases) {
    (*stmt)->Reset();
    (*stmt)->BindText(1, c.a).BindText(2, c.b);
    auto row = (*stmt)->Step();
    REGFS_ASSERT_OK(row);
    ASSERT_TRUE(*row);
    EXPECT_EQ((*stmt)->ColumnInt64(0) != 0, c.equal) << c.a << " " << c.b;
  }
  // PostgreSQL's form is tested on its engine (sql_postgres_test.cc).
}

}  // namespace
}  // namespace regfs::registry::testing
