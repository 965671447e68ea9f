#include "registry/sql/postgres.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace regfs::registry::sql {

void PgConnCloser::operator()(pg_conn* conn) const { PQfinish(conn); }
void PgResultClearer::operator()(pg_result* result) const { PQclear(result); }

namespace {

constexpr Oid kBoolOid = 16;

// libpq's messages end in a newline and may go on for lines (a DETAIL, a
// HINT): a log line or an errno's message wants the first.
std::string_view FirstLine(const char* message) {
  std::string_view text = message ? message : "";
  text = text.substr(0, text.find('\n'));
  return text.empty() ? "closed" : text;
}

// Maps a server error to an Error as SqliteError maps SQLite's codes:
// data or index corruption (SQLSTATE XX001, XX002) is Corruption; every
// other failure, a constraint violation included, is an IoError that
// carries the server's message and its SQLSTATE.
Error PostgresError(std::string_view what, const char* sqlstate,
                    std::string_view message) {
  const std::string_view state = sqlstate ? sqlstate : "";
  const Code code = (state == "XX001" || state == "XX002") ? Code::kCorruption
                                                           : Code::kIoError;
  std::string_view text = message;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (state.empty()) return Error{code, fmt::format("{}: {}", what, text)};
  return Error{code, fmt::format("{}: {} (SQLSTATE {})", what, text, state)};
}

// Whether `s` is UTF-8 that PostgreSQL's text takes: well-formed (no
// overlong form, surrogate or code point past U+10FFFF) and without NUL.
bool IsServerText(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b == 0) return false;
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if ((b & 0xE0) == 0xC0) {
      n = 1;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // cut short
    for (size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// The parameters of a statement, as text; nullopt is SQL NULL.
class Params {
 public:
  void Set(int index, std::optional<std::string> value) {
    if (index < 1) return;
    if (values_.size() < static_cast<size_t>(index)) values_.resize(index);
    values_[index - 1] = std::move(value);
  }
  void Clear() { values_.clear(); }
  // Whether every value is text the server takes (IsServerText).
  bool AllServerText() const {
    return std::all_of(values_.begin(), values_.end(), [](const auto& v) {
      return !v || IsServerText(*v);
    });
  }
  // Pointers valid while this object is unchanged.
  std::vector<const char*> Pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
    return out;
  }

 private:
  std::vector<std::optional<std::string>> values_;
};

// A statement of a PostgresConnection: prepared on the server under
// `name_` (a cached statement), or sent with its text each time (a
// one-off, Prepare). The first Step runs it and fetches its rows.
class PostgresStatement final : public Statement {
 public:
  // `params`: the statement's highest placeholder number.
  PostgresStatement(PostgresConnection& db, std::string name, std::string sql,
                    int params)
      : db_(db), name_(std::move(name)), sql_(std::move(sql)),
        params_count_(params) {}

  Statement& BindInt64(int index, int64_t value) override {
    params_.Set(index, std::to_string(value));
    return *this;
  }
  Statement& BindText(int index, std::string_view value) override {
    params_.Set(index, std::string(value));
    return *this;
  }
  Statement& BindNull(int index) override {
    params_.Set(index, std::nullopt);
    return *this;
  }

  // Prepares the statement on the server under its name.
  Status Prepare() {
    REGFS_ASSIGN_OR_RETURN(PgResultPtr prepared,
                           db_.Run("postgres prepare", [&](pg_conn* c) {
                             return PQsendPrepare(c, name_.c_str(),
                                                  sql_.c_str(), 0, nullptr);
                           }));
    REGFS_TRY(db_.Check(prepared.get(), "postgres prepare"));
    prepared_ = db_.generation();
    return {};
  }

  Result<bool> Step() override {
    if (!result_) {
      REGFS_TRY(Execute());
    } else {
      ++row_;
    }
    return row_ < PQntuples(result_.get());
  }

  int64_t ColumnInt64(int index) const override {
    if (ColumnIsNull(index)) return 0;
    const char* text = PQgetvalue(result_.get(), row_, index);
    if (PQftype(result_.get(), index) == kBoolOid) return text[0] == 't';
    int64_t value = 0;
    std::from_chars(text, text + PQgetlength(result_.get(), row_, index),
                    value);
    return value;
  }
  std::string ColumnText(int index) const override {
    if (ColumnIsNull(index)) return {};
    return std::string(PQgetvalue(result_.get(), row_, index),
                       static_cast<size_t>(
                           PQgetlength(result_.get(), row_, index)));
  }
  bool ColumnIsNull(int index) const override {
    return PQgetisnull(result_.get(), row_, index) != 0;
  }

  void Reset() override {
    result_.reset();
    row_ = 0;
    params_.Clear();
  }

 private:
  Status Execute() {
    // A parameter left unbound is NULL, as in SQLite.
    std::vector<const char*> values = params_.Pointers();
    if (values.size() < static_cast<size_t>(params_count_)) {
      values.resize(static_cast<size_t>(params_count_), nullptr);
    }
    const int n = static_cast<int>(values.size());
    // The server would refuse it with an error that names no name, after
    // a round trip, and would abort the transaction: say what it is here.
    // Through a mount, a lookup of such a name is then ENOENT and a change
    // EINVAL, as for any name that cannot be.
    if (!params_.AllServerText()) {
      return Fail(Code::kInvalidArgument,
                  "a shared store keeps names and values as UTF-8 text "
                  "(PostgreSQL), and this one is not valid UTF-8");
    }
    // A new connection has forgotten the prepared statement.
    REGFS_TRY(db_.Usable("postgres"));
    if (!name_.empty() && prepared_ != db_.generation()) REGFS_TRY(Prepare());
    REGFS_ASSIGN_OR_RETURN(
        PgResultPtr result, db_.Run("postgres", [&](pg_conn* c) {
          return name_.empty()
                     ? PQsendQueryParams(c, sql_.c_str(), n, nullptr,
                                         values.data(), nullptr, nullptr, 0)
                     : PQsendQueryPrepared(c, name_.c_str(), n, values.data(),
                                           nullptr, nullptr, 0);
        }));
    REGFS_TRY(db_.Check(result.get(), "postgres"));
    db_.SetChanges(result.get());
    result_ = std::move(result);
    row_ = 0;
    return {};
  }

  PostgresConnection& db_;
  const std::string name_;  // empty for a one-off statement
  const std::string sql_;
  const int params_count_;
  uint64_t prepared_ = 0;  // the connection generation it is prepared on
  Params params_;
  PgResultPtr result_;
  int row_ = 0;
};

// The value of a key=value conninfo starting at `i` (after '=' and
// spaces): its end, past a closing quote.
size_t ValueEnd(std::string_view s, size_t i) {
  if (i < s.size() && s[i] == '\'') {
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;
      } else if (s[i] == '\'') {
        return i + 1;
      }
    }
    return s.size();
  }
  while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

// Each password in `conninfo`, as [begin, end) offsets.
std::vector<std::pair<size_t, size_t>> PasswordSpans(std::string_view s) {
  std::vector<std::pair<size_t, size_t>> spans;
  const bool url =
      s.starts_with("postgresql://") || s.starts_with("postgres://");
  if (url) {
    const size_t start = s.find("://") + 3;
    const size_t end_of_authority = s.find_first_of("/?", start);
    const std::string_view authority =
        s.substr(start, end_of_authority == std::string_view::npos
                            ? std::string_view::npos
                            : end_of_authority - start);
    const size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      const size_t colon = authority.substr(0, at).find(':');
      if (colon != std::string_view::npos) {
        spans.emplace_back(start + colon + 1, start + at);
      }
    }
    for (size_t i = s.find("password=", start); i != std::string_view::npos;
         i = s.find("password=", i + 1)) {
      if (s[i - 1] != '?' && s[i - 1] != '&') continue;
      const size_t v = i + 9;
      spans.emplace_back(v, std::min(s.find('&', v), s.size()));
    }
    return spans;
  }
  for (size_t i = s.find("password"); i != std::string_view::npos;
       i = s.find("password", i + 1)) {
    if (i > 0 && !std::isspace(static_cast<unsigned char>(s[i - 1]))) continue;
    size_t j = i + 8;
    while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j >= s.size() || s[j] != '=') continue;
    ++j;
    while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    spans.emplace_back(j, ValueEnd(s, j));
  }
  return spans;
}

// `text` with every occurrence of each secret replaced by "***".
std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (size_t i = text.find(secret); i != std::string::npos;
         i = text.find(secret, i + 3)) {
      text.replace(i, secret.size(), "***");
    }
  }
  return text;
}

}  // namespace

namespace {

// RewritePlaceholders, and the highest placeholder number in `sql`.
std::string Rewrite(std::string_view sql, int* highest) {
  std::string out;
  out.reserve(sql.size());
  *highest = 0;
  char quote = 0;  // the quote we are inside of: ' or ", or 0
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      out += c;
      if (c == quote) quote = 0;  // a doubled quote reopens at once
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?' && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out += '$';
      int n = 0;
      std::from_chars(sql.data() + i + 1, sql.data() + sql.size(), n);
      *highest = std::max(*highest, n);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string RewritePlaceholders(std::string_view sql) {
  int highest = 0;
  return Rewrite(sql, &highest);
}

std::string RedactConninfo(std::string_view conninfo) {
  std::string out(conninfo);
  auto spans = PasswordSpans(conninfo);
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    out.replace(it->first, it->second - it->first, "***");
  }
  return out;
}

bool HasPassword(std::string_view conninfo) {
  return !PasswordSpans(conninfo).empty();
}

Result<std::unique_ptr<PostgresConnection>> PostgresConnection::Open(
    std::string_view conninfo, ConnectExtra extra) {
  std::vector<std::string> secrets;
  for (auto [begin, end] : PasswordSpans(conninfo)) {
    secrets.emplace_back(conninfo.substr(begin, end - begin));
  }
  const std::string info(conninfo);
  // dbname is expanded as a whole conninfo (expand_dbname); a keyword
  // after it overrides what the conninfo says.
  const char* keywords[4] = {"dbname"};
  const char* values[4] = {info.c_str()};
  int n = 1;
  // A server that cannot be reached is given as long to connect as to
  // answer a statement, unless the caller says otherwise.
  const std::string connect_timeout = std::to_string(std::max<int64_t>(
      2, std::chrono::ceil<std::chrono::seconds>(extra.reply_timeout).count()));
  for (auto [key, value] :
       {std::pair{"application_name", extra.application_name},
        std::pair{"connect_timeout", extra.connect_timeout
                                         ? extra.connect_timeout
                                         : connect_timeout.c_str()}}) {
    if (value == nullptr) continue;
    keywords[n] = key;
    values[n++] = value;
  }
  PgConnPtr conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (!conn) return Fail(Code::kIoError, "postgres: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Fail(Code::kIoError,
                Scrub(fmt::format("postgres: cannot connect to \"{}\": {}",
                                  RedactConninfo(conninfo),
                                  PQerrorMessage(conn.get())),
                      secrets));
  }
  // Errors come back as values; notices and warnings (e.g. ROLLBACK with
  // no transaction open) are not printed on stderr.
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  // Sending never blocks either: AwaitReply bounds the whole exchange.
  if (PQsetnonblocking(conn.get(), 1) != 0) {
    return Fail(Code::kIoError, "postgres: cannot make the connection "
                                "non-blocking");
  }
  return std::unique_ptr<PostgresConnection>(
      new PostgresConnection(std::move(conn), extra.reply_timeout));
}

PostgresConnection::~PostgresConnection() { cache_.clear(); }

Status PostgresConnection::Check(pg_result* result, std::string_view what) {
  if (PQstatus(conn_.get()) == CONNECTION_BAD) {
    return Fail(Code::kIoError,
                fmt::format("{}: connection to the database lost: {}", what,
                            PQerrorMessage(conn_.get())));
  }
  if (result == nullptr) {
    return std::unexpected(
        PostgresError(what, nullptr, PQerrorMessage(conn_.get())));
  }
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return {};
  return std::unexpected(
      PostgresError(what, PQresultErrorField(result, PG_DIAG_SQLSTATE),
                    PQresultErrorMessage(result)));
}

void PostgresConnection::SetChanges(pg_result* result) {
  // As SQLite's changes(): only a row-changing command sets it.
  const std::string_view status = PQcmdStatus(result);
  if (status.starts_with("INSERT") || status.starts_with("UPDATE") ||
      status.starts_with("DELETE")) {
    const char* n = PQcmdTuples(result);
    changes_ = 0;
    std::from_chars(n, n + std::char_traits<char>::length(n), changes_);
  }
}

Status PostgresConnection::Exec(std::string_view sql) {
  const std::string text(sql);
  REGFS_ASSIGN_OR_RETURN(PgResultPtr result,
                         Run("postgres exec", [&](pg_conn* c) {
                           return PQsendQuery(c, text.c_str());
                         }));
  return Check(result.get(), "postgres exec");
}

Status PostgresConnection::Usable(std::string_view what) {
  if (PQstatus(conn_.get()) == CONNECTION_OK) return {};
  if (in_transaction_) {
    return Fail(Code::kIoError,
                fmt::format("{}: the connection to the database was lost "
                            "during the transaction, which was not committed",
                            what));
  }
  // While the database stays away, calls fail at once between attempts
  // (each costs up to connect_timeout, with the registry's lock held),
  // and the attempts back off: 0.5 s, 1 s, then 2 s apart, so that a
  // database that is back is found within 2 s.
  const auto now = std::chrono::steady_clock::now();
  if (now < retry_after_) {
    return Fail(Code::kIoError,
                fmt::format("{}: cannot reach the database ({}); next "
                            "attempt in {} ms",
                            what, unreachable_,
                            std::chrono::ceil<std::chrono::milliseconds>(
                                retry_after_ - now)
                                .count()));
  }
  // Bounded by the connection's connect_timeout.
  PQreset(conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    unreachable_ = FirstLine(PQerrorMessage(conn_.get()));
    retry_backoff_ = std::min(std::chrono::milliseconds(2'000),
                              retry_backoff_ == std::chrono::milliseconds(0)
                                  ? std::chrono::milliseconds(500)
                                  : retry_backoff_ * 2);
    retry_after_ = std::chrono::steady_clock::now() + retry_backoff_;
    return Fail(Code::kIoError,
                fmt::format("{}: cannot reach the database: {}", what,
                            unreachable_));
  }
  retry_backoff_ = std::chrono::milliseconds(0);
  ++generation_;
  if (PQsetnonblocking(conn_.get(), 1) != 0) {
    return Fail(Code::kIoError,
                fmt::format("{}: cannot make the connection non-blocking",
                            what));
  }
  return {};
}

Result<PgResultPtr> PostgresConnection::Run(
    std::string_view what, const std::function<int(pg_conn*)>& send) {
  REGFS_TRY(Usable(what));
  if (send(conn_.get()) != 1) {
    return Fail(Code::kIoError,
                fmt::format("{}: cannot send to the database: {}", what,
                            FirstLine(PQerrorMessage(conn_.get()))));
  }
  return AwaitReply(what);
}

Result<PgResultPtr> PostgresConnection::AwaitReply(std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + reply_timeout_;
  PgResultPtr kept;
  for (;;) {
    // Until a whole result is in: send what is queued, read what came.
    for (;;) {
      const int unsent = PQflush(conn_.get());
      if (unsent < 0) break;  // lost: PQgetResult says why
      if (unsent == 0 && PQisBusy(conn_.get()) == 0) break;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{PQsocket(conn_.get()),
               static_cast<short>(POLLIN | (unsent ? POLLOUT : 0)), 0};
      const int ready =
          left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) return std::unexpected(Abandon(what));
      if (PQconsumeInput(conn_.get()) != 1) break;
    }
    PgResultPtr result(PQgetResult(conn_.get()));
    if (!result) break;
    // As PQexec: the last result, unless an earlier one is an error.
    if (!kept || PQresultStatus(kept.get()) != PGRES_FATAL_ERROR) {
      kept = std::move(result);
    }
    if (PQstatus(conn_.get()) == CONNECTION_BAD) break;
  }
  // The transaction state as the server last said it: kept when the
  // connection is lost, so that no statement of a lost transaction runs
  // on a new connection, outside it.
  if (PQstatus(conn_.get()) == CONNECTION_OK) {
    const PGTransactionStatusType state = PQtransactionStatus(conn_.get());
    in_transaction_ = state == PQTRANS_INTRANS || state == PQTRANS_INERROR;
  }
  return kept;
}

Error PostgresConnection::Abandon(std::string_view what) {
  // PQresetStart closes the socket now and starts connecting again
  // without waiting; Usable finishes that before the next statement.
  (void)PQresetStart(conn_.get());
  return Error{
      Code::kIoError,
      fmt::format("{}: no reply from the database in {} ms (server frozen "
                  "or unreachable); {}",
                  what, reply_timeout_.count(),
                  in_transaction_
                      ? "the transaction is abandoned (if this was its "
                        "COMMIT, it may have been committed: see the history)"
                      : "gave up")};
}

Result<ScopedStatement> PostgresConnection::Cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    std::string name = fmt::format("regfs_{}", ++next_statement_);
    int params = 0;
    const std::string text = Rewrite(sql, &params);
    auto statement = std::make_unique<PostgresStatement>(*this, std::move(name),
                                                         text, params);
    REGFS_TRY(statement->Prepare());
    it = cache_.emplace(sql, std::move(statement)).first;
  }
  return ScopedStatement(*it->second);
}

Result<std::unique_ptr<Statement>> PostgresConnection::Prepare(
    std::string_view sql) {
  int params = 0;
  std::string text = Rewrite(sql, &params);
  return std::unique_ptr<Statement>(std::make_unique<PostgresStatement>(
      *this, std::string(), std::move(text), params));
}

bool PostgresConnection::InTransaction() const { return in_transaction_; }

Status PostgresConnection::BeginWrite() {
  // As BEGIN IMMEDIATE: the lock is taken before the transaction reads
  // anything, and held until it ends.
  REGFS_TRY(Exec("BEGIN"));
  EndSavepoints();
  if (auto s = Exec(fmt::format("SELECT pg_advisory_xact_lock({})",
                                kWriteLockKey));
      !s) {
    Rollback();
    return s;
  }
  return {};
}

Status PostgresConnection::Commit() {
  // PostgreSQL only warns of a COMMIT outside a transaction; SQLite fails.
  if (!InTransaction()) {
    return Fail(Code::kIoError, "postgres: commit: no transaction is open");
  }
  // Not on a new connection: COMMIT with no transaction only warns.
  REGFS_TRY(Usable("postgres commit"));
  const bool aborted = PQtransactionStatus(conn_.get()) == PQTRANS_INERROR;
  REGFS_TRY(Exec("COMMIT"));
  // PostgreSQL answers COMMIT of a failed transaction with a rollback.
  if (aborted) {
    return Fail(Code::kIoError,
                "postgres: the transaction failed and was rolled back");
  }
  return {};
}

void PostgresConnection::Rollback() {
  // A lost connection has nothing to roll back: the server did.
  const bool lost = PQstatus(conn_.get()) != CONNECTION_OK;
  if (!lost) (void)Exec("ROLLBACK");
  // A nested transaction that could not roll back to its savepoint rolls
  // back the whole; its outer transaction is still running in the caller,
  // whose later statements must fail, not run on a new connection outside
  // any transaction: the transaction stays open (lost) until the outer
  // one's own Rollback.
  const bool nested = savepoints() > 0;
  EndSavepoints();
  if (lost && nested) return;
  in_transaction_ = false;
}

}  // namespace regfs::registry::sql
