#include "registry/sql/time_travel.h"

#include <fmt/format.h>

#include <utility>

#include "registry/sql/rows.h"

namespace regfs::registry::sql {

namespace {

// The columns of a deleted collection, for "SELECT {kDeletedColumns} FROM
// deleted_collections".
constexpr const char* kDeletedColumns =
    "id, name, kind, created_ms, creator_uid, creator";

Collection DeletedCollectionFromRow(const Statement& s) {
  Collection c;
  c.id = s.ColumnInt64(0);
  c.name = s.ColumnText(1);
  c.kind = static_cast<Kind>(s.ColumnInt64(2));
  c.created = s.ColumnInt64(3);
  c.creator_uid = static_cast<uid_t>(s.ColumnInt64(4));
  c.creator = s.ColumnText(5);
  return c;
}

// Binds the two life event kinds to `first` and `first + 1`.
void BindLifeEvents(Statement& s, int first) {
  s.BindText(first, EventTypeName(EventType::kCollectionCreate))
      .BindText(first + 1, EventTypeName(EventType::kCollectionDelete));
}

Result<EventType> ParseLifeEvent(std::string_view name) {
  auto type = ParseEventType(name);
  if (!type) return Fail(Code::kCorruption, "unknown event type in history");
  return *type;
}

int64_t SeqArg(uint64_t seq) { return static_cast<int64_t>(seq); }

}  // namespace

Result<uint64_t> LastSeqAt(Connection& db, TimeMs time) {
  REGFS_STMT(s, db,
             "SELECT coalesce(max(seq), 0) FROM history WHERE time_ms <= ?1");
  s->BindInt64(1, time);
  auto seq = OptionalRow(*s, [](Statement& r) { return r.ColumnInt64(0); });
  REGFS_TRY(seq);
  return static_cast<uint64_t>(seq->value_or(0));
}

Result<std::optional<EventType>> LastLifeEvent(Connection& db,
                                               std::string_view name,
                                               uint64_t seq) {
  REGFS_STMT(s, db,
             "SELECT event FROM history WHERE collection = ?1 AND seq <= ?2 "
             "AND event IN (?3, ?4) ORDER BY seq DESC LIMIT 1");
  s->BindText(1, name).BindInt64(2, SeqArg(seq));
  BindLifeEvents(*s, 3);
  auto name_of = OptionalRow(*s, [](Statement& r) { return r.ColumnText(0); });
  REGFS_TRY(name_of);
  if (!*name_of) return std::optional<EventType>();
  auto type = ParseLifeEvent(**name_of);
  REGFS_TRY(type);
  return std::optional<EventType>(*type);
}

Result<std::vector<LifeEvent>> LifeEventsUntil(Connection& db, uint64_t seq) {
  REGFS_STMT(s, db,
             "SELECT collection, event FROM history WHERE seq <= ?1 AND "
             "event IN (?2, ?3) ORDER BY seq");
  s->BindInt64(1, SeqArg(seq));
  BindLifeEvents(*s, 2);
  std::vector<LifeEvent> out;
  REGFS_TRY(ForEachRow(*s, [&](Statement& r) -> Status {
    auto type = ParseLifeEvent(r.ColumnText(1));
    REGFS_TRY(type);
    out.push_back({r.ColumnText(0), *type});
    return {};
  }));
  return out;
}

Result<std::optional<Collection>> FirstDeletedAfter(Connection& db,
                                                    std::string_view name,
                                                    uint64_t seq) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM deleted_collections WHERE name = ?1 AND "
      "deleted_seq > ?2 ORDER BY deleted_seq LIMIT 1",
      kDeletedColumns);
  REGFS_STMT(s, db, sql.c_str());
  s->BindText(1, name).BindInt64(2, SeqArg(seq));
  return OptionalRow(*s, DeletedCollectionFromRow);
}

Result<std::vector<Collection>> DeletedAfter(Connection& db, uint64_t seq) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM deleted_collections WHERE deleted_seq > ?1 "
      "ORDER BY deleted_seq",
      kDeletedColumns);
  REGFS_STMT(s, db, sql.c_str());
  s->BindInt64(1, SeqArg(seq));
  return AllRows(*s, DeletedCollectionFromRow);
}

Result<std::vector<Version>> VersionsCreatedBy(Connection& db,
                                               int64_t collection_id,
                                               uint64_t seq) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM versions v JOIN collections c ON "
      "c.id = v.collection_id WHERE v.collection_id = ?1 "
      "AND v.created_seq <= ?2 ORDER BY v.number",
      kVersionColumns);
  REGFS_STMT(s, db, sql.c_str());
  s->BindInt64(1, collection_id).BindInt64(2, SeqArg(seq));
  return AllRows(*s, VersionFromRow);
}

Result<std::vector<Event>> ReplayEvents(Connection& db,
                                        std::string_view collection,
                                        uint64_t seq) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM history WHERE seq <= ?2 AND (collection = ?1 OR "
      "event IN (?3, ?4)) ORDER BY seq",
      kEventColumns);
  REGFS_STMT(s, db, sql.c_str());
  s->BindText(1, collection)
      .BindInt64(2, SeqArg(seq))
      .BindText(3, EventTypeName(EventType::kProtect))
      .BindText(4, EventTypeName(EventType::kUnprotect));
  std::vector<Event> out;
  REGFS_TRY(ForEachRow(*s, [&](Statement& r) -> Status {
    auto e = EventFromRow(r);
    REGFS_TRY(e);
    out.push_back(std::move(*e));
    return {};
  }));
  return out;
}

}  // namespace regfs::registry::sql
