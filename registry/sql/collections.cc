#include "registry/sql/collections.h"

#include <fmt/format.h>

#include "registry/sql/dialect.h"

namespace regfs::registry::sql {

namespace {

// A collection with its counts: the columns of QueryCollections.
Collection CollectionWithCountsFromRow(const Statement& s) {
  Collection c = CollectionFromRow(s);
  ReadColumns(s, kCollectionColumnCount, c.version_count, c.alias_count,
              c.latest);
  return c;
}

std::string SelectCollections(std::string_view where) {
  return fmt::format(
      "SELECT {}, "
      "(SELECT count(*) FROM versions v WHERE v.collection_id = c.id), "
      "(SELECT count(*) FROM aliases a WHERE a.collection_id = c.id), "
      "(SELECT max(number) FROM versions v WHERE v.collection_id = c.id) "
      "FROM collections c WHERE {} ORDER BY c.name",
      kCollectionColumns, where);
}

}  // namespace

Result<std::vector<Collection>> QueryCollections(
    Connection& db, std::optional<std::string_view> name,
    std::optional<int64_t> id) {
  // One statement per form, so that a lookup by name or id uses its index
  // (an "?1 IS NULL OR ..." condition would scan every collection).
  static const std::string by_name = SelectCollections("c.name = ?1");
  static const std::string by_id = SelectCollections("c.id = ?1");
  static const std::string all = SelectCollections("1 = 1");
  REGFS_STMT(s, db, name ? by_name.c_str() : id ? by_id.c_str() : all.c_str());
  if (name) {
    s->BindText(1, *name);
  } else if (id) {
    s->BindInt64(1, *id);
  }
  return AllRows(*s, CollectionWithCountsFromRow);
}

Result<std::optional<CollectionRow>> FindCollection(Connection& db,
                                                    std::string_view name) {
  REGFS_STMT(s, db,
             "SELECT id, name, kind, next_version FROM collections "
             "WHERE name = ?1");
  s->BindText(1, name);
  return OptionalRow(*s, [](const Statement& r) {
    return CollectionRow{r.ColumnInt64(0), r.ColumnText(1),
                         static_cast<Kind>(r.ColumnInt64(2)), r.ColumnInt64(3)};
  });
}

Result<std::optional<std::string>> CollectionCaseTwin(Connection& db,
                                                      std::string_view name) {
  auto query = [](Engine e) {
    return FirstNameIgnoringCase(e, "collections", "?1", "");
  };
  return QueryName(db, query, name);
}

Result<int64_t> InsertCollection(Connection& db, std::string_view name,
                                 int64_t next_version, const Identity& creator,
                                 TimeMs created) {
  REGFS_STMT(s, db,
             "INSERT INTO collections (id, name, next_version, created_ms, "
             "creator_uid, creator) VALUES ((SELECT max(top) + 1 FROM "
             "(SELECT coalesce(max(id), 0) AS top FROM collections UNION ALL "
             "SELECT coalesce(max(id), 0) FROM deleted_collections) AS tops), "
             "?1, ?2, ?3, ?4, ?5) RETURNING id");
  s->BindText(1, name)
      .BindInt64(2, next_version)
      .BindInt64(3, created)
      .BindInt64(4, static_cast<int64_t>(creator.uid))
      .BindText(5, creator.user);
  return ReturnedId(*s, "collections: no id for a new row");
}

Status SetKindAndNextVersion(Connection& db, int64_t id, Kind kind,
                             int64_t next_version) {
  REGFS_STMT(
      s, db,
      "UPDATE collections SET next_version = ?1, kind = ?2 WHERE id = ?3");
  s->BindInt64(1, next_version)
      .BindInt64(2, static_cast<int64_t>(kind))
      .BindInt64(3, id);
  return s->Run();
}

Status RetireCollection(Connection& db, int64_t id, uint64_t deleted_seq) {
  {
    REGFS_STMT(s, db,
               "INSERT INTO deleted_collections (id, name, kind, next_version, "
               "created_ms, creator_uid, creator, deleted_seq) SELECT id, "
               "name, kind, next_version, created_ms, creator_uid, creator, ?2 "
               "FROM collections WHERE id = ?1");
    s->BindInt64(1, id).BindInt64(2, static_cast<int64_t>(deleted_seq));
    REGFS_TRY(s->Run());
  }
  REGFS_STMT(s, db, "DELETE FROM collections WHERE id = ?1");
  s->BindInt64(1, id);
  return s->Run();
}

Result<int64_t> DeletedNextVersion(Connection& db, std::string_view name) {
  REGFS_ASSIGN_OR_RETURN(
      const uint64_t next,
      QueryCount(db,
                 "SELECT coalesce(max(next_version), 0) FROM "
                 "deleted_collections WHERE name = ?1",
                 name));
  return static_cast<int64_t>(next);
}

}  // namespace regfs::registry::sql
