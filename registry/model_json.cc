#include "registry/model_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/names.h"

namespace regfs::registry {
namespace {

// Runs `read`, which may throw nlohmann's exceptions on a missing key or a
// wrong type, and turns them into InvalidArgument naming `what`.
template <class T, class Read>
Result<T> Guarded(std::string_view what, const OrderedJson& json, Read read) {
  if (!json.is_object()) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} is not a JSON object", what));
  }
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    return Fail(Code::kInvalidArgument,
                fmt::format("malformed {}: {}", what, e.what()));
  }
}

// The string at `key`, or "" when it is absent or null; throws (for
// Guarded) when it is of another type.
std::string StringOr(const OrderedJson& json, const char* key) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return {};
  return it->get<std::string>();
}

// The number at `key`, or `fallback` when it is absent or null; throws
// (for Guarded) when it is of another type.
template <class T>
T NumberOr(const OrderedJson& json, const char* key, T fallback = T{}) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  return it->get<T>();
}

OrderedJson VersionOrNull(const std::optional<uint64_t>& v) {
  if (!v) return nullptr;
  return VersionName(*v);
}

OrderedJson OrNull(const std::string& s) {
  if (s.empty()) return nullptr;
  return s;
}

// The keys of an event's JSON that are not its detail.
constexpr std::array<std::string_view, 11> kEventKeys = {
    "seq", "time", "event", "collection", "alias",    "old",
    "new", "uid",  "user",  "interface",  "host"};

// "v2" or null -> 2 or nullopt; InvalidArgument for anything else.
Result<std::optional<uint64_t>> VersionNumberOr(const OrderedJson& json,
                                                const char* key) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return std::optional<uint64_t>();
  auto number = ParseVersionName(it->get<std::string>());
  if (!number) {
    return Fail(Code::kInvalidArgument,
                fmt::format("'{}' is not a version name", key));
  }
  return std::optional<uint64_t>(*number);
}

Result<TimeMs> TimeOf(const OrderedJson& json, const char* key) {
  const std::string text = StringOr(json, key);
  if (text.empty()) return TimeMs{0};
  return ParseTime(text);
}

Result<Role> RoleOf(const OrderedJson& json) {
  return ParseRole(json.at("role").get<std::string>());
}

}  // namespace

OrderedJson ToJson(const Collection& c, JsonForm form) {
  OrderedJson j;
  j["name"] = c.name;
  j["kind"] = KindName(c.kind);
  j["versions"] = c.version_count;
  j["aliases"] = c.alias_count;
  j["latest"] = VersionOrNull(c.latest);
  j["created"] = FormatTime(c.created);
  j["creator"] = c.creator;
  j["creator_uid"] = c.creator_uid;
  if (form == JsonForm::kWire) {
    j["id"] = c.id;
    j["next"] = c.next_number;
  }
  return j;
}

Result<Collection> CollectionFromJson(const OrderedJson& j) {
  return Guarded<Collection>("collection", j, [&]() -> Result<Collection> {
    Collection c;
    c.id = NumberOr<int64_t>(j, "id");
    c.name = j.at("name").get<std::string>();
    REGFS_ASSIGN_OR_RETURN(c.kind, ParseKind(j.at("kind").get<std::string>()));
    c.version_count = NumberOr<uint64_t>(j, "versions");
    c.alias_count = NumberOr<uint64_t>(j, "aliases");
    REGFS_ASSIGN_OR_RETURN(c.latest, VersionNumberOr(j, "latest"));
    REGFS_ASSIGN_OR_RETURN(c.created, TimeOf(j, "created"));
    c.creator = StringOr(j, "creator");
    c.creator_uid = NumberOr<uid_t>(j, "creator_uid");
    c.next_number = NumberOr<uint64_t>(j, "next", 1);
    return c;
  });
}

OrderedJson ToJson(const Version& v, JsonForm form) {
  OrderedJson j;
  j["collection"] = v.collection;
  j["version"] = VersionName(v.number);
  j["number"] = v.number;
  j["kind"] = KindName(v.kind);
  j["size"] = v.size;
  j["files"] = v.files;
  j["digest"] = v.digest;
  j["blob"] = OrNull(v.blob);
  j["filename"] = v.filename;
  j["created"] = FormatTime(v.created);
  j["creator"] = v.creator;
  j["creator_uid"] = v.creator_uid;
  j["description"] = v.description;
  j["metadata"] = v.metadata;
  j["tags"] = v.tags;
  j["aliases"] = v.aliases;
  if (form == JsonForm::kWire) {
    j["id"] = v.id;
    j["collection_id"] = v.collection_id;
    j["created_seq"] = v.created_seq;
  }
  return j;
}

Result<Version> VersionFromJson(const OrderedJson& j) {
  return Guarded<Version>("version", j, [&]() -> Result<Version> {
    Version v;
    v.id = NumberOr<int64_t>(j, "id");
    v.collection_id = NumberOr<int64_t>(j, "collection_id");
    v.created_seq = NumberOr<uint64_t>(j, "created_seq");
    v.collection = j.at("collection").get<std::string>();
    v.number = j.at("number").get<uint64_t>();
    REGFS_ASSIGN_OR_RETURN(v.kind, ParseKind(j.at("kind").get<std::string>()));
    v.size = NumberOr<uint64_t>(j, "size");
    v.files = NumberOr<uint64_t>(j, "files", 1);
    v.digest = StringOr(j, "digest");
    v.blob = StringOr(j, "blob");
    v.filename = StringOr(j, "filename");
    REGFS_ASSIGN_OR_RETURN(v.created, TimeOf(j, "created"));
    v.creator = StringOr(j, "creator");
    v.creator_uid = NumberOr<uid_t>(j, "creator_uid");
    v.description = StringOr(j, "description");
    if (j.contains("metadata")) {
      v.metadata = j.at("metadata").get<std::map<std::string, std::string>>();
    }
    if (j.contains("tags")) {
      v.tags = j.at("tags").get<std::vector<std::string>>();
    }
    if (j.contains("aliases")) {
      v.aliases = j.at("aliases").get<std::vector<std::string>>();
    }
    return v;
  });
}

OrderedJson ToJson(const Alias& a, JsonForm form) {
  OrderedJson j;
  j["collection"] = a.collection;
  j["alias"] = a.name;
  j["version"] = VersionName(a.version);
  j["protected"] = a.is_protected;
  j["latest"] = a.is_latest;
  j["updated"] = FormatTime(a.updated);
  j["updated_by"] = a.updated_by;
  j["updated_uid"] = a.updated_uid;
  if (form == JsonForm::kWire) {
    j["id"] = a.id;
    j["version_id"] = a.version_id;
    j["revision"] = a.revision;
  }
  return j;
}

Result<Alias> AliasFromJson(const OrderedJson& j) {
  return Guarded<Alias>("alias", j, [&]() -> Result<Alias> {
    Alias a;
    a.id = NumberOr<int64_t>(j, "id");
    a.version_id = NumberOr<int64_t>(j, "version_id");
    a.revision = NumberOr<uint64_t>(j, "revision");
    a.collection = j.at("collection").get<std::string>();
    a.name = j.at("alias").get<std::string>();
    REGFS_ASSIGN_OR_RETURN(auto number, VersionNumberOr(j, "version"));
    a.version = number.value_or(0);
    a.is_protected = NumberOr<bool>(j, "protected");
    a.is_latest = NumberOr<bool>(j, "latest");
    REGFS_ASSIGN_OR_RETURN(a.updated, TimeOf(j, "updated"));
    a.updated_by = StringOr(j, "updated_by");
    a.updated_uid = NumberOr<uid_t>(j, "updated_uid");
    return a;
  });
}

OrderedJson ToJson(const RoleGrant& grant) {
  OrderedJson j;
  j["principal"] = grant.principal;
  j["role"] = RoleName(grant.role);
  return j;
}

Result<RoleGrant> RoleGrantFromJson(const OrderedJson& j) {
  return Guarded<RoleGrant>("role grant", j, [&]() -> Result<RoleGrant> {
    RoleGrant grant;
    grant.principal = j.at("principal").get<std::string>();
    REGFS_ASSIGN_OR_RETURN(grant.role, RoleOf(j));
    return grant;
  });
}

OrderedJson ToJson(const ProtectedName& name) {
  OrderedJson j;
  j["name"] = name.name;
  j["created"] = FormatTime(name.created);
  j["created_by"] = name.created_by;
  return j;
}

Result<ProtectedName> ProtectedNameFromJson(const OrderedJson& j) {
  return Guarded<ProtectedName>(
      "protected name", j, [&]() -> Result<ProtectedName> {
        ProtectedName name;
        name.name = j.at("name").get<std::string>();
        REGFS_ASSIGN_OR_RETURN(name.created, TimeOf(j, "created"));
        name.created_by = StringOr(j, "created_by");
        return name;
      });
}

OrderedJson ToJson(const TreeEntry& e) {
  OrderedJson j;
  j["id"] = e.id;
  j["version_id"] = e.version_id;
  j["parent_id"] = e.parent_id;
  j["name"] = e.name;
  j["is_dir"] = e.is_dir;
  j["executable"] = e.executable;
  j["size"] = e.size;
  j["blob"] = e.blob;
  j["digest"] = e.digest;
  return j;
}

Result<TreeEntry> TreeEntryFromJson(const OrderedJson& j) {
  return Guarded<TreeEntry>("tree entry", j, [&]() -> Result<TreeEntry> {
    TreeEntry e;
    e.id = j.at("id").get<int64_t>();
    e.version_id = NumberOr<int64_t>(j, "version_id");
    e.parent_id = NumberOr<int64_t>(j, "parent_id");
    e.name = j.at("name").get<std::string>();
    e.is_dir = NumberOr<bool>(j, "is_dir");
    e.executable = NumberOr<bool>(j, "executable");
    e.size = NumberOr<uint64_t>(j, "size");
    e.blob = StringOr(j, "blob");
    e.digest = StringOr(j, "digest");
    return e;
  });
}

OrderedJson ToJson(const HistoryFilter& f) {
  OrderedJson j;
  j["collection"] = f.collection;
  j["alias"] = f.alias;
  j["since"] = f.since ? OrderedJson(*f.since) : OrderedJson(nullptr);
  j["after_seq"] = f.after_seq;
  j["until_seq"] = f.until_seq ? OrderedJson(*f.until_seq) : OrderedJson();
  j["limit"] = f.limit;
  return j;
}

Result<HistoryFilter> HistoryFilterFromJson(const OrderedJson& j) {
  return Guarded<HistoryFilter>(
      "history filter", j, [&]() -> Result<HistoryFilter> {
        HistoryFilter f;
        f.collection = StringOr(j, "collection");
        f.alias = StringOr(j, "alias");
        if (j.contains("since") && !j.at("since").is_null()) {
          f.since = j.at("since").get<TimeMs>();
        }
        f.after_seq = NumberOr<uint64_t>(j, "after_seq");
        if (j.contains("until_seq") && !j.at("until_seq").is_null()) {
          f.until_seq = j.at("until_seq").get<uint64_t>();
        }
        f.limit = NumberOr<uint64_t>(j, "limit");
        return f;
      });
}

OrderedJson ToJson(const WhoAmI& w) {
  OrderedJson j =
      WhoamiJson(w.who, w.role ? Result<Role>(*w.role)
                               : Result<Role>(Fail(Code::kIoError, "")));
  j["store"] = w.store;
  return j;
}

Result<WhoAmI> WhoAmIFromJson(const OrderedJson& j) {
  return Guarded<WhoAmI>("whoami", j, [&]() -> Result<WhoAmI> {
    WhoAmI w;
    w.who.uid = j.at("uid").get<uid_t>();
    w.who.user = j.at("user").get<std::string>();
    w.who.gid = j.at("gid").get<gid_t>();
    w.who.groups = j.at("groups").get<std::vector<gid_t>>();
    w.who.group_names = j.at("group_names").get<std::vector<std::string>>();
    if (auto role = RoleOf(j)) w.role = *role;  // "unknown": nullopt
    w.store = StringOr(j, "store");
    return w;
  });
}

OrderedJson ToJson(const Event& event) {
  OrderedJson j;
  j["seq"] = event.seq;
  j["time"] = FormatTime(event.time);
  j["event"] = EventTypeName(event.type);
  j["collection"] = OrNull(event.collection);
  j["alias"] = OrNull(event.alias);
  j["old"] = VersionOrNull(event.old_version);
  j["new"] = VersionOrNull(event.new_version);
  j["uid"] = event.uid;
  j["user"] = event.user;
  j["interface"] = InterfaceName(event.interface);
  // Only a shared store's events have a host: an embedded store's lines
  // stay as they were.
  if (!event.host.empty()) j["host"] = event.host;
  const nlohmann::json detail = StoredDetail(event);
  for (const auto& [key, value] : detail.items()) j[key] = value;
  return j;
}

Result<Event> EventFromJson(const OrderedJson& j) {
  return Guarded<Event>("event", j, [&]() -> Result<Event> {
    Event e;
    e.seq = j.at("seq").get<uint64_t>();
    REGFS_ASSIGN_OR_RETURN(e.time, TimeOf(j, "time"));
    const std::string type = j.at("event").get<std::string>();
    const auto parsed = ParseEventType(type);
    if (!parsed) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("unknown event type '{}'", type));
    }
    e.type = *parsed;
    e.collection = StringOr(j, "collection");
    e.alias = StringOr(j, "alias");
    REGFS_ASSIGN_OR_RETURN(e.old_version, VersionNumberOr(j, "old"));
    REGFS_ASSIGN_OR_RETURN(e.new_version, VersionNumberOr(j, "new"));
    e.uid = NumberOr<uid_t>(j, "uid");
    e.user = StringOr(j, "user");
    e.interface =
        StringOr(j, "interface") == "fs" ? Interface::kFs : Interface::kCli;
    e.host = StringOr(j, "host");
    for (const auto& [key, value] : j.items()) {
      if (std::find(kEventKeys.begin(), kEventKeys.end(), key) !=
          kEventKeys.end()) {
        continue;
      }
      if (key == "to" && value.is_string()) {
        e.renamed_to = value.get<std::string>();
      } else {
        e.detail[key] = nlohmann::json::parse(value.dump());
      }
    }
    return e;
  });
}

namespace {

OrderedJson ToJson(const SearchHit& hit, SearchField field) {
  OrderedJson j;
  j["collection"] = hit.collection;
  j["version"] = VersionOrNull(hit.version);
  j["aliases"] = hit.aliases;
  if (field == SearchField::kMetadata) j["key"] = hit.key;
  j["text"] = hit.text;
  return j;
}

Result<SearchHit> SearchHitFromJson(const OrderedJson& j) {
  return Guarded<SearchHit>("search hit", j, [&]() -> Result<SearchHit> {
    SearchHit hit;
    hit.collection = j.at("collection").get<std::string>();
    REGFS_ASSIGN_OR_RETURN(hit.version, VersionNumberOr(j, "version"));
    hit.aliases = j.at("aliases").get<std::vector<std::string>>();
    hit.key = StringOr(j, "key");
    hit.text = j.at("text").get<std::string>();
    return hit;
  });
}

Result<SearchGroup> SearchGroupFromJson(const OrderedJson& j) {
  return Guarded<SearchGroup>("search group", j, [&]() -> Result<SearchGroup> {
    SearchGroup group;
    REGFS_ASSIGN_OR_RETURN(group.field,
                           ParseSearchField(j.at("field").get<std::string>()));
    for (const auto& hit : j.at("hits")) {
      REGFS_ASSIGN_OR_RETURN(auto decoded, SearchHitFromJson(hit));
      group.hits.push_back(std::move(decoded));
    }
    group.more = j.at("more").get<uint64_t>();
    return group;
  });
}

}  // namespace

OrderedJson ToJson(const SearchResults& results) {
  OrderedJson groups = OrderedJson::array();
  for (const auto& group : results.groups) {
    OrderedJson hits = OrderedJson::array();
    for (const auto& hit : group.hits) hits.push_back(ToJson(hit, group.field));
    OrderedJson g;
    g["field"] = SearchFieldName(group.field);
    g["hits"] = std::move(hits);
    g["more"] = group.more;
    groups.push_back(std::move(g));
  }
  OrderedJson j;
  j["term"] = results.term;
  j["limit"] = results.limit;
  j["groups"] = std::move(groups);
  return j;
}

Result<SearchResults> SearchResultsFromJson(const OrderedJson& j) {
  return Guarded<SearchResults>(
      "search results", j, [&]() -> Result<SearchResults> {
        SearchResults results;
        results.term = j.at("term").get<std::string>();
        results.limit = j.at("limit").get<uint64_t>();
        for (const auto& group : j.at("groups")) {
          REGFS_ASSIGN_OR_RETURN(auto decoded, SearchGroupFromJson(group));
          results.groups.push_back(std::move(decoded));
        }
        return results;
      });
}

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

namespace {

std::string CodeKey(Code code) {
  std::string key(CodeName(code));
  std::replace(key.begin(), key.end(), ' ', '_');
  return key;
}

}  // namespace

OrderedJson ToJson(const Error& error) {
  OrderedJson j;
  j["code"] = CodeKey(error.code);
  j["error"] = error.message;
  return j;
}

Result<Error> ErrorFromJson(const OrderedJson& j) {
  return Guarded<Error>("error", j, [&]() -> Result<Error> {
    const std::string key = j.at("code").get<std::string>();
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', ' ');
    // Only the key CodeKey writes: "not found" is no key.
    if (const auto code = CodeNamed(name); code && CodeKey(*code) == key) {
      return Error{*code, j.at("error").get<std::string>()};
    }
    return Fail(Code::kInvalidArgument,
                fmt::format("unknown error code '{}'", key));
  });
}

}  // namespace regfs::registry
