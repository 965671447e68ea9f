#include "registry/sql/dialect.h"

#include <fmt/format.h>

namespace regfs::registry::sql {
namespace {

// PostgreSQL: `text` with A-Z folded to a-z and nothing else, as SQLite's
// NOCASE folds (lower() would follow the database's locale).
std::string FoldAscii(std::string_view text) {
  return fmt::format(
      "translate({}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
      "'abcdefghijklmnopqrstuvwxyz')",
      text);
}

}  // namespace

Result<std::string> EqualsIgnoringCase(Engine engine, std::string_view lhs,
                                       std::string_view rhs) {
  switch (engine) {
    case Engine::kSqlite:
      return fmt::format("{} = {} COLLATE NOCASE", lhs, rhs);
    case Engine::kPostgres:
      return fmt::format("{} = {}", FoldAscii(lhs),
                         FoldAscii(fmt::format("CAST({} AS TEXT)", rhs)));
  }
  return Fail(Code::kIoError,
              "case-insensitive comparison is not written for this engine");
}

Result<std::string> FirstNameIgnoringCase(Engine engine,
                                          std::string_view table,
                                          std::string_view rhs,
                                          std::string_view also) {
  auto same = EqualsIgnoringCase(engine, "name", rhs);
  REGFS_TRY(same);
  return fmt::format("SELECT name FROM {} WHERE {} {} ORDER BY name LIMIT 1",
                     table, *same, also);
}

Result<std::string> InByteOrder(Engine engine, std::string_view expr) {
  switch (engine) {
    case Engine::kSqlite:
      return fmt::format("{} COLLATE BINARY", expr);
    case Engine::kPostgres:
      return fmt::format("{} COLLATE \"C\"", expr);
  }
  return Fail(Code::kIoError, "byte order is not written for this engine");
}

Result<std::string> JsonTextField(Engine engine, std::string_view column,
                                  std::string_view field) {
  switch (engine) {
    case Engine::kSqlite:
      return fmt::format("json_extract({}, '$.{}')", column, field);
    case Engine::kPostgres:
      return fmt::format("(CAST({} AS jsonb) ->> '{}')", column, field);
  }
  return Fail(Code::kIoError, "JSON access is not written for this engine");
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
