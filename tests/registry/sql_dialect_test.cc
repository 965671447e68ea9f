// registry/sql/dialect.h: the engine-specific pieces of SQL, run on both
// engines (sql_engine_test_util.h) where they are expressions, and on a
// SQLite database of their own where the statement is SQLite's.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "registry/sql/dialect.h"
#include "registry/sql/sqlite.h"
#include "tests/registry/sql_engine_test_util.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::testing {
namespace {

using SqlDialectEngineTest = SqlEngineTest;
REGFS_SQL_ENGINES(SqlDialectEngineTest);

TEST_P(SqlDialectEngineTest, EqualsIgnoringCaseFoldsAsciiOnly) {
  auto same = sql::EqualsIgnoringCase(db().engine(), "CAST(?1 AS TEXT)", "?2");
  REGFS_ASSERT_OK(same);
  auto stmt = db().Prepare("SELECT CASE WHEN " + *same + " THEN 1 ELSE 0 END");
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
}

TEST_P(SqlDialectEngineTest, LikeIgnoringCaseFoldsAsciiOnlyAndEscapes) {
  auto like = sql::LikeIgnoringCase(db().engine(), "CAST(?1 AS TEXT)", "?2");
  REGFS_ASSERT_OK(like);
  auto stmt = db().Prepare("SELECT CASE WHEN " + *like + " THEN 1 ELSE 0 END");
  REGFS_ASSERT_OK(stmt);
  struct Case {
    const char* text;
    const char* pattern;
    bool matches;
  };
  const Case cases[] = {
      {"ResNet50", "%resnet%", true},
      {"resnet50", "%RESNET%", true},
      {"resnet", "%resnets%", false},
      {"caf\xc3\xa9", "%CAF\xc3\x89%", false},  // é, É: not ASCII
      {"a_b", "%a\\_b%", true},
      {"axb", "%a\\_b%", false},
      {"50%", "%0\\%%", true},
      {"500", "%0\\%%", false},
      {"c:\\d", "%:\\\\d%", true},
      {"c:d", "%:\\\\d%", false},
  };
  for (const Case& c : cases) {
    (*stmt)->Reset();
    (*stmt)->BindText(1, c.text).BindText(2, c.pattern);
    auto row = (*stmt)->Step();
    REGFS_ASSERT_OK(row);
    ASSERT_TRUE(*row);
    EXPECT_EQ((*stmt)->ColumnInt64(0) != 0, c.matches)
        << c.text << " " << c.pattern;
  }
}

TEST_P(SqlDialectEngineTest, InByteOrderSortsAsStdStringCompares) {
  REGFS_ASSERT_OK(db().Exec(
      "CREATE TABLE t (k TEXT); INSERT INTO t VALUES ('b'), ('\xc3\xa9'), "
      "('B'), ('a'), ('ab'), ('A')"));
  auto order = sql::InByteOrder(db().engine(), "k");
  REGFS_ASSERT_OK(order);
  auto stmt = db().Prepare("SELECT k FROM t ORDER BY " + *order);
  REGFS_ASSERT_OK(stmt);
  auto keys = sql::AllRows(**stmt, [](sql::Statement& r) {
    return r.ColumnText(0);
  });
  REGFS_ASSERT_OK(keys);
  std::vector<std::string> sorted = *keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(*keys, sorted);
  EXPECT_EQ(keys->size(), 6u);
}

TEST(SqlDialectTest, FirstNameIgnoringCaseFindsTheFirstSpelling) {
  TempDir tmp;
  auto db = sql::SqliteConnection::Open(tmp.path() / "t.db", true);
  REGFS_ASSERT_OK(db);
  REGFS_ASSERT_OK((*db)->Exec(
      "CREATE TABLE names (name TEXT, n INTEGER); INSERT INTO names VALUES "
      "('prod', 1), ('Prod', 2), ('PROD', 3), ('other', 4)"));
  struct Case {
    const char* what;
    const char* also;
    const char* given;
    std::optional<std::string> found;
  };
  const Case cases[] = {
      {"first by name", "", "pROD", "PROD"},
      {"narrowed", "AND n = 1", "PROD", "prod"},
      {"none", "", "staging", std::nullopt},
  };
  for (const Case& c : cases) {
    auto text =
        sql::FirstNameIgnoringCase(sql::Engine::kSqlite, "names", "?1", c.also);
    REGFS_ASSERT_OK(text);
    auto stmt = (*db)->Prepare(*text);
    REGFS_ASSERT_OK(stmt);
    (*stmt)->BindText(1, c.given);
    auto found = sql::OptionalRow(
        **stmt, [](sql::Statement& r) { return r.ColumnText(0); });
    REGFS_ASSERT_OK(found);
    EXPECT_EQ(*found, c.found) << c.what;
  }
}

}  // namespace
}  // namespace regfs::registry::testing
