// Schema versions 4 (counters) and 7 (SQLite's seqs from the history): an
// older store's history continues from its newest seq, gap-free.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "registry/history.h"
#include "registry/sql/history.h"
#include "registry/sql/schema.h"
#include "registry/sql/sqlite.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::testing {
namespace {

TEST(SchemaCountersTest, UpgradeStartsTheCounterAtTheNewestSeq) {
  TempDir tmp;
  auto db = sql::SqliteConnection::Open(tmp.path() / "r.db", true);
  REGFS_ASSERT_OK(db);
  REGFS_ASSERT_OK(sql::schema::Migrate(**db, 3));
  for (int seq = 1; seq <= 3; ++seq) {
    REGFS_ASSERT_OK((*db)->Exec(fmt::format(
        "INSERT INTO history (seq, time_ms, event, collection, alias, uid, "
        "\"user\", interface, detail) VALUES ({}, 0, 'tag.add', 'm', '', 0, "
        "'root', 'cli', '{{}}')",
        seq)));
  }
  REGFS_ASSERT_OK(sql::schema::Migrate(**db));
  EXPECT_EQ(sql::schema::Version(**db).value_or(-1), Registry::kSchemaVersion);
  Event e;
  e.type = EventType::kTagAdd;
  e.collection = "m";
  e.user = "root";
  auto seq = sql::AppendEvent(**db, e);
  REGFS_ASSERT_OK(seq);
  EXPECT_EQ(*seq, 4u);
  auto again = sql::AppendEvent(**db, e);
  REGFS_ASSERT_OK(again);
  EXPECT_EQ(*again, 5u);
  EXPECT_EQ(sql::LastSeq(**db).value_or(0), 5u);
}

TEST(SchemaCountersTest, AFailedAppendTakesNoSeq) {
  TempDir tmp;
  auto db = sql::SqliteConnection::Open(tmp.path() / "r.db", true);
  REGFS_ASSERT_OK(db);
  REGFS_ASSERT_OK(sql::schema::Migrate(**db));
  Event e;
  e.type = EventType::kTagAdd;
  e.collection = "m";
  e.user = "root";
  REGFS_ASSERT_OK(sql::AppendEvent(**db, e));
  // An append that fails after taking its seq (a trigger refuses its row)
  // writes nothing, and the next one takes the same seq.
  REGFS_ASSERT_OK((*db)->Exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON history "
      "WHEN NEW.event = 'tag.add' BEGIN SELECT RAISE(ABORT, 'no'); END"));
  EXPECT_FALSE(sql::AppendEvent(**db, e).has_value());
  REGFS_ASSERT_OK((*db)->Exec("DROP TRIGGER refuse"));
  EXPECT_EQ(sql::LastSeq(**db).value_or(0), 1u);
  auto next = sql::AppendEvent(**db, e);
  REGFS_ASSERT_OK(next);
  EXPECT_EQ(*next, 2u);
}

TEST(SchemaCountersTest, StepSevenDropsSqlitesCounterRow) {
  TempDir tmp;
  auto db = sql::SqliteConnection::Open(tmp.path() / "r.db", true);
  REGFS_ASSERT_OK(db);
  REGFS_ASSERT_OK(sql::schema::Migrate(**db, 6));
  Event e;
  e.type = EventType::kTagAdd;
  e.collection = "m";
  e.user = "root";
  // A store of version 6 with an event and its counter row.
  REGFS_ASSERT_OK(sql::AppendEvent(**db, e));
  REGFS_ASSERT_OK(sql::schema::Migrate(**db));
  auto counter =
      (*db)->Prepare("SELECT count(*) FROM counters WHERE name = 'history'");
  REGFS_ASSERT_OK(counter);
  ASSERT_TRUE((*counter)->Step().value_or(false));
  EXPECT_EQ((*counter)->ColumnInt64(0), 0);
  auto next = sql::AppendEvent(**db, e);
  REGFS_ASSERT_OK(next);
  EXPECT_EQ(*next, 2u);
}

}  // namespace
}  // namespace regfs::registry::testing
