#include "registry/sql/dialect.h"

#include <fmt/format.h>

namespace regfs::registry::sql {

Result<std::string> EqualsIgnoringCase(Engine engine, std::string_view lhs,
                                       std::string_view rhs) {
  switch (engine) {
    case Engine::kSqlite:
      return fmt::format("{} = {} COLLATE NOCASE", lhs, rhs);
    case Engine::kPostgres:
      break;
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
      break;
  }
  return Fail(Code::kIoError, "byte order is not written for this engine");
}

}  // namespace regfs::registry::sql
