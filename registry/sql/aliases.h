// The aliases table: finding, listing and writing one collection's
// aliases. The rules (who may, which names) are in registry/aliases.cc.
#ifndef REGFS_REGISTRY_SQL_ALIASES_H_
#define REGFS_REGISTRY_SQL_ALIASES_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/model.h"
#include "registry/sql/connection.h"
#include "registry/sql/rows.h"

namespace regfs::registry::sql {

// Who last set an alias and when: `revision` is the seq of that event.
struct AliasStamp {
  uint64_t revision = 0;
  TimeMs time = 0;
  uid_t uid = 0;
  std::string_view user;
};

// The alias `name` of collection `collection_id`, or nullopt.
[[nodiscard]] Result<std::optional<AliasRow>> FindAlias(
    Connection& db, int64_t collection_id, std::string_view name);
// The aliases of collection `collection_id` with their versions' numbers,
// by name.
[[nodiscard]] Result<std::vector<AliasRow>> ListAliasRows(
    Connection& db, int64_t collection_id);
// The first name (in order) of an alias of `collection_id` other than
// `except_id` that equals `name` but for case, or nullopt.
[[nodiscard]] Result<std::optional<std::string>> AliasCaseTwin(
    Connection& db, int64_t collection_id, std::string_view name,
    int64_t except_id);
// The alias `name` of `c` with its protection, or nullopt.
[[nodiscard]] Result<std::optional<Alias>> GetAlias(Connection& db,
                                                    const CollectionRow& c,
                                                    std::string_view name);
// Every alias of `c` (not `latest`) with its protection, by name.
[[nodiscard]] Result<std::vector<Alias>> ListAliases(Connection& db,
                                                     const CollectionRow& c);
// Adds alias `name` of `collection_id` naming version `version_id`; its
// row id.
[[nodiscard]] Result<int64_t> InsertAlias(Connection& db, int64_t collection_id,
                                          std::string_view name,
                                          int64_t version_id,
                                          const AliasStamp& stamp);
// Points alias `alias_id` at version `version_id`.
[[nodiscard]] Status MoveAlias(Connection& db, int64_t alias_id,
                               int64_t version_id, const AliasStamp& stamp);
// Renames alias `alias_id` to `name`.
[[nodiscard]] Status RenameAlias(Connection& db, int64_t alias_id,
                                 std::string_view name,
                                 const AliasStamp& stamp);
// Removes alias `alias_id`.
[[nodiscard]] Status DeleteAlias(Connection& db, int64_t alias_id);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_ALIASES_H_
