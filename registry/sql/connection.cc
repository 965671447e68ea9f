#include "registry/sql/connection.h"

namespace regfs::registry::sql {

Status Statement::Run() {
  return ForEachRow(*this, [](Statement&) {});
}

Result<int64_t> FirstInt64(Statement& s) {
  auto value = OptionalRow(s, [](Statement& r) { return r.ColumnInt64(0); });
  REGFS_TRY(value);
  return value->value_or(0);
}

Result<int64_t> ReturnedId(Statement& s, std::string_view missing) {
  auto id = OptionalRow(s, [](Statement& r) { return r.ColumnInt64(0); });
  REGFS_TRY(id);
  if (!*id) return Fail(Code::kIoError, std::string(missing));
  return **id;
}

Result<bool> HasRow(Statement& s) { return s.Step(); }

Status Connection::Savepoint() {
  REGFS_TRY(ExecOne("SAVEPOINT regfs_nested"));
  ++savepoints_;
  return {};
}

Status Connection::ReleaseSavepoint() {
  REGFS_TRY(ExecOne("RELEASE SAVEPOINT regfs_nested"));
  --savepoints_;
  return {};
}

Status Connection::RollbackToSavepoint() {
  REGFS_TRY(Exec(
      "ROLLBACK TO SAVEPOINT regfs_nested; RELEASE SAVEPOINT regfs_nested"));
  --savepoints_;
  return {};
}

Result<Transaction> Transaction::Begin(Connection& db) {
  REGFS_TRY(db.BeginWrite());
  return Transaction(&db, /*nested=*/false);
}

Result<Transaction> Transaction::Nested(Connection& db) {
  if (!db.InTransaction()) {
    return Fail(Code::kIoError, "savepoint: no transaction is open");
  }
  REGFS_TRY(db.Savepoint());
  return Transaction(&db, /*nested=*/true);
}

Transaction::~Transaction() {
  if (db_ == nullptr) return;
  if (!nested_) {
    db_->Rollback();
  } else if (db_->InTransaction() && !db_->RollbackToSavepoint()) {
    // Half of this change might otherwise commit with the others.
    db_->Rollback();
  }
}

Status Transaction::Commit() {
  auto s = nested_ ? db_->ReleaseSavepoint() : db_->Commit();
  if (s) db_ = nullptr;
  return s;
}

}  // namespace regfs::registry::sql
