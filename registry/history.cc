#include "registry/history.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>

#include "registry/model_json.h"
#include "registry/names.h"

namespace regfs::registry {
namespace {

struct EventName {
  EventType type;
  std::string_view name;
};

constexpr EventName kEventNames[] = {
    {EventType::kCollectionCreate, "collection.create"},
    {EventType::kCollectionDelete, "collection.delete"},
    {EventType::kVersionCreate, "version.create"},
    {EventType::kVersionDelete, "version.delete"},
    {EventType::kAliasCreate, "alias.create"},
    {EventType::kAliasMove, "alias.move"},
    {EventType::kAliasRemove, "alias.remove"},
    {EventType::kAliasRename, "alias.rename"},
    {EventType::kProtect, "name.protect"},
    {EventType::kUnprotect, "name.unprotect"},
    {EventType::kRoleGrant, "role.grant"},
    {EventType::kRoleRevoke, "role.revoke"},
    {EventType::kTagAdd, "tag.add"},
    {EventType::kTagRemove, "tag.remove"},
};

}  // namespace

std::string_view EventTypeName(EventType type) {
  for (const auto& e : kEventNames) {
    if (e.type == type) return e.name;
  }
  return "unknown";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (const auto& e : kEventNames) {
    if (e.name == name) return e.type;
  }
  return std::nullopt;
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
  std::string what;
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
  switch (event.type) {
    case EventType::kCollectionCreate:
      what = fmt::format("created collection {}", event.collection);
      break;
    case EventType::kCollectionDelete:
      what = fmt::format("deleted collection {}", event.collection);
      break;
    case EventType::kVersionCreate:
      what =
          fmt::format("pushed {}/{}", event.collection, v(event.new_version));
      break;
    case EventType::kVersionDelete:
      what =
          fmt::format("deleted {}/{}", event.collection, v(event.old_version));
      break;
    case EventType::kAliasCreate:
      what = fmt::format("created {} -> {}", where, v(event.new_version));
      break;
    case EventType::kAliasMove:
      what = fmt::format("moved {} {} -> {}", where, v(event.old_version),
                         v(event.new_version));
      break;
    case EventType::kAliasRemove:
      what = fmt::format("removed {} (was {})", where, v(event.old_version));
      break;
    case EventType::kAliasRename:
      what = fmt::format("renamed {} to {} ({})", where, event.renamed_to,
                         v(event.new_version));
      break;
    case EventType::kProtect:
      what = fmt::format("protected name {}", event.alias);
      break;
    case EventType::kUnprotect:
      what = fmt::format("unprotected name {}", event.alias);
      break;
    case EventType::kRoleGrant:
      what =
          fmt::format("granted {} to {}", detail("role"), detail("principal"));
      break;
    case EventType::kRoleRevoke:
      what = fmt::format("revoked {} from {}", detail("role"),
                         detail("principal"));
      break;
    case EventType::kTagAdd:
      what = fmt::format("tagged {}/{} {}", event.collection,
                         v(event.new_version), detail("tag"));
      break;
    case EventType::kTagRemove:
      what = fmt::format("untagged {}/{} {}", event.collection,
                         v(event.old_version), detail("tag"));
      break;
  }
  return fmt::format("{:>6}  {}  {:<10} {:<3}  {}", event.seq,
                     FormatTime(event.time), event.user,
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

Result<TimeMs> ParseTime(std::string_view text) {
  auto invalid = [&] {
    return Fail(Code::kInvalidArgument,
                fmt::format("cannot read time '{}': use ISO-8601 UTC such as "
                            "2026-11-22T04:53:02Z, or @SECONDS",
                            text));
  };
  if (!text.empty() && text.front() == '@') {
    std::string_view digits = text.substr(1);
    const bool negative = !digits.empty() && digits.front() == '-';
    if (negative) digits.remove_prefix(1);
    constexpr int64_t kMaxSeconds = INT64_MAX / 1000;
    if (digits.empty() || digits.size() > 16) return invalid();
    int64_t secs = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return invalid();
      secs = secs * 10 + (c - '0');
    }
    if (secs > kMaxSeconds) return invalid();  // milliseconds overflow
    return (negative ? -secs : secs) * 1000;
  }
  std::string_view s = text;
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) s.remove_suffix(1);
  // YYYY-MM-DD, at fixed places, digits only.
  auto y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  if (!y || !mo || !d || s[4] != '-' || s[7] != '-') return invalid();
  int h = 0, mi = 0, sec = 0, ms = 0;
  if (s.size() > 10) {
    // [T|t| ]HH:MM[:SS[.fraction]]
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return invalid();
    auto hh = Digits(s, 11, 2), mm = Digits(s, 14, 2);
    if (!hh || !mm || s.size() < 16 || s[13] != ':') return invalid();
    h = *hh;
    mi = *mm;
    if (s.size() > 16) {
      auto ss = Digits(s, 17, 2);
      if (s[16] != ':' || !ss) return invalid();
      sec = *ss;
      if (s.size() > 19) {
        const std::string_view frac = s.substr(20);
        if (s[19] != '.' || frac.empty() || frac.size() > 9) return invalid();
        int scale = 100;
        for (char c : frac) {
          if (c < '0' || c > '9') return invalid();
          ms += (c - '0') * scale;
          scale /= 10;
        }
      }
    }
  }
  if (*mo < 1 || *mo > 12 || *d < 1 || *d > 31 || h > 23 || mi > 59 ||
      sec > 60) {
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
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<TimeMs>(timegm(&tm)) * 1000 + ms;
}

TimeMs NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace regfs::registry
