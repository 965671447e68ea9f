// The PostgreSQL engine of the SQL layer (connection.h), over libpq: a
// shared store's metadata. Internal to registry/sql/.
//
// Statements are the shared text of registry/sql/ (`?N` placeholders,
// rewritten to PostgreSQL's `$N`); cached ones are prepared on the server
// once per connection (PQprepare) and run with PQexecPrepared, every
// parameter sent as text. A statement's rows are fetched whole when it is
// first stepped. A column of type boolean reads as 1 or 0 (as SQLite's
// EXISTS does).
//
// Unlike SQLite, a failed statement inside a transaction aborts that
// transaction: only a rollback (or a rollback to the savepoint) ends it.
//
// Not thread-safe: one thread at a time per connection (connection.h).
#ifndef REGFS_REGISTRY_SQL_POSTGRES_H_
#define REGFS_REGISTRY_SQL_POSTGRES_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "registry/error.h"
#include "registry/sql/connection.h"

struct pg_conn;
struct pg_result;

namespace regfs::registry::sql {

// Owns a PGconn; PQfinish on destruction.
struct PgConnCloser {
  void operator()(pg_conn* conn) const;
};
using PgConnPtr = std::unique_ptr<pg_conn, PgConnCloser>;

// Owns a PGresult; PQclear on destruction.
struct PgResultClearer {
  void operator()(pg_result* result) const;
};
using PgResultPtr = std::unique_ptr<pg_result, PgResultClearer>;

// The default bound on a statement's wait for the server (ConnectExtra).
inline constexpr std::chrono::milliseconds kDefaultReplyTimeout{15'000};

// What a connection may add to (and override in) the conninfo.
struct ConnectExtra {
  // Names the connection in pg_stat_activity.
  const char* application_name = nullptr;
  // libpq's connect_timeout, in seconds: a frozen server accepts the
  // connection and never answers its startup.
  const char* connect_timeout = nullptr;
  // How long one statement may wait for the server's reply before it fails
  // (and the connection is dropped): a frozen or unreachable server sends
  // no error, and a shell must not hang on it.
  std::chrono::milliseconds reply_timeout{kDefaultReplyTimeout};
};

class PostgresConnection final : public Connection {
 public:
  // Connects with `conninfo`, a libpq URL (postgresql://...) or key=value
  // string; libpq's environment (PGHOST, PGPASSFILE, PGSSLMODE, ...)
  // applies. An error's message shows the conninfo without its password.
  // `extra` adds to (and overrides) the conninfo.
  static Result<std::unique_ptr<PostgresConnection>> Open(
      std::string_view conninfo, ConnectExtra extra = {});
  ~PostgresConnection() override;

  Engine engine() const override { return Engine::kPostgres; }
  Status Exec(std::string_view sql) override;
  Result<ScopedStatement> Cached(const char* sql) override;
  Result<std::unique_ptr<Statement>> Prepare(std::string_view sql) override;
  int64_t Changes() const override { return changes_; }
  // Whether a transaction is open, as the server last said; also when the
  // connection was lost since (its statements then fail, never run on a
  // new connection, until the caller calls Rollback).
  bool InTransaction() const override;
  Status BeginWrite() override;
  Status Commit() override;
  void Rollback() override;

  // For this engine's statements: the error of `result` (null when libpq
  // could not even make one), or nothing when it succeeded.
  Status Check(pg_result* result, std::string_view what);
  // Runs one statement: `send` queues it (PQsendQuery and friends), then
  // the reply is awaited for at most the reply timeout. Outside a
  // transaction, a lost connection is first made again (PQreset), and the
  // server forgets prepared statements then: `generation()` changes.
  Result<PgResultPtr> Run(std::string_view what,
                          const std::function<int(pg_conn*)>& send);
  // Makes the connection again if it was lost, unless a transaction was
  // open on it.
  Status Usable(std::string_view what);
  // Counts the connections made: a statement prepared under an older one
  // must be prepared again.
  uint64_t generation() const { return generation_; }
  void SetChanges(pg_result* result);
  pg_conn* raw() { return conn_.get(); }

 private:
  PostgresConnection(PgConnPtr conn, std::chrono::milliseconds reply_timeout)
      : conn_(std::move(conn)), reply_timeout_(reply_timeout) {}

  // Waits for the whole reply of the statement sent; the last result (the
  // first error, if one failed).
  Result<PgResultPtr> AwaitReply(std::string_view what);
  // Gives up on a server that did not answer in time: the socket is
  // closed at once (the server then rolls back whatever was open), and
  // the next statement connects again.
  Error Abandon(std::string_view what);

  PgConnPtr conn_;
  const std::chrono::milliseconds reply_timeout_;
  uint64_t generation_ = 1;
  bool in_transaction_ = false;
  // After a failed reconnection: no new attempt before retry_after_.
  std::chrono::steady_clock::time_point retry_after_;
  std::chrono::milliseconds retry_backoff_{0};
  std::string unreachable_;  // why the last attempt failed
  std::map<const char*, std::unique_ptr<Statement>> cache_;
  uint64_t next_statement_ = 0;
  int64_t changes_ = 0;
};

// `sql` with each `?N` placeholder outside quoted literals and quoted
// identifiers rewritten to `$N`; a `?` not followed by a digit is kept.
std::string RewritePlaceholders(std::string_view sql);

// `conninfo` with any password replaced by "***" (in a URL's user info, a
// URL's password= parameter, or a key=value string's password=).
std::string RedactConninfo(std::string_view conninfo);

// Whether `conninfo` carries a password (anywhere RedactConninfo hides one).
bool HasPassword(std::string_view conninfo);

// The key of the advisory lock that BeginWrite takes: one per database, so
// that writers of a store exclude each other from their transaction's
// start.
inline constexpr int64_t kWriteLockKey = 0x7265676673;  // "regfs"

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_POSTGRES_H_
