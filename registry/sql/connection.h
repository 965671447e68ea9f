// The registry's SQL layer, engine side: a connection, its prepared
// statements and its transactions, as the statements of registry/sql/ see
// them. An engine (sqlite.h; PostgreSQL in a shared store) implements
// Connection and Statement; nothing above registry/sql/ names an engine.
//
// Statements are written once, in the SQL that both engines accept: `?N`
// placeholders (numbered from 1), `RETURNING` instead of a last-insert id,
// `ON CONFLICT` upserts. Where the engines differ (case-insensitive
// comparison, JSON access), a statement asks Connection::engine().
//
// Not thread-safe: a Connection and its statements belong to one thread at
// a time (Registry serializes them behind its lock).
#ifndef REGFS_REGISTRY_SQL_CONNECTION_H_
#define REGFS_REGISTRY_SQL_CONNECTION_H_

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "registry/error.h"

namespace regfs::registry::sql {

enum class Engine { kSqlite, kPostgres };

// A prepared statement. Binds are 1-based and typed: BindInt64 takes
// int64_t only, so no silent narrowing. Columns are 0-based.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  virtual ~Statement() = default;

  virtual Statement& BindInt64(int index, int64_t value) = 0;
  template <class T>
  Statement& BindInt64(int, T) = delete;
  virtual Statement& BindText(int index, std::string_view value) = 0;
  virtual Statement& BindNull(int index) = 0;
  Statement& BindOptionalInt64(int index, std::optional<int64_t> value) {
    return value ? BindInt64(index, *value) : BindNull(index);
  }

  // Runs one step: true while a row is available, false when done.
  [[nodiscard]] virtual Result<bool> Step() = 0;
  // Steps to completion, ignoring rows.
  [[nodiscard]] Status Run();

  virtual int64_t ColumnInt64(int index) const = 0;
  virtual std::string ColumnText(int index) const = 0;
  virtual bool ColumnIsNull(int index) const = 0;
  std::optional<int64_t> ColumnOptionalInt64(int index) const {
    if (ColumnIsNull(index)) return std::nullopt;
    return ColumnInt64(index);
  }

  // Resets for reuse and clears the bindings.
  virtual void Reset() = 0;
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

// One connection to the store's database.
class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  virtual ~Connection() = default;

  virtual Engine engine() const = 0;

  // Runs one or more statements without results.
  [[nodiscard]] virtual Status Exec(std::string_view sql) = 0;
  // Runs one statement without results, from a string with static storage
  // (as Cached): an engine may prepare it once. Transaction control, which
  // every change runs several times (issue 15).
  [[nodiscard]] virtual Status ExecOne(const char* sql) { return Exec(sql); }
  // A statement prepared once per connection and reused. `sql` must be a
  // string with static storage (it keys the cache by address).
  [[nodiscard]] virtual Result<ScopedStatement> Cached(const char* sql) = 0;
  // A one-off statement.
  [[nodiscard]] virtual Result<std::unique_ptr<Statement>> Prepare(
      std::string_view sql) = 0;

  // Rows changed by the last INSERT, UPDATE or DELETE.
  virtual int64_t Changes() const = 0;
  // Whether a transaction is open.
  virtual bool InTransaction() const = 0;

  // A write transaction: it excludes every other writer of the store from
  // its start (SQLite's BEGIN IMMEDIATE), so that checks made inside it
  // hold until it commits.
  [[nodiscard]] virtual Status BeginWrite() = 0;
  [[nodiscard]] virtual Status Commit() = 0;
  // Cannot fail in a way a caller could act on.
  virtual void Rollback() = 0;
  // A savepoint inside the open transaction, and its two ends: the same
  // SQL on both engines.
  [[nodiscard]] Status Savepoint();
  [[nodiscard]] Status ReleaseSavepoint();
  [[nodiscard]] Status RollbackToSavepoint();

 protected:
  // Savepoints open in the current transaction; an engine's BeginWrite
  // and Rollback end them all.
  int savepoints() const { return savepoints_; }
  void EndSavepoints() { savepoints_ = 0; }

 private:
  int savepoints_ = 0;
};

// Binds a cached statement into a local `var` that resets it at scope
// end; returns the error from the enclosing function if it cannot be
// prepared. Only registry/sql/ uses it.
#define REGFS_STMT(var, conn, sql)                         \
  auto var##_or = (conn).Cached(sql);                      \
  if (!var##_or) return std::unexpected(var##_or.error()); \
  auto& var = *var##_or

// A std::optional of an integer or an enum: a column that may be NULL.
template <class T>
concept OptionalColumn = requires(T t) {
  typename T::value_type;
  t.reset();
};

// Column `index` of `s` into `out`, as `out`'s type: a string's text, a
// bool's nonzero, an optional's value or NULL, and an integer's or an
// enum's number otherwise.
template <class T>
void ReadColumn(const Statement& s, int index, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    out = s.ColumnText(index);
  } else if constexpr (std::is_same_v<T, bool>) {
    out = s.ColumnInt64(index) != 0;
  } else if constexpr (OptionalColumn<T>) {
    out.reset();
    if (const auto v = s.ColumnOptionalInt64(index)) {
      out = static_cast<typename T::value_type>(*v);
    }
  } else {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>);
    out = static_cast<T>(s.ColumnInt64(index));
  }
}

// Columns `first`, `first` + 1, ... of `s` into `fields`, in order (each
// as ReadColumn reads it): a row mapper names its fields in the order of
// its statement's columns, once.
template <class... Fields>
void ReadColumns(const Statement& s, int first, Fields&... fields) {
  int index = first;
  (ReadColumn(s, index++, fields), ...);
}

// Steps `s` to completion, calling `fn(s)` for each row; `fn` returns
// void, or a Status that stops at the first error.
template <class Fn>
[[nodiscard]] Status ForEachRow(Statement& s, Fn&& fn) {
  for (;;) {
    auto row = s.Step();
    REGFS_TRY(row);
    if (!*row) return {};
    if constexpr (std::same_as<std::invoke_result_t<Fn&, Statement&>, void>) {
      fn(s);
    } else {
      REGFS_TRY(fn(s));
    }
  }
}

// Steps `s` once: the row mapped by `fn(s)`, or nullopt when there is none.
template <class Fn>
[[nodiscard]] auto OptionalRow(Statement& s, Fn&& fn)
    -> Result<std::optional<std::invoke_result_t<Fn&, Statement&>>> {
  using Row = std::invoke_result_t<Fn&, Statement&>;
  auto row = s.Step();
  REGFS_TRY(row);
  if (!*row) return std::optional<Row>();
  return std::optional<Row>(fn(s));
}

// Every row of `s`, each mapped by `fn(s)`.
template <class Fn>
[[nodiscard]] auto AllRows(Statement& s, Fn&& fn)
    -> Result<std::vector<std::invoke_result_t<Fn&, Statement&>>> {
  std::vector<std::invoke_result_t<Fn&, Statement&>> out;
  REGFS_TRY(ForEachRow(s, [&](Statement& r) { out.push_back(fn(r)); }));
  return out;
}

// Steps `s` once for the first column of an aggregate (a count, a
// coalesce(max(...), 0)): its value, 0 when there is no row.
[[nodiscard]] Result<int64_t> FirstInt64(Statement& s);
// Steps `s` once for the id an INSERT ... RETURNING gives back; IoError
// with `missing` as its message when no row comes back.
[[nodiscard]] Result<int64_t> ReturnedId(Statement& s,
                                         std::string_view missing);
// Steps `s` once: whether it has a row.
[[nodiscard]] Result<bool> HasRow(Statement& s);

// Binds `args` to parameters 1, 2, ... of `s` by type: int64_t with
// BindInt64, std::string_view with BindText (cast anything else first).
inline void BindArg(Statement& s, int index, int64_t value) {
  s.BindInt64(index, value);
}
inline void BindArg(Statement& s, int index, std::string_view value) {
  s.BindText(index, value);
}
template <class T>
void BindArg(Statement&, int, const T&) = delete;
template <class... Args>
Statement& BindAll(Statement& s, const Args&... args) {
  int index = 0;
  (BindArg(s, ++index, args), ...);
  return s;
}

// The cached statement `sql` (static storage, as Connection::Cached)
// with `args` bound: its one row mapped by `fn`, or nullopt.
template <class Fn, class... Args>
[[nodiscard]] auto QueryOptional(Connection& db, const char* sql, Fn&& fn,
                                 const Args&... args)
    -> Result<std::optional<std::invoke_result_t<Fn&, Statement&>>> {
  REGFS_STMT(s, db, sql);
  return OptionalRow(BindAll(*s, args...), fn);
}
// The same, every row.
template <class Fn, class... Args>
[[nodiscard]] auto QueryAll(Connection& db, const char* sql, Fn&& fn,
                            const Args&... args)
    -> Result<std::vector<std::invoke_result_t<Fn&, Statement&>>> {
  REGFS_STMT(s, db, sql);
  return AllRows(BindAll(*s, args...), fn);
}
// The same for a statement without rows.
template <class... Args>
[[nodiscard]] Status Execute(Connection& db, const char* sql,
                             const Args&... args) {
  REGFS_STMT(s, db, sql);
  return BindAll(*s, args...).Run();
}
// The same for an aggregate that is never negative (a count,
// coalesce(max(...), 0)): its value, 0 when there is no row.
template <class... Args>
[[nodiscard]] Result<uint64_t> QueryCount(Connection& db, const char* sql,
                                          const Args&... args) {
  REGFS_STMT(s, db, sql);
  auto value = FirstInt64(BindAll(*s, args...));
  REGFS_TRY(value);
  return static_cast<uint64_t>(*value);
}

// A write transaction on construction (Begin), rolled back on destruction
// unless Commit() succeeded. Nested() is a savepoint inside an open
// transaction (a group commit, GroupCommit): Commit() releases it into
// that transaction, destruction rolls back to it, and if even that fails,
// rolls back the whole transaction, so that no half of it can commit.
class Transaction final {
 public:
  [[nodiscard]] static Result<Transaction> Begin(Connection& db);
  // Fails unless a transaction is open.
  [[nodiscard]] static Result<Transaction> Nested(Connection& db);
  Transaction(Transaction&& other) noexcept
      : db_(std::exchange(other.db_, nullptr)), nested_(other.nested_) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  [[nodiscard]] Status Commit();

 private:
  Transaction(Connection* db, bool nested) : db_(db), nested_(nested) {}
  Connection* db_;
  bool nested_;
};

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_CONNECTION_H_
