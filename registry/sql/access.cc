#include "registry/sql/access.h"

#include <fmt/format.h>

#include "registry/sql/dialect.h"

namespace regfs::registry::sql {

Result<std::optional<Role>> GrantedRole(Connection& db,
                                        std::string_view principal) {
  return QueryOptional(
      db, "SELECT role FROM roles WHERE principal = ?1",
      [](Statement& r) { return static_cast<Role>(r.ColumnInt64(0)); },
      principal);
}

Result<bool> AnyGroupGrant(Connection& db) {
  REGFS_ASSIGN_OR_RETURN(
      const auto any,
      QueryOptional(
          db, "SELECT 1 FROM roles WHERE principal LIKE 'group:%' LIMIT 1",
          [](Statement& r) { return r.ColumnInt64(0); }));
  return any.has_value();
}

Status PutGrant(Connection& db, std::string_view principal, Role role) {
  return Execute(db,
                 "INSERT INTO roles (principal, role) VALUES (?1, ?2) "
                 "ON CONFLICT (principal) DO UPDATE SET role = excluded.role",
                 principal, static_cast<int64_t>(role));
}

Status DeleteGrant(Connection& db, std::string_view principal) {
  return Execute(db, "DELETE FROM roles WHERE principal = ?1", principal);
}

Result<std::vector<RoleGrant>> ListGrants(Connection& db) {
  return QueryAll(
      db, "SELECT principal, role FROM roles ORDER BY principal",
      [](Statement& r) {
        return RoleGrant{r.ColumnText(0), static_cast<Role>(r.ColumnInt64(1))};
      });
}

Result<std::optional<std::string>> ProtectedSpelling(Connection& db,
                                                     std::string_view name) {
  auto query = [](Engine e) {
    return FirstNameIgnoringCase(e, "protected_names", "?1", "");
  };
  return QueryName(db, query, name);
}

Status InsertProtectedName(Connection& db, std::string_view name, TimeMs time,
                           std::string_view user) {
  return Execute(db,
                 "INSERT INTO protected_names (name, created_ms, created_by) "
                 "VALUES (?1, ?2, ?3)",
                 name, int64_t{time}, user);
}

Status DeleteProtectedName(Connection& db, std::string_view name) {
  return Execute(db, "DELETE FROM protected_names WHERE name = ?1", name);
}

Result<std::vector<ProtectedName>> ListProtectedNames(Connection& db) {
  return QueryAll(db,
                  "SELECT name, created_ms, created_by FROM protected_names "
                  "ORDER BY name",
                  [](Statement& r) {
                    return ProtectedName{r.ColumnText(0), r.ColumnInt64(1),
                                         r.ColumnText(2)};
                  });
}

}  // namespace regfs::registry::sql
