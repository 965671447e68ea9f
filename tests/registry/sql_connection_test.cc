// The SQL layer's engine side (registry/sql/connection.h) against a
// temporary SQLite database: transactions commit or roll back whole, a
// nested one (a savepoint) commits into the outer transaction or rolls
// back to its start, and the row helpers step as they promise.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry/sql/connection.h"
#include "registry/sql/sqlite.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::sql {
namespace {

using testing::CodeOf;
using testing::Describe;
using testing::TempDir;

class SqlConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = SqliteConnection::Open(tmp_.path() / "test.db", /*create=*/true);
    ASSERT_TRUE(db.has_value()) << Describe(db);
    db_ = std::move(*db);
    ASSERT_TRUE(
        db_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, "
                  "name TEXT NOT NULL)"));
  }

  Connection& db() { return *db_; }

  void Insert(std::string_view name) {
    REGFS_ASSERT_OK(Run("INSERT INTO t (name) VALUES (?1)", name));
  }

  Status Run(std::string_view sql, std::string_view name) {
    auto s = db().Prepare(sql);
    REGFS_TRY(s);
    (*s)->BindText(1, name);
    return (*s)->Run();
  }

  // The names in t, by id.
  std::vector<std::string> Stored() {
    auto s = db().Prepare("SELECT name FROM t ORDER BY id");
    EXPECT_TRUE(s.has_value()) << Describe(s);
    if (!s) return {};
    auto names = AllRows(**s, [](Statement& r) { return r.ColumnText(0); });
    EXPECT_TRUE(names.has_value()) << Describe(names);
    return names.value_or(std::vector<std::string>{});
  }

  TempDir tmp_;
  std::unique_ptr<Connection> db_;
};

using Names = std::vector<std::string>;

TEST_F(SqlConnectionTest, CommitKeepsTheChanges) {
  {
    auto tx = Transaction::Begin(db());
    REGFS_ASSERT_OK(tx);
    EXPECT_TRUE(db().InTransaction());
    Insert("a");
    REGFS_ASSERT_OK(tx->Commit());
  }
  EXPECT_FALSE(db().InTransaction());
  EXPECT_EQ(Stored(), Names{"a"});
}

TEST_F(SqlConnectionTest, DestructionWithoutCommitRollsBack) {
  {
    auto tx = Transaction::Begin(db());
    REGFS_ASSERT_OK(tx);
    Insert("a");
    EXPECT_EQ(Stored(), Names{"a"});  // visible inside the transaction
  }
  EXPECT_FALSE(db().InTransaction());
  EXPECT_EQ(Stored(), Names{});
}

TEST_F(SqlConnectionTest, MovedTransactionRollsBackOnce) {
  {
    auto tx = Transaction::Begin(db());
    REGFS_ASSERT_OK(tx);
    Insert("a");
    Transaction moved = std::move(*tx);
    REGFS_ASSERT_OK(moved.Commit());
  }  // the moved-from transaction must not roll back the committed one
  EXPECT_EQ(Stored(), Names{"a"});
}

TEST_F(SqlConnectionTest, NestedCommitsIntoTheOuterTransaction) {
  auto outer = Transaction::Begin(db());
  REGFS_ASSERT_OK(outer);
  Insert("a");
  {
    auto nested = Transaction::Nested(db());
    REGFS_ASSERT_OK(nested);
    Insert("b");
    REGFS_ASSERT_OK(nested->Commit());
  }
  EXPECT_TRUE(db().InTransaction());
  REGFS_ASSERT_OK(outer->Commit());
  EXPECT_EQ(Stored(), (Names{"a", "b"}));
}

TEST_F(SqlConnectionTest, NestedCommitIsUndoneWithTheOuterTransaction) {
  {
    auto outer = Transaction::Begin(db());
    REGFS_ASSERT_OK(outer);
    auto nested = Transaction::Nested(db());
    REGFS_ASSERT_OK(nested);
    Insert("b");
    REGFS_ASSERT_OK(nested->Commit());
  }
  EXPECT_EQ(Stored(), Names{});
}

TEST_F(SqlConnectionTest, NestedRollsBackToItsSavepoint) {
  auto outer = Transaction::Begin(db());
  REGFS_ASSERT_OK(outer);
  Insert("a");
  {
    auto nested = Transaction::Nested(db());
    REGFS_ASSERT_OK(nested);
    Insert("b");
  }
  // Only the nested change is gone; the outer one goes on and commits.
  EXPECT_TRUE(db().InTransaction());
  Insert("c");
  REGFS_ASSERT_OK(outer->Commit());
  EXPECT_EQ(Stored(), (Names{"a", "c"}));
}

TEST_F(SqlConnectionTest, FailedRollbackToSavepointRollsBackTheWhole) {
  auto outer = Transaction::Begin(db());
  REGFS_ASSERT_OK(outer);
  Insert("a");
  {
    auto nested = Transaction::Nested(db());
    REGFS_ASSERT_OK(nested);
    Insert("b");
    // The savepoint vanishes under the nested transaction, so it cannot
    // roll back to it.
    REGFS_ASSERT_OK(db().Exec("RELEASE regfs_nested"));
  }
  // No half of the change may commit: the whole transaction is gone.
  EXPECT_FALSE(db().InTransaction());
  EXPECT_FALSE(outer->Commit().has_value());
  EXPECT_EQ(Stored(), Names{});
}

TEST_F(SqlConnectionTest, NestedWithoutATransactionFails) {
  auto nested = Transaction::Nested(db());
  ASSERT_FALSE(nested.has_value());
  EXPECT_EQ(CodeOf(nested), Code::kIoError);
  EXPECT_FALSE(db().InTransaction());
  Insert("a");  // autocommit as before
  EXPECT_EQ(Stored(), Names{"a"});
}

TEST_F(SqlConnectionTest, ForEachRowVisitsEveryRow) {
  for (const char* name : {"a", "b", "c"}) Insert(name);
  auto s = db().Prepare("SELECT name FROM t ORDER BY id");
  REGFS_ASSERT_OK(s);
  Names seen;
  REGFS_ASSERT_OK(
      ForEachRow(**s, [&](Statement& r) { seen.push_back(r.ColumnText(0)); }));
  EXPECT_EQ(seen, (Names{"a", "b", "c"}));
}

TEST_F(SqlConnectionTest, ForEachRowStopsAtTheFirstError) {
  for (const char* name : {"a", "b", "c"}) Insert(name);
  auto s = db().Prepare("SELECT name FROM t ORDER BY id");
  REGFS_ASSERT_OK(s);
  Names seen;
  const Status status = ForEachRow(**s, [&](Statement& r) -> Status {
    seen.push_back(r.ColumnText(0));
    if (seen.size() == 2) return Fail(Code::kCorruption, "bad row");
    return {};
  });
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, Code::kCorruption);
  EXPECT_EQ(status.error().message, "bad row");
  EXPECT_EQ(seen, (Names{"a", "b"}));
}

TEST_F(SqlConnectionTest, ForEachRowReturnsAStepError) {
  // A statement that fails while stepping (not while preparing).
  auto s = db().Prepare("SELECT abs(-9223372036854775807 - 1)");
  REGFS_ASSERT_OK(s);
  int rows = 0;
  EXPECT_FALSE(ForEachRow(**s, [&](Statement&) { ++rows; }).has_value());
  EXPECT_EQ(rows, 0);
}

TEST_F(SqlConnectionTest, OptionalRowMapsTheFirstRowOrNone) {
  auto s = db().Prepare("SELECT name FROM t WHERE name = ?1");
  REGFS_ASSERT_OK(s);
  auto name = [](Statement& r) { return r.ColumnText(0); };
  (*s)->BindText(1, "a");
  auto none = OptionalRow(**s, name);
  REGFS_ASSERT_OK(none);
  EXPECT_EQ(*none, std::nullopt);

  Insert("a");
  (*s)->Reset();
  (*s)->BindText(1, "a");
  auto one = OptionalRow(**s, name);
  REGFS_ASSERT_OK(one);
  EXPECT_EQ(*one, std::optional<std::string>("a"));
}

TEST_F(SqlConnectionTest, AllRowsMapsEveryRowInOrder) {
  for (const char* name : {"x", "y"}) Insert(name);
  auto s = db().Prepare("SELECT id, name FROM t ORDER BY id DESC");
  REGFS_ASSERT_OK(s);
  auto rows = AllRows(**s, [](Statement& r) {
    return std::to_string(r.ColumnInt64(0)) + r.ColumnText(1);
  });
  REGFS_ASSERT_OK(rows);
  EXPECT_EQ(*rows, (Names{"2y", "1x"}));
}

TEST_F(SqlConnectionTest, ChangesCountsTheLastStatementsRows) {
  for (const char* name : {"a", "b", "c"}) Insert(name);
  EXPECT_EQ(db().Changes(), 1);
  REGFS_ASSERT_OK(Run("UPDATE t SET name = ?1 WHERE name <> 'b'", "z"));
  EXPECT_EQ(db().Changes(), 2);
  REGFS_ASSERT_OK(Run("DELETE FROM t WHERE name = ?1", "none"));
  EXPECT_EQ(db().Changes(), 0);
}

TEST_F(SqlConnectionTest, CachedStatementIsResetAfterUse) {
  Insert("a");
  static constexpr const char* kSql = "SELECT name FROM t WHERE name = ?1";
  for (int i = 0; i < 2; ++i) {
    auto s = db().Cached(kSql);
    REGFS_ASSERT_OK(s);
    (*s)->BindText(1, "a");
    auto row = OptionalRow(**s, [](Statement& r) { return r.ColumnText(0); });
    REGFS_ASSERT_OK(row);
    EXPECT_EQ(*row, std::optional<std::string>("a")) << "use " << i;
  }
}

}  // namespace
}  // namespace regfs::registry::sql
