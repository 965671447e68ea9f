// The wire forms of automations and their delivery log (issue 16), as
// registry/model_json.h's: what the mount's control file (.regfs/ctl)
// speaks between the daemon and `regfs automation ... --store MOUNTPOINT`.
// Times are milliseconds, so that a value reads back exactly and the CLI
// prints the same through a mount as on the store directory. Each
// *FromJson is InvalidArgument naming a missing or mistyped value.
#ifndef REGFS_REGISTRY_AUTOMATIONS_JSON_H_
#define REGFS_REGISTRY_AUTOMATIONS_JSON_H_

#include "registry/automations.h"
#include "registry/error.h"
#include "registry/model_json.h"

namespace regfs::registry {

// What an admin asks for: {"name","on":[kinds],"collection","alias",
// "webhook","secret_file","format","exec"}. Whom a command runs as is not
// part of it: the registry takes that from the caller.
OrderedJson ToJson(const AutomationSpec& spec);
Result<AutomationSpec> AutomationSpecFromJson(const OrderedJson& json);

// The spec's keys plus "run_as":{"uid","gid","user"}, "position",
// "created_ms", "created_by".
OrderedJson ToJson(const Automation& automation);
Result<Automation> AutomationFromJson(const OrderedJson& json);

// {"automation","seq","attempt","time_ms","outcome","status" (null for
// none),"latency_ms","message"}.
OrderedJson ToJson(const DeliveryRecord& record);
Result<DeliveryRecord> DeliveryRecordFromJson(const OrderedJson& json);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_AUTOMATIONS_JSON_H_
