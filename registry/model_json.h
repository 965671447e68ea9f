// The JSON forms of the registry's values: the one codec that `regfs
// --json` prints, the mount's history files render, and the mount's
// control file (.regfs/ctl) speaks between the daemon and `regfs --store
// MOUNTPOINT`.
//
// ToJson gives the public form (what `--json` prints: versions named "v2",
// times as FormatTime strings). With Form::kWire it adds the ids that a
// client needs to ask further (Version::id, Alias::version_id, ...).
// Each *FromJson reads either form back; a value missing or of the wrong
// type is InvalidArgument naming it. Nothing here throws.
#ifndef REGFS_REGISTRY_MODEL_JSON_H_
#define REGFS_REGISTRY_MODEL_JSON_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "registry/automations.h"
#include "registry/error.h"
#include "registry/history.h"
#include "registry/model.h"
#include "registry/search.h"
#include "registry/whoami.h"

namespace regfs::registry {

// Keys keep their insertion order, so that output reads naturally.
using OrderedJson = nlohmann::ordered_json;

enum class JsonForm { kPublic, kWire };

OrderedJson ToJson(const Collection& collection,
                   JsonForm form = JsonForm::kPublic);
OrderedJson ToJson(const Version& version, JsonForm form = JsonForm::kPublic);
OrderedJson ToJson(const Alias& alias, JsonForm form = JsonForm::kPublic);
OrderedJson ToJson(const RoleGrant& grant);
OrderedJson ToJson(const ProtectedName& name);
OrderedJson ToJson(const TreeEntry& entry);
OrderedJson ToJson(const HistoryFilter& filter);
OrderedJson ToJson(const WhoAmI& whoami);
// As `regfs history --json` and the history files show it (RenderJsonLine):
// {"seq","time","event","collection","alias","old","new","uid","user",
//  "interface"} plus the detail's keys.
OrderedJson ToJson(const Event& event);

// Registry::Search's results, as `regfs search --json` prints them and
// the control file's "search" op replies:
// {"term","limit","groups":[{"field":"alias","hits":[{"collection",
//  "version" ("v3" or null),"aliases":[..],"text"} (metadata hits also
//  "key")],"more":N}, ...]}.
OrderedJson ToJson(const SearchResults& results);

Result<Collection> CollectionFromJson(const OrderedJson& json);
Result<Version> VersionFromJson(const OrderedJson& json);
Result<Alias> AliasFromJson(const OrderedJson& json);
Result<RoleGrant> RoleGrantFromJson(const OrderedJson& json);
Result<ProtectedName> ProtectedNameFromJson(const OrderedJson& json);
Result<TreeEntry> TreeEntryFromJson(const OrderedJson& json);
Result<HistoryFilter> HistoryFilterFromJson(const OrderedJson& json);
Result<WhoAmI> WhoAmIFromJson(const OrderedJson& json);
Result<Event> EventFromJson(const OrderedJson& json);
Result<SearchResults> SearchResultsFromJson(const OrderedJson& json);

// Automations and their delivery log (issue 16), as the control file
// speaks them between the daemon and `regfs automation ... --store
// MOUNTPOINT`. Times are milliseconds, so that a value reads back exactly
// and the CLI prints the same through a mount as on the store directory.
//
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

// A refusal or failure as the control file replies it:
// {"code":"not_permitted","error":"<the message>"}; the code is CodeName's
// with '_' for ' '.
OrderedJson ToJson(const Error& error);
Result<Error> ErrorFromJson(const OrderedJson& json);

// "file", "tree", "empty" -> Kind.
Result<Kind> ParseKind(std::string_view name);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_MODEL_JSON_H_
