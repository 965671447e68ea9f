// A shared store's change notifications, over PostgreSQL's LISTEN/NOTIFY.
//
// Every transaction that appends a history row notifies the channel
// kHistoryChannel with the row's seq (AppendEvent); PostgreSQL delivers
// notifications only when, and if, that transaction commits, in commit
// order. A daemon listens on a connection of its own, direct to the server
// (a transaction-mode pooler such as PgBouncer's does not carry LISTEN).
//
// Notifications sent while a listener is disconnected are lost: after
// every (re)connection, and at every heartbeat, the listener asks for the
// history's last seq (AskLastSeq), and the caller catches up to it. The
// heartbeat is also what notices a frozen server, which sends no error.
//
// Internal to registry/; not thread-safe (one thread uses it).
#ifndef REGFS_REGISTRY_SQL_NOTIFICATIONS_H_
#define REGFS_REGISTRY_SQL_NOTIFICATIONS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "registry/error.h"
#include "registry/sql/postgres.h"

namespace regfs::registry::sql {

inline constexpr std::string_view kHistoryChannel = "regfs_history";

class HistoryNotifications final {
 public:
  // Connects with `conninfo` (as PostgresConnection::Open, under the
  // application name "regfs listener", which pg_stat_activity shows, and
  // giving up after 5 s) and listens on kHistoryChannel. The connection is
  // non-blocking.
  static Result<std::unique_ptr<HistoryNotifications>> Listen(
      std::string_view conninfo);

  // The connection's socket: readable when something arrived.
  int socket() const;
  // Sends the query for the history's last seq, without waiting: its
  // answer comes back through Read. At most one at a time.
  Status AskLastSeq();

  struct Received {
    std::optional<uint64_t> notified;  // the highest seq notified
    std::optional<uint64_t> last_seq;  // AskLastSeq's answer, once it came
  };
  // What the socket holds, without blocking. An error: the connection is
  // lost (its message says why); make a new one.
  Result<Received> Read();

 private:
  explicit HistoryNotifications(std::unique_ptr<PostgresConnection> conn)
      : conn_(std::move(conn)) {}
  std::unique_ptr<PostgresConnection> conn_;
};

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_NOTIFICATIONS_H_
