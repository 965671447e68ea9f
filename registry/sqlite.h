// Thin owners of SQLite handles: Database (a connection with a cache of
// prepared statements), Statement (move-only, finalizes itself) and
// Transaction (rolls back unless committed). Internal to registry/.
//
// Not thread-safe: a Database and its statements belong to one thread at a
// time (Registry serializes them behind its mutex).
#ifndef REGFS_REGISTRY_SQLITE_H_
#define REGFS_REGISTRY_SQLITE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "registry/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace regfs::registry::sqlite {

// A prepared statement. Move-only; finalizes on destruction. Binds are
// 1-based and typed: BindInt64 takes int64_t only, so no silent narrowing.
class Statement final {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& BindInt64(int index, int64_t value);
  template <class T>
  Statement& BindInt64(int, T) = delete;
  Statement& BindText(int index, std::string_view value);
  Statement& BindNull(int index);
  Statement& BindOptionalInt64(int index, std::optional<int64_t> value);

  // Runs one step: true while a row is available, false when done.
  [[nodiscard]] Result<bool> Step();
  // Steps to completion, ignoring rows.
  [[nodiscard]] Status Run();

  int64_t ColumnInt64(int index) const;
  std::string ColumnText(int index) const;
  bool ColumnIsNull(int index) const;
  std::optional<int64_t> ColumnOptionalInt64(int index) const;

  // Resets for reuse and clears the bindings.
  void Reset();

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a cached statement when it goes out of scope.
class ScopedStatement final {
 public:
  explicit ScopedStatement(Statement& stmt) : stmt_(&stmt) {}
  ScopedStatement(ScopedStatement&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)) {}
  ScopedStatement& operator=(ScopedStatement&&) = delete;
  ScopedStatement(const ScopedStatement&) = delete;
  ScopedStatement& operator=(const ScopedStatement&) = delete;
  ~ScopedStatement() {
    if (stmt_ != nullptr) stmt_->Reset();
  }
  Statement* operator->() { return stmt_; }
  Statement& operator*() { return *stmt_; }

 private:
  Statement* stmt_;
};

// One connection. Owns sqlite3* and closes it (after its statements).
class Database final {
 public:
  static Result<std::unique_ptr<Database>> Open(
      const std::filesystem::path& path, bool create);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements without results.
  [[nodiscard]] Status Exec(std::string_view sql);
  // A statement prepared once per connection and reused. `sql` must be a
  // string with static storage (it keys the cache by address).
  [[nodiscard]] Result<ScopedStatement> Cached(const char* sql);
  // A one-off statement.
  [[nodiscard]] Result<Statement> Prepare(std::string_view sql);

  int64_t LastInsertRowId() const;
  int Changes() const;
  // Whether a transaction is open (SQLite is not in autocommit mode).
  bool InTransaction() const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  Error ErrorFrom(int rc, std::string_view what) const;

  sqlite3* db_;
  std::map<const char*, Statement> cache_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless
// Commit() succeeded. Nested() is a savepoint inside an open transaction
// (a group commit, Registry::Impl::JoinBatch): Commit() releases it into
// that transaction, destruction rolls back to it, and if even that fails,
// rolls back the whole transaction, so that no half of it can commit.
class Transaction final {
 public:
  [[nodiscard]] static Result<Transaction> Begin(Database& db);
  // Fails unless a transaction is open.
  [[nodiscard]] static Result<Transaction> Nested(Database& db);
  Transaction(Transaction&& other) noexcept
      : db_(std::exchange(other.db_, nullptr)), nested_(other.nested_) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  [[nodiscard]] Status Commit();

 private:
  Transaction(Database* db, bool nested) : db_(db), nested_(nested) {}
  Database* db_;
  bool nested_;
};

// The open-ended write transaction of a group commit (GroupCommit), which
// outlives any one caller: BEGIN IMMEDIATE, COMMIT, and a ROLLBACK that
// cannot fail in a way the caller could act on.
[[nodiscard]] Status BeginBatch(Database& db);
[[nodiscard]] Status CommitBatch(Database& db);
void RollbackBatch(Database& db);

// Maps an SQLite result code to an Error; SQLITE_CORRUPT and
// SQLITE_NOTADB become Corruption, SQLITE_BUSY stays an IoError that says
// the store is busy.
Error SqliteError(int rc, std::string_view what, std::string_view detail);

}  // namespace regfs::registry::sqlite

#endif  // REGFS_REGISTRY_SQLITE_H_
