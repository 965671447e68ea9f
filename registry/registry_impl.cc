// The lookups every part of the Registry shares: a collection by name,
// a version by number, the newest version.
#include "registry/registry_impl.h"

namespace regfs::registry {

Result<CollectionRow> Registry::Impl::FindCollection(std::string_view name) {
  REGFS_STMT(s, *db,
             "SELECT id, name, kind, next_version FROM collections "
             "WHERE name = ?1");
  s->BindText(1, name);
  auto row = s->Step();
  REGFS_TRY(row);
  if (!*row) {
    REGFS_TRY(ValidateName(name, "collection"));
    return Fail(Code::kNotFound, fmt::format("no collection {}", Quote(name)));
  }
  return CollectionRow{s->ColumnInt64(0), s->ColumnText(1),
                       static_cast<Kind>(s->ColumnInt64(2)), s->ColumnInt64(3)};
}

Result<std::optional<Version>> Registry::Impl::FindVersion(
    int64_t collection_id, uint64_t number) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM versions v JOIN collections c ON "
      "c.id = v.collection_id WHERE v.collection_id = ?1 AND "
      "v.number = ?2",
      kVersionColumns);
  REGFS_STMT(s, *db, sql.c_str());
  s->BindInt64(1, collection_id).BindInt64(2, static_cast<int64_t>(number));
  auto row = s->Step();
  REGFS_TRY(row);
  if (!*row) return std::optional<Version>();
  return std::optional<Version>(VersionFromRow(*s));
}

// The newest live version and the seq of its creation event.
Result<std::optional<std::pair<Version, uint64_t>>> Registry::Impl::FindLatest(
    int64_t collection_id) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM versions v JOIN collections c ON "
      "c.id = v.collection_id WHERE v.collection_id = ?1 "
      "ORDER BY v.number DESC LIMIT 1",
      kVersionColumns);
  REGFS_STMT(s, *db, sql.c_str());
  s->BindInt64(1, collection_id);
  auto row = s->Step();
  REGFS_TRY(row);
  if (!*row) return std::optional<std::pair<Version, uint64_t>>();
  return std::optional<std::pair<Version, uint64_t>>(
      std::pair(VersionFromRow(*s), static_cast<uint64_t>(s->ColumnInt64(14))));
}

}  // namespace regfs::registry
