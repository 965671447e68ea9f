#include "registry/sql/connection.h"

namespace regfs::registry::sql {

Status Statement::Run() {
  return ForEachRow(*this, [](Statement&) {});
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
