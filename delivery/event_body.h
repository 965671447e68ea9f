// What is delivered for an event: the JSON body (the history row as
// `regfs history --json` prints it, plus the automation and the delivery
// id), Slack's form of it, and the environment of a command.
#ifndef REGFS_DELIVERY_EVENT_BODY_H_
#define REGFS_DELIVERY_EVENT_BODY_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/automations.h"
#include "registry/history.h"

namespace regfs::delivery {

// "<automation>:<seq>": the same for every attempt at one event, so that
// receivers can drop duplicates.
std::string DeliveryId(std::string_view automation, uint64_t seq);

// The history row's JSON line with "automation" and "delivery_id" added.
std::string EventJson(std::string_view automation,
                      const registry::Event& event);

// {"text": "models/production: v1 → v2 by alice"}.
std::string SlackJson(const registry::Event& event);

// REGFS_EVENT_SEQ, _KIND, _COLLECTION, _ALIAS, _OLD, _NEW, _VERSION,
// _USER, _UID, _TIME, _INTERFACE, _TO, plus REGFS_AUTOMATION and
// REGFS_DELIVERY_ID: NAME=VALUE pairs.
std::vector<std::pair<std::string, std::string>> EventEnvironment(
    std::string_view automation, const registry::Event& event);

// A made-up alias.move for `automation test`.
registry::Event SampleEvent(const registry::AutomationSpec& spec);

}  // namespace regfs::delivery

#endif  // REGFS_DELIVERY_EVENT_BODY_H_
