// The timeline of a collection's aliases: which version each alias named
// when, rebuilt from the collection's history with the registry's replay
// (registry/replay.h), and drawn as an SVG picture with one lane per alias
// and a step at each change. Pure functions, no I/O.
#ifndef REGFS_WEB_TIMELINE_H_
#define REGFS_WEB_TIMELINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/history.h"
#include "registry/model.h"

namespace regfs::web {

// One change of one alias: what it named after event `seq`.
struct TimelineStep {
  uint64_t seq = 0;
  registry::TimeMs time = 0;
  std::optional<uint64_t> version;  // nullopt: removed (or renamed away)
  std::string user;                 // who made the change
  std::string event;                // "alias.move", "version.create", ...
  std::string note;                 // "renamed from best", or empty
};

// One alias's changes, oldest first. `latest` has a lane too: it steps at
// each new version.
struct TimelineLane {
  std::string alias;
  bool is_protected = false;
  bool is_latest = false;
  std::vector<TimelineStep> steps;
};

struct Timeline {
  std::string collection;
  std::vector<TimelineLane> lanes;  // `latest` first, then by name
  // The events that changed some alias, oldest first: the picture's
  // columns.
  std::vector<uint64_t> columns;
  uint64_t max_version = 0;
};

// Replays `events` (the collection's history, oldest first; events of
// other collections are ignored) from the collection's last creation,
// and records each alias's changes. An alias whose name is among
// `protect` is marked protected (protection ignores case).
Timeline BuildTimeline(std::string_view collection,
                       const std::vector<registry::Event>& events,
                       const std::vector<registry::ProtectedName>& protect);

// An inline <svg> element: lanes with their names (a lock on protected
// ones), a step line per lane at the version it names, a dot at each
// change with a <title> (shown on hover) saying which version, who, when
// and which event. Empty lanes are not drawn; with no lanes at all, a
// short paragraph saying so.
std::string RenderTimelineSvg(const Timeline& timeline);

}  // namespace regfs::web

#endif  // REGFS_WEB_TIMELINE_H_
