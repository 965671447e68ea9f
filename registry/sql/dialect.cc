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

}  // namespace regfs::registry::sql
