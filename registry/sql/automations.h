// The automations, their deliveries' log and the deliverers' lease
// (schema version 5). The same text on both engines.
#ifndef REGFS_REGISTRY_SQL_AUTOMATIONS_H_
#define REGFS_REGISTRY_SQL_AUTOMATIONS_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "registry/automations.h"
#include "registry/error.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

[[nodiscard]] Status InsertAutomation(Connection& db, const Automation& a);
[[nodiscard]] Result<std::optional<Automation>> FindAutomation(
    Connection& db, std::string_view name);
// By name.
[[nodiscard]] Result<std::vector<Automation>> ListAutomations(Connection& db);
// Removes the automation and its log.
[[nodiscard]] Status DeleteAutomation(Connection& db, std::string_view name);
// Moves the position forward to `seq` (never back).
[[nodiscard]] Status AdvanceAutomation(Connection& db, std::string_view name,
                                       uint64_t seq);

[[nodiscard]] Status InsertDelivery(Connection& db, const DeliveryRecord& r);
// Newest last; `automation` empty: every automation's. At most `limit`.
[[nodiscard]] Result<std::vector<DeliveryRecord>> ListDeliveries(
    Connection& db, std::string_view automation, uint64_t limit);
// The attempts made at `seq` so far, oldest first.
[[nodiscard]] Result<std::vector<DeliveryRecord>> DeliveriesOf(
    Connection& db, std::string_view automation, uint64_t seq);

// Takes lease `name` for `holder` until `expires` if it is free, expired
// or already `holder`'s; returns who holds it afterwards. Inside a write
// transaction.
[[nodiscard]] Result<std::string> TakeLease(Connection& db,
                                            std::string_view name,
                                            std::string_view holder,
                                            TimeMs now, TimeMs expires);
// Who holds lease `name` at `now` (empty: nobody, or it expired).
[[nodiscard]] Result<std::string> LeaseHolder(Connection& db,
                                              std::string_view name,
                                              TimeMs now);
[[nodiscard]] Status ReleaseLease(Connection& db, std::string_view name,
                                  std::string_view holder);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_AUTOMATIONS_H_
