// Automations (issue 16): what an automation is, its deliveries' log, and
// the checks on what an admin gives when adding one. The registry stores
// them and their positions in the history; delivering (HTTP, commands)
// is delivery/'s, which the registry does not depend on.
#ifndef REGFS_REGISTRY_AUTOMATIONS_H_
#define REGFS_REGISTRY_AUTOMATIONS_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/history.h"
#include "registry/model.h"

namespace regfs::registry {

enum class AutomationFormat { kJson, kSlack };
std::string_view AutomationFormatName(AutomationFormat format);
Result<AutomationFormat> ParseAutomationFormat(std::string_view name);

// Where an automation delivers: a webhook (url set) or a command (exec
// set), never both.
struct AutomationTarget {
  std::string url;
  std::string secret_file;  // webhook: empty for unsigned deliveries
  AutomationFormat format = AutomationFormat::kJson;
  std::string exec;  // a /bin/sh -c command
  // A command runs as the admin who added the automation.
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;
};

// What an admin asks for (Registry::AddAutomation).
struct AutomationSpec {
  std::string name;
  std::vector<EventType> events;  // at least one
  std::string collection;         // empty: every collection
  std::string alias;              // empty: any alias (or none)
  AutomationTarget target;
};

struct Automation {
  AutomationSpec spec;
  // The last history seq it is done with (delivered, failed for good, or
  // not its kind); starts at the history's end when it is added.
  uint64_t position = 0;
  TimeMs created_ms = 0;
  std::string created_by;
};

enum class DeliveryOutcome { kOk, kRetry, kFailed };
std::string_view DeliveryOutcomeName(DeliveryOutcome outcome);
// The outcome DeliveryOutcomeName gives `name`; kFailed for any other.
DeliveryOutcome DeliveryOutcomeNamed(std::string_view name);
// The outcome DeliveryOutcomeName gives `name`; InvalidArgument for any
// other.
Result<DeliveryOutcome> ParseDeliveryOutcome(std::string_view name);

// One attempt at delivering one event: a row of the delivery log.
struct DeliveryRecord {
  std::string automation;
  uint64_t seq = 0;
  int attempt = 1;  // 1 for the first
  TimeMs time = 0;
  DeliveryOutcome outcome = DeliveryOutcome::kOk;
  // The HTTP status, or the command's exit status (128 + signal when
  // killed); nullopt when there was none (no connection, no fork).
  std::optional<int64_t> status;
  int64_t latency_ms = 0;
  std::string message;  // curl's error, the command's output, ...
};

// The checks of AddAutomation that need no store: the name, at least one
// event, exactly one target, an http(s) URL, a readable secret file.
// InvalidArgument naming what is wrong.
[[nodiscard]] Status ValidateAutomationSpec(const AutomationSpec& spec);
// "alias.move,version.create" -> the kinds; InvalidArgument naming an
// unknown one and listing the known ones.
[[nodiscard]] Result<std::vector<EventType>> ParseEventList(
    std::string_view list);
std::string JoinEventNames(const std::vector<EventType>& events);

// Whether `event` is one `spec` wants: its kind, collection and alias (an
// alias filter also matches a rename's new name).
bool AutomationMatches(const AutomationSpec& spec, const Event& event);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_AUTOMATIONS_H_
