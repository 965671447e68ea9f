#include "registry/sql/automations.h"

#include <string>

namespace regfs::registry::sql {
namespace {

constexpr const char* kAutomationColumns =
    "name, events, collection, alias, url, secret_file, format, exec, "
    "exec_uid, exec_gid, exec_user, position, created_ms, created_by";

Automation AutomationFromRow(Statement& r) {
  Automation a;
  AutomationTarget& t = a.spec.target;
  ReadColumn(r, 0, a.spec.name);
  // Stored as validated when added; a kind a newer regfs knows and this
  // one does not is left out rather than failing the whole list.
  auto events = ParseEventList(r.ColumnText(1));
  if (events) a.spec.events = std::move(*events);
  ReadColumns(r, 2, a.spec.collection, a.spec.alias, t.url, t.secret_file);
  t.format =
      ParseAutomationFormat(r.ColumnText(6)).value_or(AutomationFormat::kJson);
  ReadColumns(r, 7, t.exec, t.uid, t.gid, t.user, a.position, a.created_ms,
              a.created_by);
  return a;
}

DeliveryRecord DeliveryFromRow(Statement& r) {
  DeliveryRecord d;
  ReadColumns(r, 0, d.automation, d.seq, d.attempt, d.time);
  d.outcome = DeliveryOutcomeNamed(r.ColumnText(4));
  ReadColumns(r, 5, d.status, d.latency_ms, d.message);
  return d;
}

constexpr const char* kDeliveryColumns =
    "automation, seq, attempt, time_ms, outcome, status, latency_ms, message";

}  // namespace

Status InsertAutomation(Connection& db, const Automation& a) {
  const AutomationTarget& t = a.spec.target;
  return Execute(
      db,
      "INSERT INTO automations (name, events, collection, alias, url, "
      "secret_file, format, exec, exec_uid, exec_gid, exec_user, position, "
      "created_ms, created_by) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
      std::string_view(a.spec.name),
      std::string_view(JoinEventNames(a.spec.events)),
      std::string_view(a.spec.collection), std::string_view(a.spec.alias),
      std::string_view(t.url), std::string_view(t.secret_file),
      AutomationFormatName(t.format), std::string_view(t.exec),
      int64_t{t.uid}, int64_t{t.gid}, std::string_view(t.user),
      static_cast<int64_t>(a.position), int64_t{a.created_ms},
      std::string_view(a.created_by));
}

Result<std::optional<Automation>> FindAutomation(Connection& db,
                                                 std::string_view name) {
  static const std::string sql = std::string("SELECT ") + kAutomationColumns +
                                 " FROM automations WHERE name = ?1";
  return QueryOptional(db, sql.c_str(), AutomationFromRow, name);
}

Result<std::vector<Automation>> ListAutomations(Connection& db) {
  static const std::string sql = std::string("SELECT ") + kAutomationColumns +
                                 " FROM automations ORDER BY name";
  return QueryAll(db, sql.c_str(), AutomationFromRow);
}

Status DeleteAutomation(Connection& db, std::string_view name) {
  REGFS_TRY(
      Execute(db, "DELETE FROM deliveries WHERE automation = ?1", name));
  return Execute(db, "DELETE FROM automations WHERE name = ?1", name);
}

Status AdvanceAutomation(Connection& db, std::string_view name, uint64_t seq) {
  return Execute(db,
                 "UPDATE automations SET position = ?2 "
                 "WHERE name = ?1 AND position < ?2",
                 name, static_cast<int64_t>(seq));
}

Status InsertDelivery(Connection& db, const DeliveryRecord& r) {
  REGFS_STMT(s, db,
             "INSERT INTO deliveries (automation, seq, attempt, time_ms, "
             "outcome, status, latency_ms, message) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  s->BindText(1, r.automation)
      .BindInt64(2, static_cast<int64_t>(r.seq))
      .BindInt64(3, int64_t{r.attempt})
      .BindInt64(4, int64_t{r.time})
      .BindText(5, DeliveryOutcomeName(r.outcome))
      .BindOptionalInt64(6, r.status)
      .BindInt64(7, r.latency_ms)
      .BindText(8, r.message);
  return s->Run();
}

Result<std::vector<DeliveryRecord>> ListDeliveries(Connection& db,
                                                   std::string_view automation,
                                                   uint64_t limit) {
  // The newest `limit`, then put back oldest first.
  static const std::string sql =
      std::string("SELECT ") + kDeliveryColumns +
      " FROM deliveries WHERE ?1 = '' OR automation = ?1 "
      "ORDER BY time_ms DESC, seq DESC, attempt DESC LIMIT ?2";
  REGFS_ASSIGN_OR_RETURN(
      std::vector<DeliveryRecord> rows,
      QueryAll(db, sql.c_str(), DeliveryFromRow, automation,
               static_cast<int64_t>(limit)));
  return std::vector<DeliveryRecord>(rows.rbegin(), rows.rend());
}

Result<std::vector<DeliveryRecord>> DeliveriesOf(Connection& db,
                                                 std::string_view automation,
                                                 uint64_t seq) {
  static const std::string sql =
      std::string("SELECT ") + kDeliveryColumns +
      " FROM deliveries WHERE automation = ?1 AND seq = ?2 ORDER BY attempt";
  return QueryAll(db, sql.c_str(), DeliveryFromRow, automation,
                  static_cast<int64_t>(seq));
}

Result<std::string> TakeLease(Connection& db, std::string_view name,
                              std::string_view holder, TimeMs now,
                              TimeMs expires) {
  REGFS_TRY(Execute(db,
                    "INSERT INTO leases (name, holder, expires_ms) "
                    "VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET "
                    "holder = excluded.holder, "
                    "expires_ms = excluded.expires_ms "
                    "WHERE leases.holder = ?2 OR leases.expires_ms < ?4",
                    name, holder, int64_t{expires}, int64_t{now}));
  REGFS_ASSIGN_OR_RETURN(
      auto held, QueryOptional(
                     db, "SELECT holder FROM leases WHERE name = ?1",
                     [](Statement& r) { return r.ColumnText(0); }, name));
  return held.value_or(std::string());
}

Result<std::string> LeaseHolder(Connection& db, std::string_view name,
                                TimeMs now) {
  REGFS_ASSIGN_OR_RETURN(
      auto held,
      QueryOptional(
          db, "SELECT holder FROM leases WHERE name = ?1 AND expires_ms >= ?2",
          [](Statement& r) { return r.ColumnText(0); }, name, int64_t{now}));
  return held.value_or(std::string());
}

Status ReleaseLease(Connection& db, std::string_view name,
                    std::string_view holder) {
  return Execute(db, "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                 name, holder);
}

}  // namespace regfs::registry::sql
