#include "registry/sql/settings.h"

namespace regfs::registry::sql {

Status PutSetting(Connection& db, std::string_view key,
                  std::string_view value) {
  REGFS_STMT(s, db,
             "INSERT INTO settings (key, value) VALUES (?1, ?2) "
             "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  s->BindText(1, key).BindText(2, value);
  return s->Run();
}

Result<std::optional<std::string>> GetSetting(Connection& db,
                                              std::string_view key) {
  REGFS_STMT(s, db, "SELECT value FROM settings WHERE key = ?1");
  s->BindText(1, key);
  return OptionalRow(*s, [](Statement& r) { return r.ColumnText(0); });
}

}  // namespace regfs::registry::sql
