// The store's settings: a key-value table (the owner, the creation time).
#ifndef REGFS_REGISTRY_SQL_SETTINGS_H_
#define REGFS_REGISTRY_SQL_SETTINGS_H_

#include <optional>
#include <string>
#include <string_view>

#include "registry/error.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

// Sets `key` to `value`, replacing any value it had.
[[nodiscard]] Status PutSetting(Connection& db, std::string_view key,
                                std::string_view value);
// The value of `key`, or nullopt.
[[nodiscard]] Result<std::optional<std::string>> GetSetting(
    Connection& db, std::string_view key);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_SETTINGS_H_
