// Registry's automations: adding and removing them (admins, with their
// history events), their log, and what the deliverer reads and records
// under the store's lease.
#include <fmt/format.h>

#include "registry/registry_impl.h"
#include "registry/secret_file.h"
#include "registry/sql/automations.h"

namespace regfs::registry {
namespace {

// The one lease of a store's deliverers.
constexpr std::string_view kLease = "automations";

std::unexpected<Error> NoSuchAutomation(std::string_view name) {
  return Fail(Code::kNotFound,
              fmt::format("no automation named {}", Quote(name)));
}

// Conflict unless `holder` still holds the delivery lease: a deliverer
// that lost it (paused past its expiry) must not record or move anything.
Status CheckLeaseHeld(sql::Connection& db, std::string_view holder) {
  REGFS_ASSIGN_OR_RETURN(const std::string held,
                         sql::LeaseHolder(db, kLease, NowMs()));
  if (held != holder) {
    return Fail(Code::kConflict,
                fmt::format("the delivery lease is no longer {}'s", holder));
  }
  return {};
}

}  // namespace

Result<Automation> Registry::AddAutomation(const Identity& who,
                                           AutomationSpec spec) {
  // As the caller: through a mount the process is the daemon (root).
  REGFS_TRY(ValidateAutomationSpec(spec, SecretReader::Of(who)));
  // A command runs as the admin who added it, never as anyone else, and
  // a secret file is read as them: whatever the spec said.
  spec.target.uid = who.uid;
  spec.target.gid = who.gid;
  spec.target.user = who.user;
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(
      Transaction tx,
      impl_->BeginAs(who, Role::kAdmin, "manage automations"));
  REGFS_ASSIGN_OR_RETURN(auto existing,
                         sql::FindAutomation(*impl_->db, spec.name));
  if (existing) {
    return Fail(Code::kAlreadyExists,
                fmt::format("automation {} already exists", Quote(spec.name)));
  }
  Automation a;
  a.spec = std::move(spec);
  a.created_ms = NowMs();
  a.created_by = who.user;
  // It starts at its own event: what happened before it is not its.
  REGFS_ASSIGN_OR_RETURN(
      a.position,
      impl_->Append(who, EventType::kAutomationAdd, "", "", std::nullopt,
                    std::nullopt, {{"automation", a.spec.name}}, a.created_ms));
  REGFS_TRY(sql::InsertAutomation(*impl_->db, a));
  REGFS_TRY(tx.Commit());
  return a;
}

Status Registry::RemoveAutomation(const Identity& who, std::string_view name) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(
      Transaction tx,
      impl_->BeginAs(who, Role::kAdmin, "manage automations"));
  REGFS_ASSIGN_OR_RETURN(auto existing, sql::FindAutomation(*impl_->db, name));
  if (!existing) return NoSuchAutomation(name);
  REGFS_TRY(sql::DeleteAutomation(*impl_->db, name));
  REGFS_TRY(impl_->Append(who, EventType::kAutomationRemove, "", "",
                          std::nullopt, std::nullopt,
                          {{"automation", std::string(name)}}));
  return tx.Commit();
}

Result<std::vector<Automation>> Registry::ListAutomations(const Identity& who) {
  auto lock = impl_->Lock();
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "manage automations"));
  return sql::ListAutomations(*impl_->db);
}

Result<Automation> Registry::GetAutomation(const Identity& who,
                                           std::string_view name) {
  auto lock = impl_->Lock();
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "manage automations"));
  REGFS_ASSIGN_OR_RETURN(auto found, sql::FindAutomation(*impl_->db, name));
  if (!found) return NoSuchAutomation(name);
  return std::move(*found);
}

Result<std::vector<DeliveryRecord>> Registry::DeliveryLog(
    const Identity& who, std::string_view name, uint64_t limit) {
  auto lock = impl_->Lock();
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "manage automations"));
  if (!name.empty()) {
    REGFS_ASSIGN_OR_RETURN(auto found, sql::FindAutomation(*impl_->db, name));
    if (!found) return NoSuchAutomation(name);
  }
  return sql::ListDeliveries(*impl_->db, name, limit);
}

Result<Registry::PendingEvents> Registry::AutomationEvents(
    const Automation& automation, uint64_t limit) {
  auto lock = impl_->Lock();
  // Read first: every event up to it is in the query's answer, as seqs
  // are given in commit order.
  REGFS_ASSIGN_OR_RETURN(const uint64_t last, impl_->LastSeq());
  HistoryFilter filter;
  filter.collection = automation.spec.collection;
  filter.alias = automation.spec.alias;
  filter.after_seq = automation.position;
  filter.limit = limit;
  REGFS_ASSIGN_OR_RETURN(std::vector<Event> rows,
                         sql::QueryHistory(*impl_->db, filter));
  PendingEvents pending;
  pending.scanned_to = automation.position;
  if (!rows.empty()) pending.scanned_to = rows.back().seq;
  if (rows.size() < limit) pending.scanned_to = std::max(pending.scanned_to, last);
  for (Event& e : rows) {
    if (AutomationMatches(automation.spec, e)) {
      pending.events.push_back(std::move(e));
    }
  }
  return pending;
}

Status Registry::RecordDelivery(std::string_view holder,
                                const DeliveryRecord& record, bool advance) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*impl_->db));
  REGFS_TRY(CheckLeaseHeld(*impl_->db, holder));
  REGFS_ASSIGN_OR_RETURN(auto still,
                         sql::FindAutomation(*impl_->db, record.automation));
  // Removed meanwhile, with its log: nothing to record.
  if (!still) return {};
  REGFS_TRY(sql::InsertDelivery(*impl_->db, record));
  if (advance) {
    REGFS_TRY(
        sql::AdvanceAutomation(*impl_->db, record.automation, record.seq));
  }
  return tx.Commit();
}

Status Registry::SkipEvents(std::string_view holder, std::string_view name,
                            uint64_t seq) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*impl_->db));
  REGFS_TRY(CheckLeaseHeld(*impl_->db, holder));
  REGFS_TRY(sql::AdvanceAutomation(*impl_->db, name, seq));
  return tx.Commit();
}

Result<std::vector<DeliveryRecord>> Registry::DeliveryAttempts(
    std::string_view name, uint64_t seq) {
  auto lock = impl_->Lock();
  return sql::DeliveriesOf(*impl_->db, name, seq);
}

Result<bool> Registry::TakeDeliveryLease(std::string_view holder,
                                         TimeMs ttl_ms) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*impl_->db));
  const TimeMs now = NowMs();
  REGFS_ASSIGN_OR_RETURN(
      const std::string held,
      sql::TakeLease(*impl_->db, kLease, holder, now, now + ttl_ms));
  REGFS_TRY(tx.Commit());
  return held == holder;
}

Status Registry::ReleaseDeliveryLease(std::string_view holder) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*impl_->db));
  REGFS_TRY(sql::ReleaseLease(*impl_->db, kLease, holder));
  return tx.Commit();
}

}  // namespace regfs::registry
