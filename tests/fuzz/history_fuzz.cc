// FuzzTime, FuzzHistoryRender and FuzzMetadata: registry/history.h and
// the metadata's way into extended attributes and JSON.
#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fs/xattrs.h"
#include "registry/history.h"
#include "registry/names.h"
#include "tests/fuzz/fuzz_targets.h"

namespace regfs::fuzz {
namespace {

using registry::Event;
using registry::EventType;
using registry::FormatTime;
using registry::ParseTime;
using registry::TimeMs;

// Year 0001 to 9999: the times an ISO-8601 text can name.
constexpr TimeMs kMinTime = -62135596800000;
constexpr TimeMs kMaxTime = 253402300799999;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }


// Whether `text` is valid UTF-8 (nlohmann replaces what is not).
bool IsUtf8(std::string_view text) {
  const nlohmann::json j = std::string(text);
  try {
    (void)j.dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

// The value of key `key` in a parsed line, as the line must carry it.
void CheckField(const nlohmann::json& line, const char* key,
                const std::string& value, const std::string& rendered) {
  FUZZ_CHECK(line.contains(key), fmt::format("no '{}' in {}", key, Escape(rendered)));
  if (value.empty() && std::string_view(key) != "user") {
    FUZZ_CHECK(line[key].is_null(), fmt::format("'{}' is not null", key));
    return;
  }
  FUZZ_CHECK(line[key].is_string(), fmt::format("'{}' is not a string", key));
  if (IsUtf8(value)) {
    FUZZ_CHECK(line[key].get<std::string>() == value,
               fmt::format("'{}' changed: '{}' became '{}'", key, Escape(value),
                           Escape(line[key].get<std::string>())));
  }
}

}  // namespace

int FuzzTime(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseTime(text);
  if (!parsed) {
    for (unsigned char c : parsed.error().message) {
      (void)c;  // the CLI flattens it; the message may quote the input
    }
    return 0;
  }
  const TimeMs t = *parsed;
  const std::string where = fmt::format("ParseTime('{}') = {}", Escape(text), t);
  if (!text.empty() && text[0] == '@') {
    // "@SECONDS": exactly SECONDS * 1000, or refused when that overflows.
    int64_t secs = 0;
    bool overflow = false;
    bool negative = false;
    size_t i = 1;
    while (i < text.size() && std::string_view(" \t\n\v\f\r").find(text[i]) !=
                                  std::string_view::npos) {
      ++i;  // strtoll skips leading blanks
    }
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
      negative = text[i] == '-';
      ++i;
    }
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      overflow |= __builtin_mul_overflow(secs, 10, &secs);
      overflow |= negative ? __builtin_sub_overflow(secs, text[i] - '0', &secs)
                           : __builtin_add_overflow(secs, text[i] - '0', &secs);
    }
    int64_t ms = 0;
    overflow |= __builtin_mul_overflow(secs, int64_t{1000}, &ms);
    FUZZ_CHECK(!overflow, where + ": SECONDS * 1000 overflows 64 bits, yet "
                                  "it was accepted");
    FUZZ_CHECK(t == ms, where + fmt::format(", expected {}", ms));
    return 0;
  }
  // An ISO text: no field is negative (the range checks only look at the
  // upper bounds), and our own rendering of the result reads back to it.
  // (Bytes after a NUL are ignored: no command line or file name has one.)
  const std::string_view visible = std::string_view(text).substr(0, text.find('\0'));
  for (size_t i = 0; i < visible.size(); ++i) {
    if (i == 4 || i == 7) continue;  // the date's own '-' separators
    FUZZ_CHECK(visible[i] != '-',
               where + fmt::format(": a negative field (byte {}) was accepted", i));
  }
  if (t >= kMinTime && t <= kMaxTime) {
    auto again = ParseTime(FormatTime(t));
    FUZZ_CHECK(again && *again == t,
               where + ": FormatTime gives '" + FormatTime(t) + "' which reads back as " +
                   (again ? std::to_string(*again) : again.error().message));
  }
  return 0;
}

int FuzzHistoryRender(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  Event e;
  e.seq = in.U64();
  e.time = kMinTime + static_cast<TimeMs>(in.U64() %
                                          static_cast<uint64_t>(kMaxTime - kMinTime + 1));
  e.type = static_cast<EventType>(in.Byte() % 13);
  e.collection = in.Str(64);
  e.alias = in.Str(64);
  const uint8_t flags = in.Byte();
  if (flags & 1) e.old_version = in.U64();
  if (flags & 2) e.new_version = in.U64();
  e.uid = static_cast<uid_t>(in.U64());
  e.user = in.Str(64);
  e.interface = (flags & 4) ? registry::Interface::kFs : registry::Interface::kCli;
  if (flags & 16) e.host = in.Str(64);  // a shared store's event
  // The detail keys the registry writes, with any values; or, like
  // History() does with a stored detail, whatever the text parses to.
  static constexpr const char* kKeys[] = {"to",     "principal", "role",   "tag",
                                          "digest", "size",      "filename",
                                          "previous"};
  if (flags & 8) {
    const nlohmann::json parsed = nlohmann::json::parse(in.Rest(), nullptr, false);
    if (parsed.is_object()) {
      bool clashes = false;
      for (const auto& [key, value] : parsed.items()) {
        clashes |= key == "seq" || key == "time" || key == "event" ||
                   key == "collection" || key == "alias" || key == "old" ||
                   key == "new" || key == "uid" || key == "user" ||
                   key == "interface" || key == "host";
      }
      if (!clashes) e.detail = parsed;
    }
  } else {
    while (!in.empty()) {
      const char* key = kKeys[in.Byte() % 8];
      if (in.Byte() & 1) {
        e.detail[key] = in.U64();
      } else {
        e.detail[key] = in.Str(200);
      }
    }
  }

  const std::string line = registry::RenderJsonLine(e);
  FUZZ_CHECK(line.find('\n') == std::string::npos && line.find('\r') == std::string::npos,
             "a line break inside one JSON line: " + Escape(line));
  nlohmann::json back;
  try {
    back = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& ex) {
    Fail(__FILE__, __LINE__, std::string("not JSON: ") + ex.what() + ": " + Escape(line));
  }
  FUZZ_CHECK(back.is_object(), "not an object: " + Escape(line));
  FUZZ_CHECK(back["seq"].is_number_unsigned() && back["seq"].get<uint64_t>() == e.seq,
             "seq changed: " + Escape(line));
  FUZZ_CHECK(back["time"] == FormatTime(e.time), "time changed: " + Escape(line));
  FUZZ_CHECK(back["event"] == registry::EventTypeName(e.type), "event: " + Escape(line));
  FUZZ_CHECK(back["uid"].get<uint64_t>() == e.uid, "uid: " + Escape(line));
  FUZZ_CHECK(back["interface"] == registry::InterfaceName(e.interface),
             "interface: " + Escape(line));
  CheckField(back, "collection", e.collection, line);
  CheckField(back, "alias", e.alias, line);
  CheckField(back, "user", e.user, line);
  // Only an event with a host has the key (an embedded store's lines stay
  // as they were).
  FUZZ_CHECK(back.contains("host") == !e.host.empty(), "host: " + Escape(line));
  if (!e.host.empty() && IsUtf8(e.host)) {
    FUZZ_CHECK(back["host"] == e.host, "host changed: " + Escape(line));
  }
  for (const auto& [key, version] :
       {std::pair{"old", e.old_version}, std::pair{"new", e.new_version}}) {
    if (version) {
      FUZZ_CHECK(back[key] == registry::VersionName(*version), "version: " + Escape(line));
    } else {
      FUZZ_CHECK(back[key].is_null(), "version not null: " + Escape(line));
    }
  }
  for (const auto& [key, value] : e.detail.items()) {
    FUZZ_CHECK(back.contains(key), "detail key lost: " + key);
  }
  (void)registry::RenderText(e);
  return 0;
}

int FuzzMetadata(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // KEY=VALUE lines, split at the first '=' like `regfs push --meta`.
  registry::Version version;
  version.collection = "models";
  version.number = 3;
  version.digest = "0123456789abcdef0123456789abcdef";
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    const std::string key = line.substr(0, eq);
    if (!registry::ValidateMetaKey(key)) continue;
    version.metadata[key] = line.substr(eq + 1);
  }
  const fs::XattrList list = fs::VersionXattrs(version, {});
  for (const auto& [key, value] : version.metadata) {
    const std::string name = "user.regfs.meta." + key;
    const auto found = fs::FindXattr(list, name);
    // Empty values are left out (fs/xattrs.h).
    FUZZ_CHECK(value.empty() ? !found || found->empty() : found && *found == value,
               "xattr " + name + " lost its value");
    FUZZ_CHECK(name.size() <= 255, "an attribute name over XATTR_NAME_MAX: " + name);
  }
  const std::string names = fs::XattrNames(list);
  FUZZ_CHECK(names.empty() || names.back() == '\0', "listxattr text not NUL-terminated");
  size_t count = 0;
  for (char c : names) count += c == '\0';
  FUZZ_CHECK(count == list.size(), "listxattr names contain NUL");

  // As JSON (`regfs ls --json` dumps with replacement): always valid.
  const nlohmann::json j = version.metadata;
  const std::string dumped = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const nlohmann::json back = nlohmann::json::parse(dumped, nullptr, false);
  FUZZ_CHECK(back.is_object() && back.size() == version.metadata.size(),
             "metadata JSON does not parse back: " + Escape(dumped));
  for (const auto& [key, value] : version.metadata) {
    if (IsUtf8(value)) {
      FUZZ_CHECK(back[key] == value, "metadata value changed in JSON: " + key);
    }
  }

  // A stored history detail is parsed without exceptions and, if it is
  // an object, renders into a valid line.
  const nlohmann::json detail = nlohmann::json::parse(text, nullptr, false);
  Event e;
  e.seq = 1;
  e.type = EventType::kVersionCreate;
  e.collection = "models";
  e.new_version = 3;
  if (detail.is_object() && !detail.contains("seq") && !detail.contains("event")) {
    e.detail = detail;
  }
  const std::string line = registry::RenderJsonLine(e);
  FUZZ_CHECK(!nlohmann::json::parse(line, nullptr, false).is_discarded(),
             "history line with this detail is not JSON: " + Escape(line));
  return 0;
}

}  // namespace regfs::fuzz
