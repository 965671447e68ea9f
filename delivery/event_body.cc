#include "delivery/event_body.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "registry/model_json.h"
#include "registry/names.h"

namespace regfs::delivery {

namespace reg = regfs::registry;

std::string DeliveryId(std::string_view automation, uint64_t seq) {
  return fmt::format("{}:{}", automation, seq);
}

std::string EventJson(std::string_view automation, const reg::Event& event) {
  // ToJson keeps the keys in history's order; the two additions go last.
  reg::OrderedJson j = reg::ToJson(event);
  j["automation"] = automation;
  j["delivery_id"] = DeliveryId(automation, event.seq);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

std::string VersionOr(const std::optional<uint64_t>& v, std::string_view none) {
  return v ? reg::VersionName(*v) : std::string(none);
}

}  // namespace

std::string SlackJson(const reg::Event& event) {
  const std::string where =
      event.alias.empty() ? event.collection
                          : fmt::format("{}/{}", event.collection, event.alias);
  std::string text;
  switch (event.type) {
    case reg::EventType::kAliasCreate:
    case reg::EventType::kAliasMove:
    case reg::EventType::kAliasRemove:
      text = fmt::format("{}: {} → {} by {}", where,
                         VersionOr(event.old_version, "(none)"),
                         VersionOr(event.new_version, "(removed)"), event.user);
      break;
    case reg::EventType::kAliasRename:
      text = fmt::format("{}: renamed to {} by {}", where, event.renamed_to,
                         event.user);
      break;
    default: {
      std::string versions;
      if (event.old_version || event.new_version) {
        versions = fmt::format(" {} → {}", VersionOr(event.old_version, "-"),
                               VersionOr(event.new_version, "-"));
      }
      text = fmt::format("{} {}{} by {}", reg::EventTypeName(event.type),
                         where.empty() ? "(registry)" : where, versions,
                         event.user);
    }
  }
  nlohmann::json j;
  j["text"] = text;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::pair<std::string, std::string>> EventEnvironment(
    std::string_view automation, const reg::Event& event) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"REGFS_AUTOMATION", std::string(automation)},
      {"REGFS_DELIVERY_ID", DeliveryId(automation, event.seq)},
      {"REGFS_EVENT_SEQ", std::to_string(event.seq)},
      {"REGFS_EVENT_KIND", std::string(reg::EventTypeName(event.type))},
      {"REGFS_EVENT_TIME", reg::FormatTime(event.time)},
      {"REGFS_EVENT_COLLECTION", event.collection},
      {"REGFS_EVENT_ALIAS", event.alias},
      {"REGFS_EVENT_OLD", VersionOr(event.old_version, "")},
      {"REGFS_EVENT_NEW", VersionOr(event.new_version, "")},
      // The version the event is about: the new one, else the old one.
      {"REGFS_EVENT_VERSION",
       VersionOr(event.new_version ? event.new_version : event.old_version,
                 "")},
      {"REGFS_EVENT_USER", event.user},
      {"REGFS_EVENT_UID", std::to_string(event.uid)},
      {"REGFS_EVENT_INTERFACE", std::string(reg::InterfaceName(event.interface))},
      {"REGFS_EVENT_TO", event.renamed_to},
  };
  return env;
}

reg::Event SampleEvent(const reg::AutomationSpec& spec) {
  reg::Event e;
  e.seq = 0;  // no such event: receivers can tell a test apart
  e.time = reg::NowMs();
  e.type = spec.events.empty() ? reg::EventType::kAliasMove : spec.events[0];
  e.collection = spec.collection.empty() ? "models" : spec.collection;
  e.alias = spec.alias.empty() ? "production" : spec.alias;
  e.old_version = 1;
  e.new_version = 2;
  e.user = "regfs-test";
  e.interface = reg::Interface::kCli;
  return e;
}

}  // namespace regfs::delivery
