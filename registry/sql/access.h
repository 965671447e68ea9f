// Roles granted to principals, and protected alias names. Who may do what
// is decided in registry/access.cc.
#ifndef REGFS_REGISTRY_SQL_ACCESS_H_
#define REGFS_REGISTRY_SQL_ACCESS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/model.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

// The role granted to `principal` (a user, "group:NAME" or "*"), or nullopt.
[[nodiscard]] Result<std::optional<Role>> GrantedRole(
    Connection& db, std::string_view principal);
// Grants `role` to `principal`, replacing any role it had.
[[nodiscard]] Status PutGrant(Connection& db, std::string_view principal,
                              Role role);
// Removes `principal`'s grant, if any.
[[nodiscard]] Status DeleteGrant(Connection& db, std::string_view principal);
// Whether any group ("group:NAME") has a grant.
[[nodiscard]] Result<bool> AnyGroupGrant(Connection& db);
// Every grant, by principal.
[[nodiscard]] Result<std::vector<RoleGrant>> ListGrants(Connection& db);

// The first protected name (in order) that equals `name` but for case, or
// nullopt: a store from before protection ignored case may hold several.
[[nodiscard]] Result<std::optional<std::string>> ProtectedSpelling(
    Connection& db, std::string_view name);
// Protects `name` (spelt exactly so), created by `user` at `time`.
[[nodiscard]] Status InsertProtectedName(Connection& db, std::string_view name,
                                         TimeMs time, std::string_view user);
// Unprotects the name spelt exactly `name`, if protected.
[[nodiscard]] Status DeleteProtectedName(Connection& db,
                                         std::string_view name);
// Every protected name, in order.
[[nodiscard]] Result<std::vector<ProtectedName>> ListProtectedNames(
    Connection& db);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_ACCESS_H_
