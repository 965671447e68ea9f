// The history table: the append-only log of events. Appending an event,
// its newest seq, and reading events back (each row mapped by
// EventFromRow, rows.h).
#ifndef REGFS_REGISTRY_SQL_HISTORY_H_
#define REGFS_REGISTRY_SQL_HISTORY_H_

#include <cstdint>
#include <vector>

#include "registry/error.h"
#include "registry/history.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

// Appends `event` (its seq ignored) and returns the seq it got. Its
// detail is stored as StoredDetail(event) renders it.
[[nodiscard]] Result<uint64_t> AppendEvent(Connection& db, const Event& event);
// The newest event's seq (0 for none).
[[nodiscard]] Result<uint64_t> LastSeq(Connection& db);
// Every row of `s`, a "SELECT {kEventColumns} FROM history ..." statement.
[[nodiscard]] Result<std::vector<Event>> ReadEvents(Statement& s);
// The events `filter` selects, oldest first.
[[nodiscard]] Result<std::vector<Event>> QueryHistory(
    Connection& db, const HistoryFilter& filter);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_HISTORY_H_
