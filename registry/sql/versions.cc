#include "registry/sql/versions.h"

#include <fmt/format.h>

#include "registry/sql/dialect.h"
#include "registry/sql/rows.h"

namespace regfs::registry::sql {

namespace {

// A tree entry's statement: kTreeEntryColumns from tree_entries, then
// `rest` (its WHERE clause).
std::string SelectTreeEntries(std::string_view rest) {
  return fmt::format("SELECT {} FROM tree_entries {}", kTreeEntryColumns, rest);
}

std::string TextColumn(const Statement& s) { return s.ColumnText(0); }

VersionKey VersionKeyFromRow(const Statement& s) {
  return VersionKey{s.ColumnInt64(0), static_cast<uint64_t>(s.ColumnInt64(1))};
}

VersionAttrs VersionAttrsFromRow(const Statement& s) {
  VersionAttrs a;
  ReadColumns(s, 0, a.id, a.number, a.kind, a.creator_uid, a.created, a.size);
  return a;
}

DetailRow DetailRowFromRow(const Statement& s) {
  DetailRow d;
  ReadColumns(s, 0, d.version_id, d.is_tag, d.key, d.value);
  return d;
}

VersionAliasRow VersionAliasRowFromRow(const Statement& s) {
  return VersionAliasRow{s.ColumnInt64(0), s.ColumnText(1),
                         s.ColumnInt64(2) != 0};
}

}  // namespace

std::string SelectVersions(std::string_view rest) {
  return fmt::format(
      "SELECT {} FROM versions v JOIN collections c ON "
      "c.id = v.collection_id {}",
      kVersionColumns, rest);
}

Result<std::optional<Version>> FindVersion(Connection& db,
                                           int64_t collection_id,
                                           uint64_t number) {
  static const std::string sql =
      SelectVersions("WHERE v.collection_id = ?1 AND v.number = ?2");
  return QueryOptional(db, sql.c_str(), VersionFromRow, collection_id,
                       static_cast<int64_t>(number));
}

Result<std::optional<Version>> FindVersionById(Connection& db, int64_t id) {
  static const std::string sql = SelectVersions("WHERE v.id = ?1");
  return QueryOptional(db, sql.c_str(), VersionFromRow, id);
}

Result<std::optional<Version>> FindLatestVersion(Connection& db,
                                                 int64_t collection_id) {
  static const std::string sql = SelectVersions(
      "WHERE v.collection_id = ?1 ORDER BY v.number DESC LIMIT 1");
  return QueryOptional(db, sql.c_str(), VersionFromRow, collection_id);
}

Result<std::vector<Version>> ListVersions(Connection& db,
                                          int64_t collection_id) {
  static const std::string sql =
      SelectVersions("WHERE v.collection_id = ?1 ORDER BY v.number");
  return QueryAll(db, sql.c_str(), VersionFromRow, collection_id);
}

Result<std::vector<VersionAttrs>> ListVersionAttrs(Connection& db,
                                                   int64_t collection_id,
                                                   uint64_t first,
                                                   uint64_t last) {
  return QueryAll(
      db,
      "SELECT id, number, "
      "(SELECT kind FROM collections WHERE id = ?1), "  // once, not per row
      "creator_uid, created_ms, size FROM versions "
      "WHERE collection_id = ?1 AND number BETWEEN ?2 AND ?3 ORDER BY number",
      VersionAttrsFromRow, collection_id, static_cast<int64_t>(first),
      static_cast<int64_t>(last));
}

Result<std::vector<VersionKey>> ListVersionKeys(Connection& db,
                                                int64_t collection_id) {
  return QueryAll(db,
                  "SELECT id, number FROM versions WHERE collection_id = ?1 "
                  "ORDER BY number",
                  VersionKeyFromRow, collection_id);
}

Result<bool> VersionExists(Connection& db, int64_t id) {
  REGFS_STMT(s, db, "SELECT 1 FROM versions WHERE id = ?1");
  s->BindInt64(1, id);
  return HasRow(*s);
}

Result<int64_t> InsertVersion(Connection& db, const Version& v) {
  REGFS_STMT(s, db,
             "INSERT INTO versions (collection_id, number, created_ms, "
             "creator_uid, creator, size, files, digest, blob, filename, "
             "description, created_seq) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
             "RETURNING id");
  s->BindInt64(1, v.collection_id)
      .BindInt64(2, static_cast<int64_t>(v.number))
      .BindInt64(3, v.created)
      .BindInt64(4, static_cast<int64_t>(v.creator_uid))
      .BindText(5, v.creator)
      .BindInt64(6, static_cast<int64_t>(v.size))
      .BindInt64(7, static_cast<int64_t>(v.files))
      .BindText(8, v.digest);
  if (v.kind == Kind::kTree) {
    s->BindNull(9);
  } else {
    s->BindText(9, v.blob);
  }
  s->BindText(10, v.filename)
      .BindText(11, v.description)
      .BindInt64(12, static_cast<int64_t>(v.created_seq));
  return ReturnedId(*s, "versions: no id for a new row");
}

Status DeleteVersion(Connection& db, int64_t id) {
  return Execute(db, "DELETE FROM versions WHERE id = ?1", id);
}

Result<int64_t> InsertTreeEntry(Connection& db, const TreeEntry& e) {
  REGFS_STMT(s, db,
             "INSERT INTO tree_entries (version_id, parent_id, name, "
             "is_dir, executable, size, blob) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id");
  s->BindInt64(1, e.version_id)
      .BindInt64(2, e.parent_id)
      .BindText(3, e.name)
      .BindInt64(4, int64_t{e.is_dir ? 1 : 0})
      .BindInt64(5, int64_t{e.executable ? 1 : 0})
      .BindInt64(6, static_cast<int64_t>(e.size));
  if (e.is_dir) {
    s->BindNull(7);
  } else {
    s->BindText(7, e.blob);
  }
  return ReturnedId(*s, "tree_entries: no id for a new row");
}

Result<std::vector<TreeEntry>> ListTreeEntries(Connection& db,
                                               int64_t version_id,
                                               int64_t parent_id) {
  static const std::string sql = SelectTreeEntries(
      "WHERE version_id = ?1 AND parent_id = ?2 ORDER BY name");
  return QueryAll(db, sql.c_str(), TreeEntryFromRow, version_id, parent_id);
}

Result<std::optional<TreeEntry>> LookupTreeEntry(Connection& db,
                                                 int64_t version_id,
                                                 int64_t parent_id,
                                                 std::string_view name) {
  static const std::string sql = SelectTreeEntries(
      "WHERE version_id = ?1 AND parent_id = ?2 AND name = ?3");
  return QueryOptional(db, sql.c_str(), TreeEntryFromRow, version_id,
                       parent_id, name);
}

Result<std::optional<TreeEntry>> FindTreeEntry(Connection& db, int64_t id) {
  static const std::string sql = SelectTreeEntries("WHERE id = ?1");
  return QueryOptional(db, sql.c_str(), TreeEntryFromRow, id);
}

Result<bool> AddTag(Connection& db, int64_t version_id, std::string_view tag) {
  REGFS_STMT(s, db,
             "INSERT INTO tags (version_id, tag) VALUES (?1, ?2) "
             "ON CONFLICT (version_id, tag) DO NOTHING");
  s->BindInt64(1, version_id).BindText(2, tag);
  REGFS_TRY(s->Run());
  return db.Changes() != 0;
}

Result<bool> RemoveTag(Connection& db, int64_t version_id,
                       std::string_view tag) {
  REGFS_STMT(s, db, "DELETE FROM tags WHERE version_id = ?1 AND tag = ?2");
  s->BindInt64(1, version_id).BindText(2, tag);
  REGFS_TRY(s->Run());
  return db.Changes() != 0;
}

Result<std::vector<std::string>> VersionTags(Connection& db,
                                             int64_t version_id) {
  return QueryAll(db, "SELECT tag FROM tags WHERE version_id = ?1 ORDER BY tag",
                  TextColumn, version_id);
}

Status PutMetadata(Connection& db, int64_t version_id, std::string_view key,
                   std::string_view value) {
  return Execute(db,
                 "INSERT INTO metadata (version_id, key, value) "
                 "VALUES (?1, ?2, ?3) "
                 "ON CONFLICT (version_id, key) DO UPDATE SET value = "
                 "excluded.value",
                 version_id, key, value);
}

Result<std::map<std::string, std::string>> VersionMetadata(Connection& db,
                                                           int64_t version_id) {
  REGFS_STMT(s, db, "SELECT key, value FROM metadata WHERE version_id = ?1");
  s->BindInt64(1, version_id);
  std::map<std::string, std::string> out;
  REGFS_TRY(ForEachRow(
      *s, [&](const Statement& r) { out[r.ColumnText(0)] = r.ColumnText(1); }));
  return out;
}

Result<std::vector<DetailRow>> CollectionDetails(Connection& db,
                                                 int64_t collection_id) {
  return QueryAll(db,
                  "SELECT t.version_id, 1, t.tag, '' FROM tags t "
                  "JOIN versions v ON v.id = t.version_id "
                  "WHERE v.collection_id = ?1 UNION ALL "
                  "SELECT m.version_id, 0, m.key, m.value FROM metadata m "
                  "JOIN versions v ON v.id = m.version_id "
                  "WHERE v.collection_id = ?1 ORDER BY 1, 2, 3",
                  DetailRowFromRow, collection_id);
}

Result<std::vector<std::string>> VersionAliasNames(Connection& db,
                                                   int64_t version_id) {
  return QueryAll(
      db, "SELECT name FROM aliases WHERE version_id = ?1 ORDER BY name",
      TextColumn, version_id);
}

Result<std::vector<VersionAliasRow>> VersionAliasRows(Connection& db,
                                                      int64_t version_id) {
  REGFS_ASSIGN_OR_RETURN(
      const char* text,
      StatementText(db.engine(), [](Engine engine) -> Result<std::string> {
        auto is_protected = AliasIsProtected(engine);
        REGFS_TRY(is_protected);
        return fmt::format(
            "SELECT a.id, a.name, {} FROM aliases a WHERE a.version_id = ?1 "
            "ORDER BY a.name",
            *is_protected);
      }));
  return QueryAll(db, text, VersionAliasRowFromRow, version_id);
}

}  // namespace regfs::registry::sql
