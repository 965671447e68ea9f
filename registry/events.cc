// The history table: appending an event, reading events back.
#include <algorithm>
#include <climits>

#include "registry/registry_impl.h"

namespace regfs::registry {

Result<uint64_t> Registry::Impl::Append(const Identity& who, EventType type,
                                        std::string_view collection,
                                        std::string_view alias,
                                        std::optional<uint64_t> old_version,
                                        std::optional<uint64_t> new_version,
                                        const nlohmann::json& detail,
                                        TimeMs time) {
  REGFS_STMT(s, *db,
             "INSERT INTO history (time_ms, event, collection, alias, "
             "old_version, new_version, uid, user, interface, detail) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING seq");
  auto opt = [](std::optional<uint64_t> v) -> std::optional<int64_t> {
    if (!v) return std::nullopt;
    return static_cast<int64_t>(*v);
  };
  s->BindInt64(1, time)
      .BindText(2, EventTypeName(type))
      .BindText(3, collection)
      .BindText(4, alias)
      .BindOptionalInt64(5, opt(old_version))
      .BindOptionalInt64(6, opt(new_version))
      .BindInt64(7, static_cast<int64_t>(who.uid))
      .BindText(8, who.user)
      .BindText(9, InterfaceName(who.interface))
      // A pushed file's name may hold any byte; JSON holds UTF-8 only.
      .BindText(10, detail.dump(-1, ' ', false,
                                nlohmann::json::error_handler_t::replace));
  auto row = s->Step();
  REGFS_TRY(row);
  if (!*row) return Fail(Code::kIoError, "history: no seq for a new event");
  const auto seq = static_cast<uint64_t>(s->ColumnInt64(0));
  NoteWritten(seq);
  return seq;
}

// The newest event's seq (0 for none).
Result<uint64_t> Registry::Impl::LastSeq() {
  REGFS_STMT(s, *db, "SELECT coalesce(max(seq), 0) FROM history");
  auto row = s->Step();
  REGFS_TRY(row);
  return static_cast<uint64_t>(s->ColumnInt64(0));
}

// Rows of "SELECT seq, time_ms, event, collection, alias, old_version,
// new_version, uid, user, interface, detail FROM history ...".
Result<std::vector<Event>> ReadEvents(sql::Statement& s) {
  std::vector<Event> out;
  REGFS_TRY(sql::ForEachRow(s, [&](sql::Statement& r) -> Status {
    auto e = sql::EventFromRow(r);
    REGFS_TRY(e);
    out.push_back(std::move(*e));
    return {};
  }));
  return out;
}

Result<std::vector<Event>> Registry::History(const HistoryFilter& filter) {
  auto lock = impl_->Lock();
  REGFS_STMT(
      s, *impl_->db,
      "SELECT seq, time_ms, event, collection, alias, old_version, "
      "new_version, uid, user, interface, detail FROM history "
      "WHERE seq > ?1 AND (?2 = '' OR collection = ?2) "
      "AND (?3 = '' OR alias = ?3 OR "
      "     (event = 'alias.rename' AND json_extract(detail, '$.to') = ?3)) "
      "AND time_ms >= ?4 AND seq <= ?6 ORDER BY seq LIMIT ?5");
  s->BindInt64(1, static_cast<int64_t>(filter.after_seq))
      .BindText(2, filter.collection)
      .BindText(3, filter.alias)
      .BindInt64(4, filter.since.value_or(INT64_MIN))
      .BindInt64(5, filter.limit == 0 ? -1 : static_cast<int64_t>(filter.limit))
      .BindInt64(6, filter.until_seq ? static_cast<int64_t>(std::min(
                                           *filter.until_seq,
                                           static_cast<uint64_t>(INT64_MAX)))
                                     : INT64_MAX);
  return ReadEvents(*s);
}

Result<uint64_t> Registry::LastSeq() {
  auto lock = impl_->Lock();
  return impl_->LastSeq();
}

}  // namespace regfs::registry
