#include "registry/sql/history.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <string>

#include "registry/sql/dialect.h"
#include "registry/sql/notifications.h"
#include "registry/sql/rows.h"

namespace regfs::registry::sql {
namespace {

std::optional<int64_t> OptionalNumber(std::optional<uint64_t> v) {
  if (!v) return std::nullopt;
  return static_cast<int64_t>(*v);
}

// On PostgreSQL, tells the other nodes' listeners (notifications.h) that
// `seq` exists once the transaction commits. SQLite has no other nodes:
// its listeners are the store's sockets (change_listeners.h).
Status Notify(Connection& db, int64_t seq) {
  if (db.engine() != Engine::kPostgres) return {};
  REGFS_STMT(s, db, "SELECT pg_notify(?1, ?2)");
  s->BindText(1, kHistoryChannel).BindText(2, std::to_string(seq));
  return s->Run();
}

}  // namespace

// The next seq, gap-free and in commit order on every engine. PostgreSQL
// takes it from the counter row, which stays locked until the appending
// transaction ends. SQLite has one writer at a time, which holds the
// write lock until it ends, and the history is append-only (its
// triggers): the newest seq plus one, read from the history's last page,
// which the append writes anyway (schema step 7).
Result<int64_t> NextSeq(Connection& db) {
  if (db.engine() == Engine::kSqlite) {
    REGFS_STMT(s, db, "SELECT coalesce(max(seq), 0) + 1 FROM history");
    auto seq = OptionalRow(*s, [](Statement& r) { return r.ColumnInt64(0); });
    REGFS_TRY(seq);
    if (!*seq) return Fail(Code::kCorruption, "history: no newest seq");
    return **seq;
  }
  REGFS_STMT(s, db,
             "UPDATE counters SET value = value + 1 WHERE name = 'history' "
             "RETURNING value");
  auto seq = OptionalRow(*s, [](Statement& r) { return r.ColumnInt64(0); });
  REGFS_TRY(seq);
  if (!*seq) return Fail(Code::kCorruption, "history: no counter row");
  return **seq;
}

Result<uint64_t> AppendEvent(Connection& db, const Event& event) {
  // The seq and the row commit together, or neither does.
  auto tx = db.InTransaction() ? Transaction::Nested(db)
                               : Transaction::Begin(db);
  REGFS_TRY(tx);
  REGFS_ASSIGN_OR_RETURN(const int64_t seq, NextSeq(db));
  REGFS_STMT(s, db,
             "INSERT INTO history (seq, time_ms, event, collection, alias, "
             "old_version, new_version, uid, \"user\", interface, detail, "
             "host) "
             "VALUES (?11, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?12)");
  s->BindInt64(1, event.time)
      .BindText(2, EventTypeName(event.type))
      .BindText(3, event.collection)
      .BindText(4, event.alias)
      .BindOptionalInt64(5, OptionalNumber(event.old_version))
      .BindOptionalInt64(6, OptionalNumber(event.new_version))
      .BindInt64(7, static_cast<int64_t>(event.uid))
      .BindText(8, event.user)
      .BindText(9, InterfaceName(event.interface))
      // A pushed file's name may hold any byte; JSON holds UTF-8 only.
      .BindText(10, StoredDetail(event).dump(
                        -1, ' ', false,
                        nlohmann::json::error_handler_t::replace))
      .BindInt64(11, seq)
      .BindText(12, event.host);
  REGFS_TRY(s->Run());
  REGFS_TRY(Notify(db, seq));
  REGFS_TRY(tx->Commit());
  return static_cast<uint64_t>(seq);
}

Result<uint64_t> LastSeq(Connection& db) {
  return QueryCount(db, "SELECT coalesce(max(seq), 0) FROM history");
}

Result<std::vector<Event>> ReadEvents(Statement& s) {
  std::vector<Event> out;
  REGFS_TRY(ForEachRow(s, [&](Statement& r) -> Status {
    auto e = EventFromRow(r);
    REGFS_TRY(e);
    out.push_back(std::move(*e));
    return {};
  }));
  return out;
}

Result<std::vector<Event>> QueryHistory(Connection& db,
                                        const HistoryFilter& filter) {
  REGFS_ASSIGN_OR_RETURN(
      const char* text,
      StatementText(db.engine(), [](Engine engine) -> Result<std::string> {
        auto target = JsonTextField(engine, "detail", "to");
        REGFS_TRY(target);
        return fmt::format(
            "SELECT {} FROM history "
            "WHERE seq > ?1 AND (CAST(?2 AS TEXT) = '' OR collection = ?2) "
            "AND (CAST(?3 AS TEXT) = '' OR alias = ?3 OR "
            "(event = ?7 AND {} = ?3)) "
            "AND time_ms >= ?4 AND seq <= ?6 ORDER BY seq LIMIT ?5",
            kEventColumns, *target);
      }));
  REGFS_STMT(s, db, text);
  const uint64_t until =
      std::min(filter.until_seq.value_or(UINT64_MAX),
               static_cast<uint64_t>(INT64_MAX));
  s->BindInt64(1, static_cast<int64_t>(filter.after_seq))
      .BindText(2, filter.collection)
      .BindText(3, filter.alias)
      .BindInt64(4, filter.since.value_or(INT64_MIN))
      // No limit is the largest one: both engines take it (not LIMIT -1).
      .BindInt64(5, filter.limit == 0
                        ? INT64_MAX
                        : static_cast<int64_t>(std::min<uint64_t>(
                              filter.limit, INT64_MAX)))
      .BindInt64(6, static_cast<int64_t>(until))
      .BindText(7, EventTypeName(EventType::kAliasRename));
  return ReadEvents(*s);
}

}  // namespace regfs::registry::sql
