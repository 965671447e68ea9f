#include "registry/sql/time_travel.h"

#include <fmt/format.h>

#include <utility>

#include "registry/sql/history.h"
#include "registry/sql/rows.h"
#include "registry/sql/versions.h"

namespace regfs::registry::sql {

namespace {

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

// "SELECT {kCollectionColumns} FROM deleted_collections c " and `rest`,
// rows for CollectionFromRow.
std::string SelectDeleted(std::string_view rest) {
  return fmt::format("SELECT {} FROM deleted_collections c {}",
                     kCollectionColumns, rest);
}

}  // namespace

Result<uint64_t> LastSeqAt(Connection& db, TimeMs time) {
  return QueryCount(
      db, "SELECT coalesce(max(seq), 0) FROM history WHERE time_ms <= ?1",
      int64_t{time});
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
  static const std::string sql = SelectDeleted(
      "WHERE c.name = ?1 AND c.deleted_seq > ?2 ORDER BY c.deleted_seq "
      "LIMIT 1");
  return QueryOptional(db, sql.c_str(), CollectionFromRow, name, SeqArg(seq));
}

Result<std::vector<Collection>> DeletedAfter(Connection& db, uint64_t seq) {
  static const std::string sql =
      SelectDeleted("WHERE c.deleted_seq > ?1 ORDER BY c.deleted_seq");
  return QueryAll(db, sql.c_str(), CollectionFromRow, SeqArg(seq));
}

Result<std::vector<Version>> VersionsCreatedBy(Connection& db,
                                               int64_t collection_id,
                                               uint64_t seq) {
  static const std::string sql = SelectVersions(
      "WHERE v.collection_id = ?1 AND v.created_seq <= ?2 ORDER BY v.number");
  return QueryAll(db, sql.c_str(), VersionFromRow, collection_id, SeqArg(seq));
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
  return ReadEvents(*s);
}

}  // namespace regfs::registry::sql
