// The SQLite engine of the SQL layer (connection.h): the embedded store's
// registry.db. Internal to registry/sql/.
#ifndef REGFS_REGISTRY_SQL_SQLITE_H_
#define REGFS_REGISTRY_SQL_SQLITE_H_

#include <filesystem>
#include <map>
#include <memory>
#include <string_view>

#include "registry/error.h"
#include "registry/sql/connection.h"

struct sqlite3;
struct sqlite3_stmt;

namespace regfs::registry::sql {

class SqliteConnection final : public Connection {
 public:
  // Opens (or, with `create`, creates) the database at `path`, in WAL
  // mode; `durable`: synchronous=FULL, so that a commit survives a power
  // loss once it returns.
  static Result<std::unique_ptr<SqliteConnection>> Open(
      const std::filesystem::path& path, bool create, bool durable = true);
  ~SqliteConnection() override;

  Engine engine() const override { return Engine::kSqlite; }
  Status Exec(std::string_view sql) override;
  // Through Cached: parsing BEGIN, COMMIT and a savepoint's two ends
  // cost a move about as much as its statements' work.
  Status ExecOne(const char* sql) override;
  Result<ScopedStatement> Cached(const char* sql) override;
  Result<std::unique_ptr<Statement>> Prepare(std::string_view sql) override;
  int64_t Changes() const override;
  bool InTransaction() const override;
  Status BeginWrite() override;
  Status Commit() override;
  void Rollback() override;

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  Error ErrorFrom(int rc, std::string_view what) const;

  sqlite3* db_;
  std::map<const char*, std::unique_ptr<Statement>> cache_;
};

// Maps an SQLite result code to an Error; SQLITE_CORRUPT and
// SQLITE_NOTADB become Corruption, SQLITE_BUSY stays an IoError that says
// the store is busy.
Error SqliteError(int rc, std::string_view what, std::string_view detail);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_SQLITE_H_
