#include "registry/sql/notifications.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>

namespace regfs::registry::sql {
namespace {

std::optional<uint64_t> ParseSeq(const char* text) {
  if (text == nullptr) return std::nullopt;
  const std::string_view s(text);
  uint64_t seq = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seq);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return seq;
}

Error Lost(pg_conn* conn, std::string_view what) {
  // libpq's messages span lines ("server closed the connection
  // unexpectedly\n\tThis probably means..."): one log line.
  std::string message;
  for (const char* p = PQerrorMessage(conn); *p != '\0'; ++p) {
    const bool space = *p == '\n' || *p == '\t';
    if (space && (message.empty() || message.back() == ' ')) continue;
    message.push_back(space ? ' ' : *p);
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return Error{Code::kIoError,
               fmt::format("the listening connection {}: {}", what,
                           message.empty() ? "closed" : message)};
}

}  // namespace

Result<std::unique_ptr<HistoryNotifications>> HistoryNotifications::Listen(
    std::string_view conninfo) {
  REGFS_ASSIGN_OR_RETURN(
      auto conn, PostgresConnection::Open(
                     conninfo, {.application_name = "regfs listener",
                                .connect_timeout = "5"}));
  REGFS_TRY(conn->Exec(fmt::format("LISTEN {}", kHistoryChannel)));
  if (PQsetnonblocking(conn->raw(), 1) != 0) {
    return std::unexpected(Lost(conn->raw(), "cannot be made non-blocking"));
  }
  return std::unique_ptr<HistoryNotifications>(
      new HistoryNotifications(std::move(conn)));
}

int HistoryNotifications::socket() const { return PQsocket(conn_->raw()); }

Status HistoryNotifications::AskLastSeq() {
  pg_conn* conn = conn_->raw();
  if (PQsendQuery(conn, "SELECT coalesce(max(seq), 0) FROM history") != 1 ||
      PQflush(conn) < 0) {
    return std::unexpected(Lost(conn, "failed to send the heartbeat"));
  }
  return {};
}

Result<HistoryNotifications::Received> HistoryNotifications::Read() {
  pg_conn* conn = conn_->raw();
  if (PQconsumeInput(conn) != 1 || PQstatus(conn) == CONNECTION_BAD) {
    return std::unexpected(Lost(conn, "is lost"));
  }
  // A small query may not have gone out whole in a non-blocking send.
  if (PQflush(conn) < 0) return std::unexpected(Lost(conn, "is lost"));
  Received out;
  while (PQisBusy(conn) == 0) {
    PgResultPtr result(PQgetResult(conn));
    if (!result) break;  // the query's results are all in (or none sent)
    if (PQresultStatus(result.get()) == PGRES_TUPLES_OK &&
        PQntuples(result.get()) == 1) {
      out.last_seq = ParseSeq(PQgetvalue(result.get(), 0, 0));
    } else if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return std::unexpected(Lost(conn, "got an error for the heartbeat"));
    }
  }
  while (PGnotify* n = PQnotifies(conn)) {
    const std::optional<uint64_t> seq = ParseSeq(n->extra);
    PQfreemem(n);
    if (seq) out.notified = std::max(out.notified.value_or(0), *seq);
  }
  return out;
}

}  // namespace regfs::registry::sql
