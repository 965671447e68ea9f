// The history: appending an event as someone's, reading events back.
#include "registry/registry_impl.h"
#include "registry/shared_store.h"
#include "registry/sql/history.h"

namespace regfs::registry {

Result<uint64_t> Registry::Impl::Append(const Identity& who, EventType type,
                                        std::string_view collection,
                                        std::string_view alias,
                                        std::optional<uint64_t> old_version,
                                        std::optional<uint64_t> new_version,
                                        const nlohmann::json& detail,
                                        TimeMs time) {
  Event e;
  e.time = time;
  e.type = type;
  e.collection = collection;
  e.alias = alias;
  e.old_version = old_version;
  e.new_version = new_version;
  e.detail = detail;
  return Append(who, std::move(e));
}

Result<uint64_t> Registry::Impl::Append(const Identity& who, Event event) {
  event.uid = who.uid;
  event.user = who.user;
  event.interface = who.interface;
  // Before the commit, under the lock: nothing can put the old state back
  // (read_cache.h). Forgetting a change that then rolls back costs only a
  // round trip.
  if (cache) (void)cache->Forget(event);
  // A shared store's nodes write one history: each change names the
  // machine it was made on. An embedded store is one machine.
  if (shared_metadata) event.host = HostName();
  REGFS_ASSIGN_OR_RETURN(const uint64_t seq, sql::AppendEvent(*db, event));
  NoteWritten(seq);
  return seq;
}

Result<uint64_t> Registry::Impl::LastSeq() { return sql::LastSeq(*db); }

Result<std::vector<Event>> Registry::History(const HistoryFilter& filter) {
  auto lock = impl_->Lock();
  return sql::QueryHistory(*impl_->db, filter);
}

Result<uint64_t> Registry::LastSeq() {
  auto lock = impl_->Lock();
  return impl_->LastSeq();
}

}  // namespace regfs::registry
