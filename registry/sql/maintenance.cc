#include "registry/sql/maintenance.h"

#include <fmt/format.h>

#include "registry/sql/dialect.h"

namespace regfs::registry::sql {

namespace {

// A rule of the registry that fsck checks: each row of `sql` names one
// place that breaks it.
struct Check {
  const char* name;
  const char* sql;
};

constexpr Check kChecks[] = {
    {"alias names a missing version",
     "SELECT c.name || '/' || a.name FROM aliases a "
     "JOIN collections c ON c.id = a.collection_id "
     "WHERE a.version_id NOT IN (SELECT id FROM versions)"},
    {"version number not below the collection's next number",
     "SELECT c.name || '/v' || v.number FROM versions v "
     "JOIN collections c ON c.id = v.collection_id "
     "WHERE v.number >= c.next_version"},
    {"version of a missing collection",
     "SELECT 'v' || v.number || ' of collection ' || "
     "v.collection_id FROM versions v WHERE v.collection_id "
     "NOT IN (SELECT id FROM collections)"},
    {"version of the wrong kind",
     "SELECT c.name || '/v' || v.number FROM versions v "
     "JOIN collections c ON c.id = v.collection_id "
     "WHERE (c.kind = 1) <> (v.blob IS NOT NULL)"},
    {"history has gaps",
     "SELECT 'events ' || count(*) || ', last seq ' || "
     "coalesce(max(seq), 0) FROM history "
     "HAVING count(*) <> coalesce(max(seq), 0)"},
};

// The engine's check of its own storage (dialect.h), a row per problem.
Check StorageCheck(Engine engine) {
  return Check{"database", StorageCheckQuery(engine)};
}

Status RunCheck(Connection& db, const Check& check,
                std::vector<Inconsistency>& out) {
  REGFS_STMT(s, db, check.sql);
  return ForEachRow(*s, [&](Statement& r) {
    out.push_back({check.name, r.ColumnText(0)});
  });
}

// The blobs that versions and tree entries hold, with their sizes, where
// the blob column meets `condition`: the one definition of a referenced
// blob, for the list and for the question about one blob.
std::string ReferencedBlobsWhere(std::string_view condition) {
  return fmt::format(
      "SELECT blob, size FROM versions WHERE {0} "
      "UNION SELECT blob, size FROM tree_entries WHERE {0}",
      condition);
}

}  // namespace

Result<std::vector<Inconsistency>> FindInconsistencies(Connection& db) {
  std::vector<Inconsistency> out;
  REGFS_TRY(RunCheck(db, StorageCheck(db.engine()), out));
  for (const Check& check : kChecks) REGFS_TRY(RunCheck(db, check, out));
  return out;
}

Result<uint64_t> CountVersions(Connection& db) {
  return QueryCount(db, "SELECT count(*) FROM versions");
}

Result<std::vector<BlobRef>> ReferencedBlobs(Connection& db) {
  // The order is explicit: keys compare by their bytes in every engine.
  REGFS_ASSIGN_OR_RETURN(
      const char* text,
      StatementText(db.engine(), [](Engine engine) -> Result<std::string> {
        auto by_key = InByteOrder(engine, "r.blob");
        REGFS_TRY(by_key);
        return fmt::format("SELECT r.blob, r.size FROM ({}) r ORDER BY {}, r.size",
                           ReferencedBlobsWhere("blob IS NOT NULL"), *by_key);
      }));
  REGFS_STMT(s, db, text);
  return AllRows(*s, [](Statement& r) {
    return BlobRef{r.ColumnText(0), static_cast<uint64_t>(r.ColumnInt64(1))};
  });
}

Result<bool> IsBlobReferenced(Connection& db, std::string_view key) {
  static const std::string sql = ReferencedBlobsWhere("blob = ?1") + " LIMIT 1";
  REGFS_STMT(s, db, sql.c_str());
  s->BindText(1, key);
  return HasRow(*s);
}

Result<std::vector<std::string>> FilesOfBlob(Connection& db,
                                             std::string_view key) {
  // Tree entries are walked up to their version's root to name their path.
  REGFS_STMT(s, db,
             "WITH RECURSIVE up(entry, parent, path) AS ("
             "  SELECT id, parent_id, name FROM tree_entries WHERE blob = ?1"
             "  UNION ALL"
             "  SELECT up.entry, t.parent_id, t.name || '/' || up.path"
             "  FROM up JOIN tree_entries t ON t.id = up.parent) "
             "SELECT c.name || '/v' || v.number || '/' || up.path FROM up "
             "JOIN tree_entries e ON e.id = up.entry "
             "JOIN versions v ON v.id = e.version_id "
             "JOIN collections c ON c.id = v.collection_id "
             "WHERE up.parent = 0 "
             "UNION "
             "SELECT c.name || '/v' || v.number FROM versions v "
             "JOIN collections c ON c.id = v.collection_id WHERE v.blob = ?1 "
             "ORDER BY 1");
  s->BindText(1, key);
  return AllRows(*s, [](Statement& r) { return r.ColumnText(0); });
}

Result<std::vector<TreeFile>> TreeFiles(Connection& db, int64_t version_id) {
  REGFS_STMT(s, db,
             "WITH RECURSIVE down(id, path, blob, size) AS ("
             "  SELECT id, name, blob, size FROM tree_entries"
             "  WHERE version_id = ?1 AND parent_id = 0"
             "  UNION ALL"
             "  SELECT t.id, down.path || '/' || t.name, t.blob, t.size"
             "  FROM tree_entries t JOIN down ON t.parent_id = down.id) "
             "SELECT path, blob, size FROM down WHERE blob IS NOT NULL "
             "ORDER BY path");
  s->BindInt64(1, version_id);
  return AllRows(*s, [](Statement& r) {
    return TreeFile{r.ColumnText(0), r.ColumnText(1),
                    static_cast<uint64_t>(r.ColumnInt64(2))};
  });
}

}  // namespace regfs::registry::sql
