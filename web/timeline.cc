#include "web/timeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <utility>

#include "registry/names.h"
#include "registry/replay.h"
#include "web/html.h"

namespace regfs::web {

namespace reg = regfs::registry;

namespace {

// What every name resolves to after one event: user aliases and `latest`.
using Names = std::map<std::string, reg::AliasState>;

Names NamesOf(const reg::CollectionReplay& replay) {
  Names names = replay.aliases();
  if (auto latest = replay.latest()) names[std::string(reg::kLatest)] = *latest;
  return names;
}

bool IsProtectedName(const std::vector<reg::ProtectedName>& protect,
                     std::string_view name) {
  return std::ranges::any_of(protect, [&](const reg::ProtectedName& p) {
    return reg::EqualsIgnoreCase(p.name, name);
  });
}

TimelineStep StepFor(const reg::Event& e, std::optional<uint64_t> version) {
  return {.seq = e.seq,
          .time = e.time,
          .version = version,
          .user = e.user,
          .event = std::string(reg::EventTypeName(e.type)),
          .note = {}};
}

// Appends to `lanes` the changes between `before` and `after` that event
// `e` made; whether there were any.
bool RecordChanges(const reg::Event& e, const Names& before, const Names& after,
                   std::map<std::string, TimelineLane>& lanes) {
  const bool rename = e.type == reg::EventType::kAliasRename;
  bool changed = false;
  for (const auto& [name, state] : before) {
    if (after.contains(name)) continue;
    TimelineStep step = StepFor(e, std::nullopt);
    if (rename && name == e.alias) step.note = "renamed to " + e.renamed_to;
    lanes[name].steps.push_back(std::move(step));
    changed = true;
  }
  for (const auto& [name, state] : after) {
    auto it = before.find(name);
    if (it != before.end() && it->second.version == state.version &&
        it->second.seq == state.seq) {
      continue;
    }
    TimelineStep step = StepFor(e, state.version);
    if (rename && name == e.renamed_to) step.note = "renamed from " + e.alias;
    lanes[name].steps.push_back(std::move(step));
    changed = true;
  }
  return changed;
}

}  // namespace

Timeline BuildTimeline(std::string_view collection,
                       const std::vector<reg::Event>& events,
                       const std::vector<reg::ProtectedName>& protect) {
  // A deleted collection's aliases are not this one's: start at the
  // newest creation of the name.
  size_t start = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].collection == collection &&
        events[i].type == reg::EventType::kCollectionCreate) {
      start = i;
    }
  }
  Timeline timeline;
  timeline.collection = std::string(collection);
  reg::CollectionReplay replay{std::string(collection)};
  std::map<std::string, TimelineLane> lanes;
  Names before;
  for (size_t i = start; i < events.size(); ++i) {
    const reg::Event& e = events[i];
    if (e.collection != collection) continue;
    replay.Apply(e);
    Names after = NamesOf(replay);
    if (RecordChanges(e, before, after, lanes))
      timeline.columns.push_back(e.seq);
    before = std::move(after);
  }
  for (auto& [name, lane] : lanes) {
    lane.alias = name;
    lane.is_latest = name == reg::kLatest;
    lane.is_protected = !lane.is_latest && IsProtectedName(protect, name);
    for (const TimelineStep& step : lane.steps) {
      timeline.max_version =
          std::max(timeline.max_version, step.version.value_or(0));
    }
  }
  if (auto it = lanes.find(std::string(reg::kLatest)); it != lanes.end()) {
    timeline.lanes.push_back(std::move(it->second));
    lanes.erase(it);
  }
  for (auto& [name, lane] : lanes) timeline.lanes.push_back(std::move(lane));
  return timeline;
}

namespace {

// The picture's geometry, in pixels.
constexpr int kLabelWidth = 180;
constexpr int kColumnWidth = 58;
constexpr int kLaneHeight = 56;
constexpr int kTop = 8;
constexpr int kAxisHeight = 44;
constexpr int kLanePad = 14;  // between a lane's edge and its highest step
constexpr size_t kMaxLabel = 22;

constexpr std::array<std::string_view, 5> kPalette = {
    "#0969da", "#8250df", "#bf3989", "#bc4c00", "#0a7f86"};

std::string_view LaneColor(const TimelineLane& lane, size_t index) {
  if (lane.is_latest) return "#1a7f37";
  if (lane.is_protected) return "#57606a";
  return kPalette[index % kPalette.size()];
}

// Where things go: a column's x, a version's y in a lane.
struct Layout {
  size_t columns = 0;
  uint64_t max_version = 0;
  std::map<uint64_t, size_t> column_of;  // seq -> column

  int X(size_t column) const {
    return kLabelWidth + kColumnWidth / 2 +
           static_cast<int>(column) * kColumnWidth;
  }
  // Right of the newest change: lines run on to here, "now".
  int EndX() const { return X(columns) - kColumnWidth / 3; }
  int LaneTop(size_t lane) const {
    return kTop + static_cast<int>(lane) * kLaneHeight;
  }
  int Y(size_t lane, uint64_t version) const {
    const int span = kLaneHeight - 2 * kLanePad;
    const double share =
        max_version == 0
            ? 0.5
            : static_cast<double>(version) / static_cast<double>(max_version);
    return LaneTop(lane) + kLaneHeight - kLanePad -
           static_cast<int>(share * span + 0.5);
  }
  int Width() const { return X(columns) + 8; }
  int Height(size_t lanes) const { return LaneTop(lanes) + kAxisHeight; }
};

std::string StepTitle(const TimelineLane& lane, const TimelineStep& step) {
  std::string what = step.version ? fmt::format("{} \u2192 {}", lane.alias,
                                                reg::VersionName(*step.version))
                                  : fmt::format("{} removed", lane.alias);
  if (!step.note.empty()) what += " (" + step.note + ")";
  return fmt::format("{}\nby {}, {}\n{}, event #{}", what, step.user,
                     reg::FormatTime(step.time), step.event, step.seq);
}

std::string LaneLabel(const TimelineLane& lane, int y) {
  std::string shown = lane.alias;
  if (shown.size() > kMaxLabel)
    shown = shown.substr(0, kMaxLabel - 1) + "\u2026";
  std::string lock;
  int x = 10;
  if (lane.is_protected) {
    // The padlock of LockIcon, drawn in place.
    lock = fmt::format(
        "<g transform=\"translate(10 {})\" fill=\"#57606a\"><path "
        "d=\"M2.5 5.5V3.5a2.5 2.5 0 0 1 5 0v2\" fill=\"none\" "
        "stroke=\"#57606a\" stroke-width=\"1.4\"/><rect x=\"1\" y=\"5.5\" "
        "width=\"8\" height=\"6\" rx=\"1\"/></g>",
        y - 10);
    x = 24;
  }
  return fmt::format(
      "<g class=\"lane-label\"><title>{}{}</title>{}<text x=\"{}\" y=\"{}\" "
      "font-weight=\"600\">{}</text></g>",
      Escape(lane.alias), lane.is_protected ? " (protected)" : "", lock, x, y,
      Escape(shown));
}

// One lane: its background, label, the line of what it named, and a
// marker with a hover title at each change.
std::string RenderLane(const Layout& layout, const TimelineLane& lane,
                       size_t index) {
  const int top = layout.LaneTop(index);
  const std::string_view color = LaneColor(lane, index);
  std::string out = fmt::format(
      "<g class=\"lane\" data-alias=\"{}\"><rect x=\"0\" y=\"{}\" "
      "width=\"{}\" height=\"{}\" fill=\"{}\"/>",
      Escape(lane.alias), top, layout.Width(), kLaneHeight,
      index % 2 == 0 ? "#f6f8fa" : "#ffffff");
  out += LaneLabel(lane, top + kLaneHeight / 2 + 4);
  std::string path, markers;
  // Where the line is now, while the alias exists (`on`).
  bool on = false;
  int y = top + kLaneHeight / 2;
  for (const TimelineStep& step : lane.steps) {
    const int x = layout.X(layout.column_of.at(step.seq));
    const std::string title = Escape(StepTitle(lane, step));
    if (!step.version) {
      if (on) path += fmt::format(" H{}", x);
      markers += fmt::format(
          "<g class=\"step removed\"><title>{}</title><circle cx=\"{}\" "
          "cy=\"{}\" r=\"10\" fill=\"transparent\"/><path d=\"M{} {}l8 8m0 "
          "-8l-8 8\" stroke=\"{}\" stroke-width=\"2\"/></g>",
          title, x, y, x - 4, y - 4, color);
      on = false;
      continue;
    }
    const int next = layout.Y(index, *step.version);
    path +=
        on ? fmt::format(" H{} V{}", x, next) : fmt::format(" M{} {}", x, next);
    on = true;
    y = next;
    markers += fmt::format(
        "<g class=\"step\"><title>{}</title><circle cx=\"{}\" cy=\"{}\" "
        "r=\"10\" fill=\"transparent\"/><circle cx=\"{}\" cy=\"{}\" r=\"4.5\" "
        "fill=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" "
        "font-size=\"11\">{}</text></g>",
        title, x, next, x, next, color, x, next - 8,
        Escape(reg::VersionName(*step.version)));
  }
  if (on) path += fmt::format(" H{}", layout.EndX());
  if (!path.empty()) {
    out += fmt::format(
        "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" "
        "stroke-linejoin=\"round\"/>",
        path, color);
  }
  return out + markers + "</g>";
}

// The columns' event numbers and the first and last change's times.
std::string RenderAxis(const Layout& layout, const Timeline& timeline,
                       const std::vector<TimelineStep>& all, size_t lanes) {
  const int base = layout.LaneTop(lanes);
  std::string out = "<g class=\"axis\" font-size=\"10\" fill=\"#656d76\">";
  for (size_t i = 0; i < timeline.columns.size(); ++i) {
    out += fmt::format(
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#d0d7de\" "
        "stroke-dasharray=\"2 3\"/><text x=\"{0}\" y=\"{3}\" "
        "text-anchor=\"middle\">#{4}</text>",
        layout.X(i), kTop, base, base + 14, timeline.columns[i]);
  }
  if (!all.empty()) {
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" "
        "text-anchor=\"end\">{}</text>",
        kLabelWidth, base + 32, Escape(reg::FormatTime(all.front().time)),
        layout.EndX(), base + 32, Escape(reg::FormatTime(all.back().time)));
  }
  return out + "</g>";
}

}  // namespace

std::string RenderTimelineSvg(const Timeline& timeline) {
  if (timeline.lanes.empty()) {
    return "<p class=\"muted\">No alias has named a version yet.</p>";
  }
  Layout layout;
  layout.columns = timeline.columns.size();
  layout.max_version = timeline.max_version;
  for (size_t i = 0; i < timeline.columns.size(); ++i) {
    layout.column_of[timeline.columns[i]] = i;
  }
  std::vector<TimelineStep> all;
  for (const TimelineLane& lane : timeline.lanes) {
    all.insert(all.end(), lane.steps.begin(), lane.steps.end());
  }
  std::ranges::sort(all, {}, &TimelineStep::seq);
  const size_t lanes = timeline.lanes.size();
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"alias-timeline\" "
      "width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
      "aria-labelledby=\"timeline-title\" font-family=\"system-ui, "
      "sans-serif\" font-size=\"12\" fill=\"#1f2328\"><title "
      "id=\"timeline-title\">Aliases of {2} over time</title>",
      layout.Width(), layout.Height(lanes), Escape(timeline.collection));
  for (size_t i = 0; i < lanes; ++i) {
    out += RenderLane(layout, timeline.lanes[i], i);
  }
  out += RenderAxis(layout, timeline, all, lanes);
  return out + "</svg>";
}

}  // namespace regfs::web
