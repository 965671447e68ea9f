#include "registry/automations_json.h"

#include <fmt/format.h>

#include <string>
#include <utility>

#include "registry/json_read.h"

namespace regfs::registry {
OrderedJson ToJson(const AutomationSpec& spec) {
  OrderedJson j;
  j["name"] = spec.name;
  j["on"] = OrderedJson::array();
  for (const auto e : spec.events) j["on"].push_back(EventTypeName(e));
  j["collection"] = spec.collection;
  j["alias"] = spec.alias;
  j["webhook"] = spec.target.url;
  j["secret_file"] = spec.target.secret_file;
  j["format"] = AutomationFormatName(spec.target.format);
  j["exec"] = spec.target.exec;
  return j;
}

Result<AutomationSpec> AutomationSpecFromJson(const OrderedJson& json) {
  return Guarded<AutomationSpec>(
      "automation", json, [&]() -> Result<AutomationSpec> {
        AutomationSpec spec;
        spec.name = json.at("name").get<std::string>();
        for (const auto& kind : json.at("on")) {
          const auto type = ParseEventType(kind.get<std::string>());
          if (!type) {
            return Fail(Code::kInvalidArgument,
                        fmt::format("unknown event kind '{}'",
                                    kind.get<std::string>()));
          }
          spec.events.push_back(*type);
        }
        spec.collection = StringOr(json, "collection");
        spec.alias = StringOr(json, "alias");
        spec.target.url = StringOr(json, "webhook");
        spec.target.secret_file = StringOr(json, "secret_file");
        const std::string format = StringOr(json, "format");
        REGFS_ASSIGN_OR_RETURN(
            spec.target.format,
            ParseAutomationFormat(format.empty() ? "json" : format));
        spec.target.exec = StringOr(json, "exec");
        return spec;
      });
}

OrderedJson ToJson(const Automation& automation) {
  OrderedJson j = ToJson(automation.spec);
  const AutomationTarget& t = automation.spec.target;
  j["run_as"] = {{"uid", t.uid}, {"gid", t.gid}, {"user", t.user}};
  j["position"] = automation.position;
  j["created_ms"] = automation.created_ms;
  j["created_by"] = automation.created_by;
  return j;
}

Result<Automation> AutomationFromJson(const OrderedJson& json) {
  REGFS_ASSIGN_OR_RETURN(AutomationSpec spec, AutomationSpecFromJson(json));
  return Guarded<Automation>("automation", json, [&]() -> Result<Automation> {
    Automation a;
    a.spec = std::move(spec);
    const OrderedJson& run_as = json.at("run_as");
    a.spec.target.uid = run_as.at("uid").get<uid_t>();
    a.spec.target.gid = run_as.at("gid").get<gid_t>();
    a.spec.target.user = run_as.at("user").get<std::string>();
    a.position = json.at("position").get<uint64_t>();
    a.created_ms = json.at("created_ms").get<TimeMs>();
    a.created_by = json.at("created_by").get<std::string>();
    return a;
  });
}

OrderedJson ToJson(const DeliveryRecord& record) {
  OrderedJson j;
  j["automation"] = record.automation;
  j["seq"] = record.seq;
  j["attempt"] = record.attempt;
  j["time_ms"] = record.time;
  j["outcome"] = DeliveryOutcomeName(record.outcome);
  j["status"] = record.status ? OrderedJson(*record.status) : OrderedJson();
  j["latency_ms"] = record.latency_ms;
  j["message"] = record.message;
  return j;
}

Result<DeliveryRecord> DeliveryRecordFromJson(const OrderedJson& json) {
  return Guarded<DeliveryRecord>(
      "delivery", json, [&]() -> Result<DeliveryRecord> {
        DeliveryRecord r;
        r.automation = json.at("automation").get<std::string>();
        r.seq = json.at("seq").get<uint64_t>();
        r.attempt = json.at("attempt").get<int>();
        r.time = json.at("time_ms").get<TimeMs>();
        REGFS_ASSIGN_OR_RETURN(
            r.outcome,
            ParseDeliveryOutcome(json.at("outcome").get<std::string>()));
        if (!json.at("status").is_null()) {
          r.status = json.at("status").get<int64_t>();
        }
        r.latency_ms = json.at("latency_ms").get<int64_t>();
        r.message = json.at("message").get<std::string>();
        return r;
      });
}

}  // namespace regfs::registry
