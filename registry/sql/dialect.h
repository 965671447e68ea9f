// Where the SQL of the two engines differs: each difference is one small
// function of the engine, and StatementText builds, once per engine, the
// text of a statement that uses one. Only SQLite is implemented today; on
// another engine these fail with IoError until its engine (issue #14)
// writes and tests its form.
#ifndef REGFS_REGISTRY_SQL_DIALECT_H_
#define REGFS_REGISTRY_SQL_DIALECT_H_

#include <string>
#include <string_view>

#include "registry/error.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

// engine-specific: an SQL condition true when `lhs` equals `rhs` but for
// ASCII case (SQLite: `lhs = rhs COLLATE NOCASE`).
[[nodiscard]] Result<std::string> EqualsIgnoringCase(Engine engine,
                                                     std::string_view lhs,
                                                     std::string_view rhs);

// The first (by name) `name` in `table` that equals `rhs` but for case,
// among the rows that meet `also` ("AND ..." or empty): "SELECT name FROM
// {table} WHERE ... ORDER BY name LIMIT 1".
[[nodiscard]] Result<std::string> FirstNameIgnoringCase(Engine engine,
                                                        std::string_view table,
                                                        std::string_view rhs,
                                                        std::string_view also);

// engine-specific: `expr` as an ORDER BY term that sorts text by its bytes,
// as std::string compares (SQLite: its default BINARY collation, named;
// PostgreSQL's would be `expr COLLATE "C"`).
[[nodiscard]] Result<std::string> InByteOrder(Engine engine,
                                              std::string_view expr);

// The text of a statement for `engine`, made by `make(engine)` (a
// Result<std::string>) the first time it is asked for, and kept for the
// process: Connection::Cached keys statements by the text's address. Each
// call site instantiates its own texts. Thread-safe.
template <class Make>
[[nodiscard]] Result<const char*> StatementText(Engine engine, Make make) {
  auto text = [](const Result<std::string>& made) -> Result<const char*> {
    if (!made) return std::unexpected(made.error());
    return made->c_str();
  };
  if (engine == Engine::kSqlite) {
    static const Result<std::string> sqlite = make(Engine::kSqlite);
    return text(sqlite);
  }
  static const Result<std::string> postgres = make(Engine::kPostgres);
  return text(postgres);
}

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_DIALECT_H_
