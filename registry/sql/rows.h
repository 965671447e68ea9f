// Rows of the registry's tables as the domain code sees them, and the
// mappers every statement of registry/sql/ shares: each table's columns
// are listed, and their row mapped, in one place.
#ifndef REGFS_REGISTRY_SQL_ROWS_H_
#define REGFS_REGISTRY_SQL_ROWS_H_

#include <cstdint>
#include <string>

#include "registry/error.h"
#include "registry/history.h"
#include "registry/model.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

struct CollectionRow {
  int64_t id = 0;
  std::string name;
  Kind kind = Kind::kEmpty;
  int64_t next_version = 0;
};

// The columns of a collection, live or deleted, for "SELECT
// {kCollectionColumns} FROM collections c" (or deleted_collections c).
inline constexpr const char* kCollectionColumns =
    "c.id, c.name, c.kind, c.created_ms, c.creator_uid, c.creator, "
    "c.next_version";
// The number of kCollectionColumns: a statement's own columns follow them.
inline constexpr int kCollectionColumnCount = 7;
// A row of kCollectionColumns (without counts).
Collection CollectionFromRow(const Statement& s);

// The column "is alias a's name protected" (protection ignores case), for
// a statement on "aliases a".
[[nodiscard]] Result<std::string> AliasIsProtected(Engine engine);

struct AliasRow {
  int64_t id = 0;
  std::string name;
  int64_t version_id = 0;
  uint64_t number = 0;
};

// The columns of a version with its collection's name and kind, for
// "SELECT {kVersionColumns} FROM versions v JOIN collections c ...".
inline constexpr const char* kVersionColumns =
    "v.id, v.collection_id, c.name, v.number, c.kind, v.created_ms, "
    "v.creator_uid, v.creator, v.size, v.files, v.digest, "
    "coalesce(v.blob, ''), v.filename, v.description, v.created_seq";
// The number of kVersionColumns: a statement's own columns follow them.
inline constexpr int kVersionColumnCount = 15;
// A row of kVersionColumns (without details: tags, metadata, aliases).
Version VersionFromRow(const Statement& s);

// The columns of a history row, for "SELECT {kEventColumns} FROM history".
inline constexpr const char* kEventColumns =
    "seq, time_ms, event, collection, alias, old_version, new_version, uid, "
    "\"user\", interface, detail, host";
// A row of kEventColumns; Corruption for an unknown event kind.
Result<Event> EventFromRow(const Statement& s);

// The columns of a tree entry, for "SELECT {kTreeEntryColumns} FROM
// tree_entries".
inline constexpr const char* kTreeEntryColumns =
    "id, version_id, parent_id, name, is_dir, executable, size, "
    "coalesce(blob, '')";
TreeEntry TreeEntryFromRow(const Statement& s);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_ROWS_H_
