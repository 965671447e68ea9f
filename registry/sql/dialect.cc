#include "registry/sql/dialect.h"

#include <fmt/format.h>

namespace regfs::registry::sql {
namespace {

// The form for `engine` of a difference whose two forms are `sqlite` and
// `postgres`; `what` names the difference for an engine with neither.
Result<std::string> ForEngine(Engine engine, std::string sqlite,
                              std::string postgres, std::string_view what) {
  switch (engine) {
    case Engine::kSqlite:
      return sqlite;
    case Engine::kPostgres:
      return postgres;
  }
  return Fail(Code::kIoError,
              fmt::format("{} is not written for this engine", what));
}

// PostgreSQL: `text` with A-Z folded to a-z and nothing else, as SQLite's
// NOCASE folds (lower() would follow the database's locale).
std::string FoldAscii(std::string_view text) {
  return fmt::format("translate({}, '{}', '{}')", text,
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                     "abcdefghijklmnopqrstuvwxyz");
}

}  // namespace

Result<std::string> EqualsIgnoringCase(Engine engine, std::string_view lhs,
                                       std::string_view rhs) {
  return ForEngine(engine, fmt::format("{} = {} COLLATE NOCASE", lhs, rhs),
                   fmt::format("{} = {}", FoldAscii(lhs),
                               FoldAscii(fmt::format("CAST({} AS TEXT)", rhs))),
                   "case-insensitive comparison");
}

Result<std::string> LikeIgnoringCase(Engine engine, std::string_view expr,
                                     std::string_view pattern) {
  return ForEngine(
      engine, fmt::format("{} LIKE {} ESCAPE '{}'", expr, pattern, kLikeEscape),
      fmt::format("{} LIKE {} ESCAPE '{}'", FoldAscii(expr),
                  FoldAscii(fmt::format("CAST({} AS TEXT)", pattern)),
                  kLikeEscape),
      "case-insensitive LIKE");
}

Result<std::string> FirstNameIgnoringCase(Engine engine, std::string_view table,
                                          std::string_view rhs,
                                          std::string_view also) {
  REGFS_ASSIGN_OR_RETURN(auto same, EqualsIgnoringCase(engine, "name", rhs));
  return fmt::format("SELECT name FROM {} WHERE {} {} ORDER BY name LIMIT 1",
                     table, same, also);
}

Result<std::string> InByteOrder(Engine engine, std::string_view expr) {
  return ForEngine(engine, fmt::format("{} COLLATE BINARY", expr),
                   fmt::format("{} COLLATE \"C\"", expr), "byte order");
}

Result<std::string> JsonTextField(Engine engine, std::string_view column,
                                  std::string_view field) {
  return ForEngine(engine,
                   fmt::format("json_extract({}, '$.{}')", column, field),
                   fmt::format("(CAST({} AS jsonb) ->> '{}')", column, field),
                   "JSON access");
}

const char* StorageCheckQuery(Engine engine) {
  if (engine == Engine::kSqlite) {
    return "SELECT integrity_check FROM pragma_integrity_check "
           "WHERE integrity_check <> 'ok'";
  }
  return "SELECT 'invalid index ' || CAST(indexrelid AS regclass) "
         "FROM pg_index WHERE NOT indisvalid";
}

}  // namespace regfs::registry::sql
