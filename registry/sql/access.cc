#include "registry/sql/access.h"

#include <fmt/format.h>

#include "registry/sql/dialect.h"

namespace regfs::registry::sql {

Result<std::optional<Role>> GrantedRole(Connection& db,
                                        std::string_view principal) {
  REGFS_STMT(s, db, "SELECT role FROM roles WHERE principal = ?1");
  s->BindText(1, principal);
  return OptionalRow(
      *s, [](Statement& r) { return static_cast<Role>(r.ColumnInt64(0)); });
}

Status PutGrant(Connection& db, std::string_view principal, Role role) {
  REGFS_STMT(s, db,
             "INSERT INTO roles (principal, role) VALUES (?1, ?2) "
             "ON CONFLICT (principal) DO UPDATE SET role = excluded.role");
  s->BindText(1, principal).BindInt64(2, static_cast<int64_t>(role));
  return s->Run();
}

Status DeleteGrant(Connection& db, std::string_view principal) {
  REGFS_STMT(s, db, "DELETE FROM roles WHERE principal = ?1");
  s->BindText(1, principal);
  return s->Run();
}

Result<std::vector<RoleGrant>> ListGrants(Connection& db) {
  REGFS_STMT(s, db, "SELECT principal, role FROM roles ORDER BY principal");
  return AllRows(*s, [](Statement& r) {
    return RoleGrant{r.ColumnText(0), static_cast<Role>(r.ColumnInt64(1))};
  });
}

Result<std::optional<std::string>> ProtectedSpelling(Connection& db,
                                                     std::string_view name) {
  REGFS_ASSIGN_OR_RETURN(
      const char* text,
      StatementText(db.engine(), [](Engine engine) -> Result<std::string> {
        auto same = EqualsIgnoringCase(engine, "name", "?1");
        REGFS_TRY(same);
        return fmt::format(
            "SELECT name FROM protected_names WHERE {} ORDER BY name LIMIT 1",
            *same);
      }));
  REGFS_STMT(s, db, text);
  s->BindText(1, name);
  return OptionalRow(*s, [](Statement& r) { return r.ColumnText(0); });
}

Status InsertProtectedName(Connection& db, std::string_view name, TimeMs time,
                           std::string_view user) {
  REGFS_STMT(s, db,
             "INSERT INTO protected_names (name, created_ms, created_by) "
             "VALUES (?1, ?2, ?3)");
  s->BindText(1, name).BindInt64(2, time).BindText(3, user);
  return s->Run();
}

Status DeleteProtectedName(Connection& db, std::string_view name) {
  REGFS_STMT(s, db, "DELETE FROM protected_names WHERE name = ?1");
  s->BindText(1, name);
  return s->Run();
}

Result<std::vector<ProtectedName>> ListProtectedNames(Connection& db) {
  REGFS_STMT(s, db,
             "SELECT name, created_ms, created_by FROM protected_names "
             "ORDER BY name");
  return AllRows(*s, [](Statement& r) {
    return ProtectedName{r.ColumnText(0), r.ColumnInt64(1), r.ColumnText(2)};
  });
}

}  // namespace regfs::registry::sql
