// registry/sql/history.h (and EventFromRow's rename target), called
// directly on a fresh store.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "registry/sql/history.h"
#include "registry/sql/rows.h"
#include "tests/registry/sql_engine_test_util.h"

namespace regfs::registry::testing {
namespace {

Event MakeEvent(EventType type, std::string collection, std::string alias,
                TimeMs time) {
  Event e;
  e.type = type;
  e.collection = std::move(collection);
  e.alias = std::move(alias);
  e.time = time;
  e.uid = 42;
  e.user = "alice";
  e.interface = Interface::kFs;
  return e;
}

class SqlHistoryTest : public SqlEngineTest {
 protected:
  // Appends `e`; its seq.
  uint64_t Add(const Event& e) {
    auto seq = sql::AppendEvent(db(), e);
    EXPECT_TRUE(seq.has_value()) << Describe(seq);
    return seq.value_or(0);
  }

  // The detail column of event `seq`, as stored.
  std::string StoredText(uint64_t seq) {
    auto s = db().Prepare("SELECT detail FROM history WHERE seq = ?1");
    EXPECT_TRUE(s.has_value());
    if (!s) return {};
    (*s)->BindInt64(1, static_cast<int64_t>(seq));
    auto row = (*s)->Step();
    EXPECT_TRUE(row.has_value() && *row);
    return row.has_value() && *row ? (*s)->ColumnText(0) : "";
  }

  std::vector<uint64_t> Seqs(const HistoryFilter& filter) {
    auto events = sql::QueryHistory(db(), filter);
    EXPECT_TRUE(events.has_value()) << Describe(events);
    std::vector<uint64_t> out;
    for (const Event& e : events.value_or(std::vector<Event>{})) {
      out.push_back(e.seq);
    }
    return out;
  }
};

TEST_P(SqlHistoryTest, AppendReturnsTheNextSeqAndRoundTrips) {
  auto last = sql::LastSeq(db());
  REGFS_ASSERT_OK(last);
  Event e = MakeEvent(EventType::kAliasMove, "m", "prod", 1234);
  e.old_version = 1;
  e.new_version = 2;
  e.detail = {{"tag", "gold"}};
  const uint64_t seq = Add(e);
  EXPECT_EQ(seq, *last + 1);
  EXPECT_EQ(Add(e), seq + 1) << "gapless";
  auto now = sql::LastSeq(db());
  REGFS_ASSERT_OK(now);
  EXPECT_EQ(*now, seq + 1);

  auto events = sql::QueryHistory(db(), HistoryFilter{.after_seq = *last,
                                                      .limit = 1});
  REGFS_ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  const Event& got = (*events)[0];
  EXPECT_EQ(got.seq, seq);
  EXPECT_EQ(got.time, 1234);
  EXPECT_EQ(got.type, EventType::kAliasMove);
  EXPECT_EQ(got.collection, "m");
  EXPECT_EQ(got.alias, "prod");
  EXPECT_EQ(got.old_version, 1u);
  EXPECT_EQ(got.new_version, 2u);
  EXPECT_EQ(got.uid, 42u);
  EXPECT_EQ(got.user, "alice");
  EXPECT_EQ(got.interface, Interface::kFs);
  EXPECT_EQ(got.detail, nlohmann::json({{"tag", "gold"}}));
  EXPECT_TRUE(got.renamed_to.empty());
}

TEST_P(SqlHistoryTest, RenameTargetIsTypedAndStoredAsBefore) {
  Event e = MakeEvent(EventType::kAliasRename, "m", "cand", 10);
  e.renamed_to = "champion";
  const uint64_t seq = Add(e);
  // The stored format of every store so far: the target in the detail.
  EXPECT_EQ(StoredText(seq), R"({"to":"champion"})");
  auto events = sql::QueryHistory(db(), HistoryFilter{.after_seq = seq - 1});
  REGFS_ASSERT_OK(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].renamed_to, "champion");
  EXPECT_TRUE((*events)[0].detail.empty()) << (*events)[0].detail.dump();
  // The JSON line is unchanged: "to" after the fixed keys.
  EXPECT_NE(RenderJsonLine((*events)[0]).find(R"("interface":"fs","to":"champion"})"),
            std::string::npos)
      << RenderJsonLine((*events)[0]);
}

TEST_P(SqlHistoryTest, OnlyARenameHasARenameTarget) {
  // A row as an older or foreign writer left it: a tag event whose detail
  // holds "to" keeps it as detail.
  auto insert = db().Prepare(
      "INSERT INTO history (seq, time_ms, event, collection, alias, uid, "
      "\"user\", interface, detail) SELECT coalesce(max(seq), 0) + 1, 1, "
      "?1, 'm', '', 0, 'root', 'cli', ?2 FROM history");
  REGFS_ASSERT_OK(insert);
  (*insert)->BindText(1, "tag.add").BindText(2, R"({"tag":"t","to":"zzz"})");
  REGFS_ASSERT_OK((*insert)->Run());
  auto events = sql::QueryHistory(db(), HistoryFilter{});
  REGFS_ASSERT_OK(events);
  ASSERT_FALSE(events->empty());
  const Event& tag = events->back();
  EXPECT_TRUE(tag.renamed_to.empty());
  EXPECT_EQ(tag.detail.value("to", ""), "zzz");
  EXPECT_TRUE(Seqs(HistoryFilter{.alias = "zzz"}).empty())
      << "the alias filter follows renames only";
}

TEST_P(SqlHistoryTest, FilterSelectsEvents) {
  const uint64_t base = sql::LastSeq(db()).value_or(0);
  const uint64_t create =
      Add(MakeEvent(EventType::kAliasCreate, "m", "a", 100));
  const uint64_t move = Add(MakeEvent(EventType::kAliasMove, "m", "a", 200));
  Event rename = MakeEvent(EventType::kAliasRename, "m", "a", 300);
  rename.renamed_to = "b";
  const uint64_t renamed = Add(rename);
  const uint64_t other = Add(MakeEvent(EventType::kAliasCreate, "n", "b", 400));
  const uint64_t moved_b = Add(MakeEvent(EventType::kAliasMove, "m", "b", 500));
  struct Case {
    const char* what;
    HistoryFilter filter;
    std::vector<uint64_t> seqs;
  };
  const Case cases[] = {
      {"all", {.after_seq = base}, {create, move, renamed, other, moved_b}},
      {"collection", {.collection = "n", .after_seq = base}, {other}},
      {"alias a", {.collection = "m", .alias = "a", .after_seq = base},
       {create, move, renamed}},
      {"alias b follows the rename",
       {.collection = "m", .alias = "b", .after_seq = base},
       {renamed, moved_b}},
      {"since", {.since = 300, .after_seq = base}, {renamed, other, moved_b}},
      {"after", {.after_seq = renamed}, {other, moved_b}},
      {"until", {.after_seq = base, .until_seq = move}, {create, move}},
      {"limit", {.after_seq = base, .limit = 2}, {create, move}},
      {"a limit above every row",
       {.after_seq = base, .limit = UINT64_MAX},
       {create, move, renamed, other, moved_b}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Seqs(c.filter), c.seqs) << c.what;
  }
}

TEST_P(SqlHistoryTest, ReadEventsMapsEveryRowAndRefusesUnknownKinds) {
  Add(MakeEvent(EventType::kProtect, "", "prod", 1));
  Add(MakeEvent(EventType::kUnprotect, "", "prod", 2));
  const std::string select = fmt::format(
      "SELECT {} FROM history WHERE event LIKE '%protect' ORDER BY seq DESC",
      sql::kEventColumns);
  auto s = db().Prepare(select);
  REGFS_ASSERT_OK(s);
  auto events = sql::ReadEvents(**s);
  REGFS_ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].type, EventType::kUnprotect);
  EXPECT_EQ((*events)[1].type, EventType::kProtect);

  // The history is append-only: a row of an unknown kind is appended.
  auto bogus = db().Prepare(
      "INSERT INTO history (seq, time_ms, event, collection, alias, uid, "
      "\"user\", interface, detail) SELECT coalesce(max(seq), 0) + 1, 3, "
      "'alias.unprotect', '', 'x', 0, 'root', 'cli', '{}' FROM history");
  REGFS_ASSERT_OK(bogus);
  REGFS_ASSERT_OK((*bogus)->Run());
  auto again = db().Prepare(select);
  REGFS_ASSERT_OK(again);
  EXPECT_EQ(CodeOf(sql::ReadEvents(**again)), Code::kCorruption);
}

REGFS_SQL_ENGINES(SqlHistoryTest);

}  // namespace
}  // namespace regfs::registry::testing
