#include "registry/automations.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>

#include "registry/names.h"
#include "registry/secret_file.h"

namespace regfs::registry {
namespace {

// An http:// or https:// URL with a host and no whitespace or control
// characters (libcurl would read those otherwise).
Status ValidateUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return Fail(Code::kInvalidArgument,
                fmt::format("bad webhook URL '{}': {}", url, why));
  };
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return bad("it must start with http:// or https://");
  }
  for (unsigned char c : url) {
    if (c <= ' ' || c == 0x7f) return bad("it has a space or control character");
  }
  const std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.front() == ':' || host.front() == '@') {
    return bad("it has no host");
  }
  return {};
}

}  // namespace

Result<std::vector<EventType>> ParseEventList(std::string_view list) {
  std::vector<EventType> events;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view name = list.substr(start, comma - start);
    start = comma + 1;
    if (name.empty()) continue;
    const auto type = ParseEventType(name);
    if (!type) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("unknown event kind '{}': use one of {}", name,
                              fmt::join(EventTypeNames(), ", ")));
    }
    if (std::find(events.begin(), events.end(), *type) == events.end()) {
      events.push_back(*type);
    }
  }
  return events;
}

std::string JoinEventNames(const std::vector<EventType>& events) {
  std::string out;
  for (const EventType e : events) {
    if (!out.empty()) out += ',';
    out += EventTypeName(e);
  }
  return out;
}

Status ValidateAutomationSpec(const AutomationSpec& spec) {
  const uid_t self = ::geteuid();
  return ValidateAutomationSpec(
      spec, SecretReader{.uid = self, .gid = ::getegid(), .user = UserName(self)});
}

Status ValidateAutomationSpec(const AutomationSpec& spec,
                              const SecretReader& secret_reader) {
  REGFS_TRY(ValidateName(spec.name, "automation"));
  if (spec.events.empty()) {
    return Fail(Code::kInvalidArgument,
                "an automation needs at least one event kind (--on)");
  }
  if (!spec.collection.empty()) {
    REGFS_TRY(ValidateCollectionName(spec.collection));
  }
  if (!spec.alias.empty()) REGFS_TRY(ValidateName(spec.alias, "alias"));
  const AutomationTarget& t = spec.target;
  if (t.url.empty() == t.exec.empty()) {
    return Fail(Code::kInvalidArgument,
                "an automation needs exactly one of a webhook URL and a "
                "command");
  }
  if (!t.url.empty()) {
    REGFS_TRY(ValidateUrl(t.url));
    if (t.secret_file.empty()) return {};
    // Relative to what? The deliverer runs elsewhere, later.
    if (t.secret_file.front() != '/') {
      return Fail(Code::kInvalidArgument,
                  fmt::format("secret file '{}' is not an absolute path",
                              t.secret_file));
    }
    // Read now as the adder: refusing an unreadable one saves a day of
    // failed retries, and through a mount (a daemon running as root) it
    // keeps an admin from signing with a file they cannot read.
    REGFS_TRY(ReadSecretFile(t.secret_file, secret_reader));
    return {};
  }
  if (!t.secret_file.empty() || t.format != AutomationFormat::kJson) {
    return Fail(Code::kInvalidArgument,
                "a secret file and a format are for webhooks, not commands");
  }
  if (t.exec.find('\0') != std::string::npos) {
    return Fail(Code::kInvalidArgument, "the command has a NUL byte");
  }
  return {};
}

bool AutomationMatches(const AutomationSpec& spec, const Event& event) {
  if (std::find(spec.events.begin(), spec.events.end(), event.type) ==
      spec.events.end()) {
    return false;
  }
  if (!spec.collection.empty() && event.collection != spec.collection) {
    return false;
  }
  if (!spec.alias.empty() && event.alias != spec.alias &&
      event.renamed_to != spec.alias) {
    return false;
  }
  return true;
}

}  // namespace regfs::registry
