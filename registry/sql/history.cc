#include "registry/sql/history.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <string>

#include "registry/sql/dialect.h"
#include "registry/sql/rows.h"

namespace regfs::registry::sql {
namespace {

// engine-specific: the SQL of a history row's rename target, the "to" of
// its JSON detail (SQLite: json_extract).
Result<std::string> RenameTargetOfRow(Engine engine) {
  switch (engine) {
    case Engine::kSqlite:
      return std::string("json_extract(detail, '$.to')");
    case Engine::kPostgres:
      break;
  }
  return Fail(Code::kIoError,
              "reading a rename's target is not written for this engine");
}

std::optional<int64_t> OptionalNumber(std::optional<uint64_t> v) {
  if (!v) return std::nullopt;
  return static_cast<int64_t>(*v);
}

}  // namespace

Result<uint64_t> AppendEvent(Connection& db, const Event& event) {
  REGFS_STMT(s, db,
             "INSERT INTO history (time_ms, event, collection, alias, "
             "old_version, new_version, uid, user, interface, detail) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING seq");
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
                        nlohmann::json::error_handler_t::replace));
  auto seq = ReturnedId(*s, "history: no seq for a new event");
  REGFS_TRY(seq);
  return static_cast<uint64_t>(*seq);
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
        auto target = RenameTargetOfRow(engine);
        REGFS_TRY(target);
        return fmt::format(
            "SELECT {} FROM history "
            "WHERE seq > ?1 AND (?2 = '' OR collection = ?2) "
            "AND (?3 = '' OR alias = ?3 OR (event = ?7 AND {} = ?3)) "
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
