#include "registry/sqlite.h"

#include <fmt/format.h>
#include <sqlite3.h>

namespace regfs::registry::sqlite {

Error SqliteError(int rc, std::string_view what, std::string_view detail) {
  const int primary = rc & 0xff;
  const Code code = (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB)
                        ? Code::kCorruption
                        : Code::kIoError;
  return Error{code,
               fmt::format("{}: {} ({})", what, detail, sqlite3_errstr(rc))};
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::BindInt64(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::BindText(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Statement& Statement::BindOptionalInt64(int index,
                                        std::optional<int64_t> value) {
  return value ? BindInt64(index, *value) : BindNull(index);
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  return std::unexpected(
      SqliteError(rc, "sqlite", db ? sqlite3_errmsg(db) : sqlite3_sql(stmt_)));
}

Status Statement::Run() {
  for (;;) {
    auto more = Step();
    REGFS_TRY(more);
    if (!*more) return {};
  }
}

int64_t Statement::ColumnInt64(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string Statement::ColumnText(int index) const {
  const auto* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

std::optional<int64_t> Statement::ColumnOptionalInt64(int index) const {
  if (ColumnIsNull(index)) return std::nullopt;
  return ColumnInt64(index);
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Result<std::unique_ptr<Database>> Database::Open(
    const std::filesystem::path& path, bool create) {
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
  return std::unique_ptr<Database>(new Database(raw));
}

Database::~Database() {
  cache_.clear();
  sqlite3_close(db_);
}

Error Database::ErrorFrom(int rc, std::string_view what) const {
  return SqliteError(rc, what, sqlite3_errmsg(db_));
}

Status Database::Exec(std::string_view sql) {
  std::string copy(sql);
  const int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(ErrorFrom(rc, "sqlite exec"));
  return {};
}

Result<ScopedStatement> Database::Cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) {
      return std::unexpected(ErrorFrom(rc, "sqlite prepare"));
    }
    it = cache_.emplace(sql, Statement(stmt)).first;
  }
  return ScopedStatement(it->second);
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(
      db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(ErrorFrom(rc, "sqlite prepare"));
  return Statement(stmt);
}

int64_t Database::LastInsertRowId() const {
  return sqlite3_last_insert_rowid(db_);
}

int Database::Changes() const { return sqlite3_changes(db_); }

bool Database::InTransaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

Result<Transaction> Transaction::Begin(Database& db) {
  REGFS_TRY(db.Exec("BEGIN IMMEDIATE"));
  return Transaction(&db, /*nested=*/false);
}

Result<Transaction> Transaction::Nested(Database& db) {
  if (!db.InTransaction()) {
    return std::unexpected(
        SqliteError(SQLITE_MISUSE, "savepoint", "no transaction is open"));
  }
  REGFS_TRY(db.Exec("SAVEPOINT regfs_nested"));
  return Transaction(&db, /*nested=*/true);
}

Transaction::~Transaction() {
  if (db_ == nullptr) return;
  if (!nested_) {
    (void)db_->Exec("ROLLBACK");
  } else if (db_->InTransaction() &&
             !db_->Exec("ROLLBACK TO regfs_nested; RELEASE regfs_nested")) {
    // Half of this change might otherwise commit with the others.
    (void)db_->Exec("ROLLBACK");
  }
}

Status Transaction::Commit() {
  auto s = db_->Exec(nested_ ? "RELEASE regfs_nested" : "COMMIT");
  if (s) db_ = nullptr;
  return s;
}

Status BeginBatch(Database& db) { return db.Exec("BEGIN IMMEDIATE"); }

Status CommitBatch(Database& db) { return db.Exec("COMMIT"); }

void RollbackBatch(Database& db) { (void)db.Exec("ROLLBACK"); }

}  // namespace regfs::registry::sqlite
