// Collections: their rows, their counts, creating them, and the rows of
// deleted collections that keep their ids and numbering (schema v3).
#ifndef REGFS_REGISTRY_SQL_COLLECTIONS_H_
#define REGFS_REGISTRY_SQL_COLLECTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/identity.h"
#include "registry/model.h"
#include "registry/sql/connection.h"
#include "registry/sql/rows.h"

namespace regfs::registry::sql {

// Collections with their counts, by name; `name` or `id` narrows to one.
[[nodiscard]] Result<std::vector<Collection>> QueryCollections(
    Connection& db, std::optional<std::string_view> name,
    std::optional<int64_t> id);
// The collection named `name` exactly, or nullopt.
[[nodiscard]] Result<std::optional<CollectionRow>> FindCollection(
    Connection& db, std::string_view name);
// The name of a collection that equals `name` but for case (the first by
// name), or nullopt.
[[nodiscard]] Result<std::optional<std::string>> CollectionCaseTwin(
    Connection& db, std::string_view name);
// Inserts collection `name`, empty, numbering from `next_version`, with an
// id above every live and deleted collection's; returns the id.
[[nodiscard]] Result<int64_t> InsertCollection(Connection& db,
                                               std::string_view name,
                                               int64_t next_version,
                                               const Identity& creator,
                                               TimeMs created);
// Sets the kind of collection `id` and the number its next version gets.
[[nodiscard]] Status SetKindAndNextVersion(Connection& db, int64_t id,
                                           Kind kind, int64_t next_version);
// Moves collection `id`'s row to deleted_collections, recording the seq of
// its collection.delete event.
[[nodiscard]] Status RetireCollection(Connection& db, int64_t id,
                                      uint64_t deleted_seq);
// Where the numbering of the deleted collections named `name` got (0 if
// none was).
[[nodiscard]] Result<int64_t> DeletedNextVersion(Connection& db,
                                                 std::string_view name);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_COLLECTIONS_H_
