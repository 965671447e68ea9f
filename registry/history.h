// History events and their one JSON Lines rendering, shared by
// `regfs history --json` and the mount's history files.
#ifndef REGFS_REGISTRY_HISTORY_H_
#define REGFS_REGISTRY_HISTORY_H_

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/identity.h"
#include "registry/model.h"

namespace regfs::registry {

enum class EventType {
  kCollectionCreate,
  kCollectionDelete,
  kVersionCreate,
  kVersionDelete,
  kAliasCreate,
  kAliasMove,
  kAliasRemove,
  kAliasRename,
  kProtect,
  kUnprotect,
  kRoleGrant,
  kRoleRevoke,
  kTagAdd,
  kTagRemove,
  kAutomationAdd,     // detail: {"automation"}
  kAutomationRemove,  // detail: {"automation"}
};

// "alias.move", "version.create", ...: the `event` field of a JSON line.
std::string_view EventTypeName(EventType type);
std::optional<EventType> ParseEventType(std::string_view name);
// Every kind's name, in the enum's order.
std::vector<std::string_view> EventTypeNames();

// One row of the append-only log.
struct Event {
  uint64_t seq = 0;  // gapless, starts at 1
  TimeMs time = 0;
  EventType type = EventType::kAliasMove;
  std::string collection;  // empty for registry-wide events
  std::string alias;       // the alias; for protect/unprotect the name
  std::optional<uint64_t> old_version;
  std::optional<uint64_t> new_version;
  uid_t uid = 0;
  std::string user;
  Interface interface = Interface::kCli;
  // The machine the change was made on, on a shared store (its nodes
  // share one history); empty on an embedded store, which is one machine,
  // and on events from before schema version 6.
  std::string host;
  // A rename's new name (`alias` is the old one); empty for other events.
  std::string renamed_to;
  // Other event-specific extras, always an object: {"principal", "role"}
  // for role changes, {"tag"} for tags.
  nlohmann::json detail = nlohmann::json::object();
};

// The detail as stored and rendered: `detail`, plus {"to": renamed_to}
// for a rename (sql::EventFromRow reads it back into renamed_to).
nlohmann::json StoredDetail(const Event& event);

// Which events a reader wants; empty fields match everything.
struct HistoryFilter {
  std::string collection;
  std::string alias;  // matches `alias` and a rename's `renamed_to`
  std::optional<TimeMs> since;
  uint64_t after_seq = 0;  // only events with seq > after_seq
  // Only events with seq <= until_seq: a view frozen at that event.
  std::optional<uint64_t> until_seq;
  uint64_t limit = 0;      // 0: no limit
};

// One JSON object, no newline:
// {"seq":7,"time":"2026-11-22T04:53:02.123Z","event":"alias.move",
//  "collection":"models","alias":"production","old":"v1","new":"v2",
//  "uid":1000,"user":"alice","interface":"fs"}
// with "host":"node-a" after "interface" when the event has a host (a
// shared store's), plus the detail's keys. Absent values are null.
std::string RenderJsonLine(const Event& event);

// A one-line human form for terminals; its user column is user@host when
// the event has a host, as a shell prompt names both.
std::string RenderText(const Event& event);

// ISO-8601 UTC with milliseconds: 2026-11-22T04:53:02.123Z.
std::string FormatTime(TimeMs time);
// Accepts 2026-11-22, 2026-11-22T04:53, 2026-11-22T04:53:02(.123)(Z) and
// "@SECONDS"; times without a zone are UTC.
Result<TimeMs> ParseTime(std::string_view text);
TimeMs NowMs();

// A moment of the history, as `--at`, `--as-of` and .regfs/at/ take it:
// "now", an event number, or a time in ParseTime's forms.
struct Moment {
  enum class Kind { kNow, kEvent, kTime };
  Kind kind = Kind::kNow;
  uint64_t value = 0;  // kEvent: the seq; kTime: milliseconds (TimeMs)
};
// InvalidArgument, with a message that names the accepted forms.
Result<Moment> ParseMoment(std::string_view text);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_HISTORY_H_
