// Commands on automations (issue 16): automation add, ls, rm, test, log
// and run (the deliverer in the foreground). All but run work through a
// mount too, for its admins (the control file's automation_* ops); run
// needs the store directory (Store::Direct says so through a mount).
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "delivery/deliverer.h"
#include "delivery/event_body.h"
#include "registry/automations.h"
#include "registry/registry.h"
#include "tools/actions.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;
using std::chrono::milliseconds;

std::string TargetText(const reg::AutomationTarget& t) {
  if (!t.exec.empty()) return fmt::format("exec as {}: {}", t.user, t.exec);
  std::string text = fmt::format("webhook {}", t.url);
  if (t.format != reg::AutomationFormat::kJson) {
    text += fmt::format(" ({})", reg::AutomationFormatName(t.format));
  }
  if (!t.secret_file.empty()) text += ", signed";
  return text;
}

Json AutomationJson(const reg::Automation& a) {
  const reg::AutomationTarget& t = a.spec.target;
  Json j;
  j["name"] = a.spec.name;
  j["on"] = Json::array();
  for (const auto e : a.spec.events) j["on"].push_back(reg::EventTypeName(e));
  j["collection"] = a.spec.collection.empty() ? Json() : Json(a.spec.collection);
  j["alias"] = a.spec.alias.empty() ? Json() : Json(a.spec.alias);
  if (t.exec.empty()) {
    j["webhook"] = t.url;
    j["format"] = reg::AutomationFormatName(t.format);
    j["secret_file"] = t.secret_file.empty() ? Json() : Json(t.secret_file);
  } else {
    j["exec"] = t.exec;
    j["run_as"] = {{"uid", t.uid}, {"gid", t.gid}, {"user", t.user}};
  }
  j["position"] = a.position;
  j["created"] = reg::FormatTime(a.created_ms);
  j["created_by"] = a.created_by;
  return j;
}

Json DeliveryJson(const reg::DeliveryRecord& d) {
  Json j;
  j["time"] = reg::FormatTime(d.time);
  j["automation"] = d.automation;
  j["seq"] = d.seq;
  j["delivery_id"] = delivery::DeliveryId(d.automation, d.seq);
  j["attempt"] = d.attempt;
  j["outcome"] = reg::DeliveryOutcomeName(d.outcome);
  j["status"] = d.status ? Json(*d.status) : Json();
  j["latency_ms"] = d.latency_ms;
  j["message"] = d.message;
  return j;
}

delivery::DelivererOptions Tuning(const AutomationArgs& a) {
  delivery::DelivererOptions o;
  o.poll = milliseconds(a.poll_ms);
  o.lease_ttl = milliseconds(a.lease_ms);
  o.retry_base = milliseconds(a.retry_base_ms);
  o.exec_timeout = milliseconds(a.exec_timeout_ms);
  return o;
}

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }

}  // namespace

reg::Status PrepareAutomationAdd(AutomationArgs& a) {
  reg::AutomationSpec& s = a.spec;
  s.name = a.name;
  REGFS_ASSIGN_OR_RETURN(s.events, reg::ParseEventList(a.on));
  s.collection = a.collection;
  s.alias = a.alias;
  s.target.url = a.webhook;
  // Absolute: the deliverer (or a mount's daemon) reads it elsewhere.
  if (!a.secret_file.empty()) {
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(a.secret_file, ec);
    s.target.secret_file = ec ? a.secret_file : absolute.string();
  }
  s.target.exec = a.exec;
  REGFS_ASSIGN_OR_RETURN(s.target.format, reg::ParseAutomationFormat(a.format));
  return reg::ValidateAutomationSpec(s);
}

reg::Status RunAutomationAdd(Context&, Store& store, const AutomationArgs& a) {
  REGFS_ASSIGN_OR_RETURN(const reg::Automation added,
                         store.AddAutomation(a.spec));
  fmt::print("added automation {} on {}: {}\n", added.spec.name,
             reg::JoinEventNames(added.spec.events),
             TargetText(added.spec.target));
  return {};
}

reg::Status RunAutomationLs(Context&, Store& store, const AutomationArgs& a) {
  REGFS_ASSIGN_OR_RETURN(const auto list, store.ListAutomations());
  if (a.json) {
    Json array = Json::array();
    for (const auto& item : list) array.push_back(AutomationJson(item));
    PrintJson(array);
    return {};
  }
  Table table({"NAME", "ON", "COLLECTION", "ALIAS", "TARGET", "POSITION"});
  for (const auto& item : list) {
    table.AddRow({item.spec.name, reg::JoinEventNames(item.spec.events),
                  item.spec.collection.empty() ? "*" : item.spec.collection,
                  item.spec.alias.empty() ? "*" : item.spec.alias,
                  TargetText(item.spec.target), std::to_string(item.position)});
  }
  table.Print(stdout);
  return {};
}

reg::Status RunAutomationRm(Context&, Store& store, const AutomationArgs& a) {
  REGFS_TRY(store.RemoveAutomation(a.name));
  fmt::print("removed automation {}\n", a.name);
  return {};
}

reg::Status RunAutomationTest(Context&, Store& store, const AutomationArgs& a) {
  REGFS_ASSIGN_OR_RETURN(
      const reg::DeliveryRecord done,
      store.TestAutomation(a.name, milliseconds(a.exec_timeout_ms)));
  const std::string status =
      done.status ? fmt::format(" (status {})", *done.status) : "";
  if (done.outcome != reg::DeliveryOutcome::kOk) {
    return reg::Fail(reg::Code::kIoError,
                     fmt::format("automation {}: delivery failed{} after {} "
                                 "ms: {}",
                                 a.name, status, done.latency_ms, done.message));
  }
  fmt::print("automation {}: delivered{} in {} ms\n", a.name, status,
             done.latency_ms);
  return {};
}

reg::Status RunAutomationLog(Context&, Store& store, const AutomationArgs& a) {
  REGFS_ASSIGN_OR_RETURN(const auto log, store.DeliveryLog(a.name, a.limit));
  if (a.json) {
    Json array = Json::array();
    for (const auto& d : log) array.push_back(DeliveryJson(d));
    PrintJson(array);
    return {};
  }
  Table table({"TIME", "AUTOMATION", "SEQ", "ATTEMPT", "OUTCOME", "STATUS",
               "LATENCY", "MESSAGE"});
  for (const auto& d : log) {
    std::string message = d.message.substr(0, 60);
    for (char& c : message) c = (c == '\n' || c == '\r') ? ' ' : c;
    table.AddRow({reg::FormatTime(d.time), d.automation, std::to_string(d.seq),
                  std::to_string(d.attempt),
                  std::string(reg::DeliveryOutcomeName(d.outcome)),
                  d.status ? std::to_string(*d.status) : "-",
                  fmt::format("{} ms", d.latency_ms), message});
  }
  table.Print(stdout);
  return {};
}

reg::Status RunAutomationRun(Context& ctx, reg::Registry& r, const AutomationArgs& a) {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // A command that exits without reading its stdin must not kill us.
  signal(SIGPIPE, SIG_IGN);
  // Refused early, with the registry's own message, for a non-admin.
  REGFS_TRY(r.ListAutomations(ctx.identity()));
  delivery::Deliverer deliverer(r, ctx.identity(), Tuning(a));
  // Listening wakes the deliverer (Registry::ObserveChanges) at every
  // change announced by this machine's processes and, on a shared store,
  // made on other machines; without, it finds them by polling.
  auto here = r.Listen([](uint64_t) {});
  if (!here) {
    spdlog::warn("changes will be delivered within {} ms, not at once: {}",
                 a.poll_ms, here.error().message);
  }
  auto others = r.ListenToOtherNodes([](uint64_t) {});
  if (!others) {
    spdlog::warn("changes made on other machines will be delivered within "
                 "{} ms, not at once: {}",
                 a.poll_ms, others.error().message);
  }
  return deliverer.Run(g_stop);
}

}  // namespace regfs::tools
