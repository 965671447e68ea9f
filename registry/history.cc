#include "registry/history.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>

#include "registry/enum_names.h"
#include "registry/model_json.h"
#include "registry/names.h"

namespace regfs::registry {
namespace {

// Each kind of event: its name in the history table and in JSON, and
// what it did in a line of `history` (an fmt pattern over the arguments
// of RenderText).
struct EventKind {
  EventType value;
  std::string_view name;
  std::string_view text;
};

// Unqualified, so that each kind is one row of one line.
using enum EventType;

constexpr EventKind kEventKinds[] = {
    {kCollectionCreate, "collection.create", "created collection {collection}"},
    {kCollectionDelete, "collection.delete", "deleted collection {collection}"},
    {kVersionCreate, "version.create", "pushed {collection}/{new}"},
    {kVersionDelete, "version.delete", "deleted {collection}/{old}"},
    {kAliasCreate, "alias.create", "created {where} -> {new}"},
    {kAliasMove, "alias.move", "moved {where} {old} -> {new}"},
    {kAliasRemove, "alias.remove", "removed {where} (was {old})"},
    {kAliasRename, "alias.rename", "renamed {where} to {to} ({new})"},
    {kProtect, "name.protect", "protected name {alias}"},
    {kUnprotect, "name.unprotect", "unprotected name {alias}"},
    {kRoleGrant, "role.grant", "granted {role} to {principal}"},
    {kRoleRevoke, "role.revoke", "revoked {role} from {principal}"},
    {kTagAdd, "tag.add", "tagged {collection}/{new} {tag}"},
    {kTagRemove, "tag.remove", "untagged {collection}/{old} {tag}"},
    {kAutomationAdd, "automation.add", "added automation {automation}"},
    {kAutomationRemove, "automation.rm", "removed automation {automation}"},
};

}  // namespace

std::string_view EventTypeName(EventType type) {
  return NameOf(kEventKinds, type, "unknown");
}

std::optional<EventType> ParseEventType(std::string_view name) {
  return ValueNamed(kEventKinds, name);
}

std::vector<std::string_view> EventTypeNames() {
  std::vector<std::string_view> names;
  for (const auto& kind : kEventKinds) names.push_back(kind.name);
  return names;
}

nlohmann::json StoredDetail(const Event& event) {
  nlohmann::json detail =
      event.detail.is_object() ? event.detail : nlohmann::json::object();
  if (!event.renamed_to.empty()) detail["to"] = event.renamed_to;
  return detail;
}

std::string RenderJsonLine(const Event& event) {
  // Replace invalid UTF-8 rather than throw: history must always render.
  return ToJson(event).dump(-1, ' ', false,
                            nlohmann::json::error_handler_t::replace);
}

std::string RenderText(const Event& event) {
  const std::string where =
      event.alias.empty() ? event.collection
                          : fmt::format("{}/{}", event.collection, event.alias);
  auto v = [](const std::optional<uint64_t>& n) {
    return n ? VersionName(*n) : std::string("-");
  };
  auto detail = [&](const char* key) -> std::string {
    auto it = event.detail.find(key);
    if (it == event.detail.end() || !it->is_string()) return {};
    return it->get<std::string>();
  };
  const std::string what = fmt::format(
      fmt::runtime(ColumnOf(kEventKinds, event.type, &EventKind::text,
                            std::string_view())),
      fmt::arg("collection", event.collection), fmt::arg("where", where),
      fmt::arg("alias", event.alias), fmt::arg("to", event.renamed_to),
      fmt::arg("old", v(event.old_version)),
      fmt::arg("new", v(event.new_version)), fmt::arg("role", detail("role")),
      fmt::arg("principal", detail("principal")),
      fmt::arg("tag", detail("tag")),
      fmt::arg("automation", detail("automation")));
  // user@host, as a shell prompt names both; an event without a host (an
  // embedded store's) shows the user alone.
  const std::string who =
      event.host.empty() ? event.user : event.user + "@" + event.host;
  return fmt::format("{:>6}  {}  {:<10} {:<3}  {}", event.seq,
                     FormatTime(event.time), who,
                     InterfaceName(event.interface), what);
}

std::string FormatTime(TimeMs time) {
  const std::time_t secs =
      static_cast<std::time_t>(time >= 0 ? time / 1000 : (time - 999) / 1000);
  const int64_t ms = time - static_cast<int64_t>(secs) * 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ms);
}

Result<Moment> ParseMoment(std::string_view text) {
  if (text == "now") return Moment{};
  if (!text.empty() && text.size() <= 19 &&
      text.find_first_not_of("0123456789") == std::string_view::npos) {
    uint64_t seq = 0;
    for (char c : text) seq = seq * 10 + static_cast<uint64_t>(c - '0');
    return Moment{Moment::Kind::kEvent, seq};
  }
  auto time = ParseTime(text);
  if (time) return Moment{Moment::Kind::kTime, static_cast<uint64_t>(*time)};
  // Shaped as YYYY-MM-DD...: ParseTime's message says what is wrong with
  // it (2026-02-30: "2026-02 has no day 30").
  const auto digit = [&](size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() >= 10 && text[4] == '-' && text[7] == '-' && digit(0) &&
      digit(1) && digit(2) && digit(3) && digit(5) && digit(6) && digit(8) &&
      digit(9)) {
    return std::unexpected(time.error());
  }
  return Fail(Code::kInvalidArgument,
              fmt::format("cannot read '{}' as a moment: use now, an event "
                          "number, or a time such as 2026-11-22T04:53:02Z",
                          text));
}

namespace {

// `count` decimal digits at `pos` of `text`, or nullopt.
std::optional<int> Digits(std::string_view text, size_t pos, size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

namespace {

// "@SECONDS" (after the '@'), signed, in milliseconds; nullopt if it is not
// a number or its milliseconds overflow.
std::optional<TimeMs> ParseEpochSeconds(std::string_view digits) {
  const bool negative = !digits.empty() && digits.front() == '-';
  if (negative) digits.remove_prefix(1);
  constexpr int64_t kMaxSeconds = INT64_MAX / 1000;
  if (digits.empty() || digits.size() > 16) return std::nullopt;
  int64_t secs = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    secs = secs * 10 + (c - '0');
  }
  if (secs > kMaxSeconds) return std::nullopt;
  return (negative ? -secs : secs) * 1000;
}

// The time of day of an ISO-8601 time.
struct Clock {
  int hour = 0, minute = 0, second = 0, ms = 0;
};

// What follows the date in `s` (YYYY-MM-DD...): nothing, or
// [T|t| ]HH:MM[:SS[.fraction]]; nullopt if malformed.
std::optional<Clock> ParseClock(std::string_view s) {
  Clock clock;
  if (s.size() <= 10) return clock;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  auto hh = Digits(s, 11, 2), mm = Digits(s, 14, 2);
  if (!hh || !mm || s.size() < 16 || s[13] != ':') return std::nullopt;
  clock.hour = *hh;
  clock.minute = *mm;
  if (s.size() == 16) return clock;
  auto ss = Digits(s, 17, 2);
  if (s[16] != ':' || !ss) return std::nullopt;
  clock.second = *ss;
  if (s.size() == 19) return clock;
  const std::string_view frac = s.substr(20);
  if (s[19] != '.' || frac.empty() || frac.size() > 9) return std::nullopt;
  int scale = 100;
  for (char c : frac) {
    if (c < '0' || c > '9') return std::nullopt;
    clock.ms += (c - '0') * scale;
    scale /= 10;
  }
  return clock;
}

}  // namespace

Result<TimeMs> ParseTime(std::string_view text) {
  auto invalid = [&] {
    return Fail(Code::kInvalidArgument,
                fmt::format("cannot read time '{}': use ISO-8601 UTC such as "
                            "2026-11-22T04:53:02Z, or @SECONDS",
                            text));
  };
  if (!text.empty() && text.front() == '@') {
    auto ms = ParseEpochSeconds(text.substr(1));
    if (!ms) return invalid();
    return *ms;
  }
  std::string_view s = text;
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) s.remove_suffix(1);
  // YYYY-MM-DD, at fixed places, digits only.
  auto y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  if (!y || !mo || !d || s[4] != '-' || s[7] != '-') return invalid();
  const std::optional<Clock> clock = ParseClock(s);
  if (!clock) return invalid();
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > 31 || clock->hour > 23 ||
      clock->minute > 59 || clock->second > 60) {
    return invalid();
  }
  const std::chrono::year_month_day date{
      std::chrono::year(*y), std::chrono::month(static_cast<unsigned>(*mo)),
      std::chrono::day(static_cast<unsigned>(*d))};
  if (!date.ok()) {
    return Fail(Code::kInvalidArgument,
                fmt::format("cannot read time '{}': {:04}-{:02} has no day {}",
                            text, *y, *mo, *d));
  }
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = clock->hour;
  tm.tm_min = clock->minute;
  tm.tm_sec = clock->second;
  return static_cast<TimeMs>(timegm(&tm)) * 1000 + clock->ms;
}

TimeMs NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace regfs::registry
