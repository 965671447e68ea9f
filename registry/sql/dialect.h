// Where the SQL of the two engines differs: each difference is one small
// function of the engine, and StatementText builds, once per engine, the
// text of a statement that uses one. Each form is tested on its engine
// (tests/registry/sql_postgres_test.cc and the sql_*_test.cc run on both).
#ifndef REGFS_REGISTRY_SQL_DIALECT_H_
#define REGFS_REGISTRY_SQL_DIALECT_H_

#include <optional>
#include <string>
#include <string_view>

#include "registry/error.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

// engine-specific: an SQL condition true when `lhs` equals `rhs` but for
// ASCII case (SQLite: `lhs = rhs COLLATE NOCASE`; PostgreSQL: both sides
// through a translate() of A-Z only, as NOCASE folds ASCII only).
[[nodiscard]] Result<std::string> EqualsIgnoringCase(Engine engine,
                                                     std::string_view lhs,
                                                     std::string_view rhs);

// The escape character of ContainsIgnoringCase's patterns.
inline constexpr char kLikeEscape = '\\';

// engine-specific: an SQL condition true when `expr` matches the LIKE
// pattern `pattern` (escaped with kLikeEscape) but for ASCII case, as
// EqualsIgnoringCase compares (SQLite: its LIKE, which ignores ASCII case
// only; PostgreSQL: LIKE on both sides through the same translate(), as
// ILIKE would follow the database's locale).
[[nodiscard]] Result<std::string> LikeIgnoringCase(Engine engine,
                                                   std::string_view expr,
                                                   std::string_view pattern);

// The first (by name) `name` in `table` that equals `rhs` but for case,
// among the rows that meet `also` ("AND ..." or empty): "SELECT name FROM
// {table} WHERE ... ORDER BY name LIMIT 1".
[[nodiscard]] Result<std::string> FirstNameIgnoringCase(Engine engine,
                                                        std::string_view table,
                                                        std::string_view rhs,
                                                        std::string_view also);

// engine-specific: `expr` as an ORDER BY term that sorts text by its bytes,
// as std::string compares (SQLite: its default BINARY collation, named;
// PostgreSQL: `expr COLLATE "C"`).
[[nodiscard]] Result<std::string> InByteOrder(Engine engine,
                                              std::string_view expr);

// engine-specific: the SQL of the text of field `field` of the JSON
// object stored in text column `column`, NULL when it is missing (SQLite:
// json_extract; PostgreSQL: ->> of the column cast to jsonb). `field` is
// a plain identifier.
[[nodiscard]] Result<std::string> JsonTextField(Engine engine,
                                                std::string_view column,
                                                std::string_view field);

// engine-specific: a query whose rows (one text column) are the problems
// the engine finds in its own storage (SQLite: pragma_integrity_check;
// PostgreSQL, which has no such check without extensions: invalid
// indexes; corrupt pages surface as Corruption when read).
[[nodiscard]] const char* StorageCheckQuery(Engine engine);

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

// The one name that the query `make(engine)` (StatementText's Make, e.g. a
// FirstNameIgnoringCase) finds for `name` bound to ?1, or nullopt.
template <class Make>
[[nodiscard]] Result<std::optional<std::string>> QueryName(
    Connection& db, Make make, std::string_view name) {
  REGFS_ASSIGN_OR_RETURN(const char* text, StatementText(db.engine(), make));
  return QueryOptional(
      db, text, [](const Statement& r) { return r.ColumnText(0); }, name);
}

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_DIALECT_H_
