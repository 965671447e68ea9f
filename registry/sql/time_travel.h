// The statements of time travel: the history of collections' lives, the
// collections deleted since a moment, and what a collection held then.
#ifndef REGFS_REGISTRY_SQL_TIME_TRAVEL_H_
#define REGFS_REGISTRY_SQL_TIME_TRAVEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/history.h"
#include "registry/model.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

// A collection.create or collection.delete event: where a name starts or
// stops holding a collection.
struct LifeEvent {
  std::string collection;
  EventType type = EventType::kCollectionCreate;
};

// The seq of the newest event at or before `time` (0 for none).
[[nodiscard]] Result<uint64_t> LastSeqAt(Connection& db, TimeMs time);
// The type of the newest life event of collection name `name` up to event
// `seq`, or nullopt if there is none.
[[nodiscard]] Result<std::optional<EventType>> LastLifeEvent(
    Connection& db, std::string_view name, uint64_t seq);
// The life events of every collection name up to event `seq`, oldest first.
[[nodiscard]] Result<std::vector<LifeEvent>> LifeEventsUntil(Connection& db,
                                                             uint64_t seq);
// Of the collections named `name` deleted after event `seq`, the first
// deleted, as it was deleted (no versions or aliases), or nullopt.
[[nodiscard]] Result<std::optional<Collection>> FirstDeletedAfter(
    Connection& db, std::string_view name, uint64_t seq);
// The collections deleted after event `seq`, in the order of deletion.
[[nodiscard]] Result<std::vector<Collection>> DeletedAfter(Connection& db,
                                                           uint64_t seq);
// The live versions of collection `collection_id` created by event `seq`,
// by number, without details.
[[nodiscard]] Result<std::vector<Version>> VersionsCreatedBy(
    Connection& db, int64_t collection_id, uint64_t seq);
// The events up to `seq` that a replay of collection `collection` needs:
// its own and every name protection, oldest first.
[[nodiscard]] Result<std::vector<Event>> ReplayEvents(
    Connection& db, std::string_view collection, uint64_t seq);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_TIME_TRAVEL_H_
