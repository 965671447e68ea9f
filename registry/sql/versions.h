// Versions and what hangs off them: tree entries, tags, metadata, the
// aliases that name a version. Every statement that selects versions
// shares one shape (SelectVersions): kVersionColumns from versions joined
// with their collections.
#ifndef REGFS_REGISTRY_SQL_VERSIONS_H_
#define REGFS_REGISTRY_SQL_VERSIONS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/model.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

// "SELECT {kVersionColumns} FROM versions v JOIN collections c ON ... "
// followed by `rest` (a WHERE clause and its ORDER BY), rows for
// VersionFromRow. Build it once into a static string for Connection::Cached.
std::string SelectVersions(std::string_view rest);

// A version's id and number.
struct VersionKey {
  int64_t id = 0;
  uint64_t number = 0;
};

// A tag or a metadata entry of one of a collection's versions.
struct DetailRow {
  int64_t version_id = 0;
  bool is_tag = false;
  std::string key;    // the tag, or the metadata entry's key
  std::string value;  // the metadata entry's value; empty for a tag
};

// An alias that names a version, and whether its name is protected.
struct VersionAliasRow {
  int64_t id = 0;
  std::string name;
  bool is_protected = false;
};

// Version `number` of collection `collection_id`, or nullopt.
[[nodiscard]] Result<std::optional<Version>> FindVersion(Connection& db,
                                                         int64_t collection_id,
                                                         uint64_t number);
// The version with row id `id`, or nullopt.
[[nodiscard]] Result<std::optional<Version>> FindVersionById(Connection& db,
                                                             int64_t id);
// The newest live version of `collection_id`, or nullopt if it has none.
[[nodiscard]] Result<std::optional<Version>> FindLatestVersion(
    Connection& db, int64_t collection_id);
// The live versions of `collection_id`, oldest first, without details.
[[nodiscard]] Result<std::vector<Version>> ListVersions(Connection& db,
                                                        int64_t collection_id);
// The attributes of the live versions of `collection_id` numbered `first`
// to `last`, by number.
[[nodiscard]] Result<std::vector<VersionAttrs>> ListVersionAttrs(
    Connection& db, int64_t collection_id, uint64_t first, uint64_t last);
// The ids and numbers of the live versions of `collection_id`, by number.
[[nodiscard]] Result<std::vector<VersionKey>> ListVersionKeys(
    Connection& db, int64_t collection_id);
// Whether a version with row id `id` exists.
[[nodiscard]] Result<bool> VersionExists(Connection& db, int64_t id);

// Inserts the row of `v` (its collection_id, number, created, creator_uid,
// creator, size, files, digest, blob unless a tree, filename, description,
// created_seq) and returns its id.
[[nodiscard]] Result<int64_t> InsertVersion(Connection& db, const Version& v);
// Deletes version `id`; its tree entries, tags and metadata go with it.
[[nodiscard]] Status DeleteVersion(Connection& db, int64_t id);

// Inserts tree entry `e` (its version_id, parent_id, name, is_dir,
// executable, size, blob unless a directory) and returns its id.
[[nodiscard]] Result<int64_t> InsertTreeEntry(Connection& db,
                                              const TreeEntry& e);
// The entries of directory `parent_id` (0: the root) of version
// `version_id`, by name.
[[nodiscard]] Result<std::vector<TreeEntry>> ListTreeEntries(Connection& db,
                                                             int64_t version_id,
                                                             int64_t parent_id);
// The entry `name` of directory `parent_id` of `version_id`, or nullopt.
[[nodiscard]] Result<std::optional<TreeEntry>> LookupTreeEntry(
    Connection& db, int64_t version_id, int64_t parent_id,
    std::string_view name);
// The tree entry with row id `id`, or nullopt.
[[nodiscard]] Result<std::optional<TreeEntry>> FindTreeEntry(Connection& db,
                                                             int64_t id);

// Tags `version_id` with `tag`: false if it already was.
[[nodiscard]] Result<bool> AddTag(Connection& db, int64_t version_id,
                                  std::string_view tag);
// Removes `tag` from `version_id`: false if it had no such tag.
[[nodiscard]] Result<bool> RemoveTag(Connection& db, int64_t version_id,
                                     std::string_view tag);
// The tags of `version_id`, sorted.
[[nodiscard]] Result<std::vector<std::string>> VersionTags(Connection& db,
                                                           int64_t version_id);

// Sets metadata `key` of `version_id` to `value`, replacing any value.
[[nodiscard]] Status PutMetadata(Connection& db, int64_t version_id,
                                 std::string_view key, std::string_view value);
// The metadata of `version_id`.
[[nodiscard]] Result<std::map<std::string, std::string>> VersionMetadata(
    Connection& db, int64_t version_id);
// The tags and metadata of every version of `collection_id`, in one
// statement: by version id, each version's metadata before its tags,
// those by key.
[[nodiscard]] Result<std::vector<DetailRow>> CollectionDetails(
    Connection& db, int64_t collection_id);

// The names of the aliases that name `version_id`, sorted (no `latest`).
[[nodiscard]] Result<std::vector<std::string>> VersionAliasNames(
    Connection& db, int64_t version_id);
// The aliases that name `version_id`, by name, each with whether its name
// is protected (protection ignores case).
[[nodiscard]] Result<std::vector<VersionAliasRow>> VersionAliasRows(
    Connection& db, int64_t version_id);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_VERSIONS_H_
