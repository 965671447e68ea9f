#include "registry/sql/sqlite.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <string>
#include <utility>

namespace regfs::registry::sql {

Error SqliteError(int rc, std::string_view what, std::string_view detail) {
  const int primary = rc & 0xff;
  const Code code = (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
                        ? Code::kCorruption
                        : Code::kIoError;
  return Error{code,
               fmt::format("{}: {} ({})", what, detail, sqlite3_errstr(rc))};
}

// A prepared sqlite3_stmt; finalizes itself.
class SqliteStatement final : public Statement {
 public:
  explicit SqliteStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  Statement& BindInt64(int index, int64_t value) override {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& BindText(int index, std::string_view value) override {
    sqlite3_bind_text(stmt_, index, value.data(),
                      static_cast<int>(value.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindNull(int index) override {
    sqlite3_bind_null(stmt_, index);
    return *this;
  }

  Result<bool> Step() override {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3* db = sqlite3_db_handle(stmt_);
    return std::unexpected(SqliteError(
        rc, "sqlite", db ? sqlite3_errmsg(db) : sqlite3_sql(stmt_)));
  }

  int64_t ColumnInt64(int index) const override {
    return sqlite3_column_int64(stmt_, index);
  }
  std::string ColumnText(int index) const override {
    const auto* text = sqlite3_column_text(stmt_, index);
    if (text == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
  }
  bool ColumnIsNull(int index) const override {
    return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
  }

  void Reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_;
};

namespace {

// WAL with synchronous=FULL: a commit is durable once it returns, even
// across a power loss. The busy timeout makes concurrent writers wait.
// A 16 MiB page cache (SQLite's default is 2 MiB) keeps the interior
// pages of a store with a million versions in memory (tests/bench).
constexpr const char* kDurablePragmas =
    "PRAGMA busy_timeout = 60000;"
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = FULL;"
    "PRAGMA cache_size = -16384;"
    "PRAGMA foreign_keys = ON;";
constexpr const char* kFastPragmas =
    "PRAGMA busy_timeout = 60000;"
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = OFF;"
    "PRAGMA foreign_keys = ON;";

}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(
    const std::filesystem::path& path, bool create, bool durable) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                    (create ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = raw ? sqlite3_errmsg(raw) : "cannot open";
    sqlite3_close(raw);
    return std::unexpected(SqliteError(rc, path.string(), detail));
  }
  sqlite3_extended_result_codes(raw, 1);
  std::unique_ptr<SqliteConnection> db(new SqliteConnection(raw));
  REGFS_TRY(db->Exec(durable ? kDurablePragmas : kFastPragmas));
  return db;
}

SqliteConnection::~SqliteConnection() {
  cache_.clear();
  sqlite3_close(db_);
}

Error SqliteConnection::ErrorFrom(int rc, std::string_view what) const {
  return SqliteError(rc, what, sqlite3_errmsg(db_));
}

Status SqliteConnection::Exec(std::string_view sql) {
  std::string copy(sql);
  const int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(ErrorFrom(rc, "sqlite exec"));
  return {};
}

Status SqliteConnection::ExecOne(const char* sql) {
  REGFS_ASSIGN_OR_RETURN(ScopedStatement s, Cached(sql));
  return s->Run();
}

Result<ScopedStatement> SqliteConnection::Cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) {
      return std::unexpected(ErrorFrom(rc, "sqlite prepare"));
    }
    it = cache_.emplace(sql, std::make_unique<SqliteStatement>(stmt)).first;
  }
  return ScopedStatement(*it->second);
}

Result<std::unique_ptr<Statement>> SqliteConnection::Prepare(
    std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(
      db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(ErrorFrom(rc, "sqlite prepare"));
  return std::unique_ptr<Statement>(std::make_unique<SqliteStatement>(stmt));
}

int64_t SqliteConnection::Changes() const { return sqlite3_changes64(db_); }

bool SqliteConnection::InTransaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

Status SqliteConnection::BeginWrite() {
  EndSavepoints();
  return ExecOne("BEGIN IMMEDIATE");
}

Status SqliteConnection::Commit() { return ExecOne("COMMIT"); }

void SqliteConnection::Rollback() {
  EndSavepoints();
  (void)Exec("ROLLBACK");
}

}  // namespace regfs::registry::sql
