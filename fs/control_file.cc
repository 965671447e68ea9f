#include "fs/control_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "delivery/sample_delivery.h"
#include "registry/history.h"
#include "registry/model_json.h"
#include "registry/names.h"
#include "registry/whoami.h"

namespace regfs::fs {
namespace {

namespace reg = regfs::registry;
using reg::Code;
using reg::OrderedJson;
using reg::Registry;
using reg::Result;

// The arguments of one request, read with nlohmann's checked accessors;
// a missing or mistyped one throws, and RunControlRequest turns that into
// InvalidArgument naming it.
class Args final {
 public:
  explicit Args(const OrderedJson& json) : json_(json) {}
  std::string Str(const char* key) const {
    return json_.at(key).get<std::string>();
  }
  std::string StrOr(const char* key) const {
    const auto it = json_.find(key);
    if (it == json_.end() || it->is_null()) return {};
    return it->get<std::string>();
  }
  template <class T>
  T Num(const char* key) const {
    return json_.at(key).get<T>();
  }
  bool Flag(const char* key) const {
    const auto it = json_.find(key);
    return it != json_.end() && it->get<bool>();
  }
  std::vector<std::string> List(const char* key) const {
    const auto it = json_.find(key);
    if (it == json_.end() || it->is_null()) return {};
    return it->get<std::vector<std::string>>();
  }
  const OrderedJson& At(const char* key) const { return json_.at(key); }
  bool Has(const char* key) const { return json_.contains(key); }

 private:
  const OrderedJson& json_;
};

using Handler = std::function<Result<OrderedJson>(
    Registry&, const reg::Identity&, const Args&)>;

struct Op {
  const char* name;
  bool changes;
  Handler run;
};

template <class Items>
OrderedJson WireArray(const Items& items) {
  OrderedJson array = OrderedJson::array();
  for (const auto& item : items) {
    if constexpr (requires { reg::ToJson(item, reg::JsonForm::kWire); }) {
      array.push_back(reg::ToJson(item, reg::JsonForm::kWire));
    } else {
      array.push_back(reg::ToJson(item));
    }
  }
  return array;
}

template <class T>
Result<OrderedJson> Wire(Result<T> value) {
  REGFS_TRY(value);
  if constexpr (requires { reg::ToJson(*value, reg::JsonForm::kWire); }) {
    return reg::ToJson(*value, reg::JsonForm::kWire);
  } else if constexpr (requires { reg::ToJson(*value); }) {
    return reg::ToJson(*value);
  } else if constexpr (std::ranges::range<T>) {
    return WireArray(*value);
  } else {
    return OrderedJson(*value);
  }
}

Result<OrderedJson> Done(reg::Status status) {
  REGFS_TRY(status);
  return OrderedJson(nullptr);
}

// --expect of `alias set`: absent (no check), null (must not exist), or
// the version number it must name now.
std::optional<std::optional<uint64_t>> Expectation(const Args& a) {
  if (!a.Has("expect")) return std::nullopt;
  if (a.At("expect").is_null()) return std::optional<uint64_t>();
  return std::optional<uint64_t>(a.Num<uint64_t>("expect"));
}

Result<OrderedJson> WhoAmIOf(Registry& registry, const reg::Identity& who) {
  reg::WhoAmI whoami{.who = who, .store = registry.store().string()};
  if (auto role = registry.RoleOf(who)) whoami.role = *role;
  return reg::ToJson(whoami);
}

// ---- automations (issue 16) ----

// `automation test` through a mount delivers in the daemon: bounded, so
// that no admin can make it hang. A command is killed after at most
// kMountTestTimeout (less if the CLI asks), a webhook gets its 5 s to
// connect and kMountTestTimeout in all, and at most kMountTests run at
// once; more are Conflict (EBUSY) at once rather than queued.
constexpr std::chrono::milliseconds kMountTestTimeout{10'000};
constexpr int kMountTests = 2;
std::atomic<int> g_tests_running{0};

Result<OrderedJson> TestAutomation(Registry& r, const reg::Identity& who,
                                   const Args& a) {
  delivery::DelivererOptions options;
  options.exec_timeout = std::chrono::milliseconds(std::clamp<int64_t>(
      a.Num<int64_t>("exec_timeout_ms"), 0, kMountTestTimeout.count()));
  options.http_timeout = kMountTestTimeout;
  if (g_tests_running.fetch_add(1) >= kMountTests) {
    g_tests_running.fetch_sub(1);
    return reg::Fail(Code::kConflict,
                     fmt::format("{} automation tests are running through "
                                 "this mount already; try again once they "
                                 "are done",
                                 kMountTests));
  }
  auto done = delivery::DeliverSample(r, who, a.Str("name"), options);
  g_tests_running.fetch_sub(1);
  return Wire(std::move(done));
}

Result<OrderedJson> AddAutomation(Registry& r, const reg::Identity& who,
                                  const Args& a) {
  // The spec's fields only: whom a command runs as and whom its secret
  // file is read as is the caller (Registry::AddAutomation), whatever
  // the request says.
  REGFS_ASSIGN_OR_RETURN(auto spec,
                         reg::AutomationSpecFromJson(a.At("automation")));
  return Wire(r.AddAutomation(who, std::move(spec)));
}

// Every op: name, whether it changes anything, and its one registry call.
const std::vector<Op>& Ops() {
  using A = const Args&;
  using I = const reg::Identity&;
  using R = Registry&;
  static const std::vector<Op> ops = {
      // ---- reads ----
      {"whoami", false, [](R r, I who, A) { return WhoAmIOf(r, who); }},
      {"collections", false,
       [](R r, I, A) { return Wire(r.ListCollections()); }},
      {"collection", false,
       [](R r, I, A a) { return Wire(r.GetCollection(a.Str("collection"))); }},
      {"versions", false,
       [](R r, I, A a) {
         return Wire(r.ListVersionsInFull(a.Str("collection")));
       }},
      {"aliases", false,
       [](R r, I, A a) { return Wire(r.ListAliases(a.Str("collection"))); }},
      {"resolve", false,
       [](R r, I, A a) {
         return Wire(r.Resolve(a.Str("collection"), a.Str("name")));
       }},
      {"version_by_id", false,
       [](R r, I, A a) {
         return Wire(r.GetVersionById(a.Num<int64_t>("id")));
       }},
      {"tree", false,
       [](R r, I, A a) {
         return Wire(r.ListTree(a.Num<int64_t>("version_id"),
                                a.Num<int64_t>("parent_id")));
       }},
      {"blob_path", false,
       [](R r, I, A a) -> Result<OrderedJson> {
         return OrderedJson(r.BlobPath(a.Str("key")).string());
       }},
      {"protected", false, [](R r, I, A) { return Wire(r.ListProtected()); }},
      {"history", false,
       [](R r, I, A a) -> Result<OrderedJson> {
         REGFS_ASSIGN_OR_RETURN(auto filter,
                                reg::HistoryFilterFromJson(a.At("filter")));
         return Wire(r.History(filter));
       }},
      {"last_seq", false, [](R r, I, A) { return Wire(r.LastSeq()); }},
      {"seq_at", false,
       [](R r, I, A a) { return Wire(r.SeqAt(a.Str("moment"))); }},
      {"alias_at", false,
       [](R r, I, A a) {
         return Wire(r.GetAliasAt(a.Str("collection"), a.Str("name"),
                                  a.Num<uint64_t>("seq")));
       }},
      {"alias_before", false,
       [](R r, I, A a) {
         return Wire(r.GetAliasBefore(a.Str("collection"), a.Str("name"),
                                      a.Num<uint64_t>("back")));
       }},
      {"roles", false, [](R r, I, A) { return Wire(r.ListRoles()); }},
      {"default_role", false,
       [](R r, I, A) -> Result<OrderedJson> {
         REGFS_ASSIGN_OR_RETURN(auto role, r.DefaultRole());
         return OrderedJson(reg::RoleName(role));
       }},
      // Search (issue 16): {"op":"search","term","limit" (optional)}.
      {"search", false,
       [](R r, I who, A a) {
         reg::SearchOptions options;
         if (a.Has("limit")) options.limit = a.Num<uint64_t>("limit");
         return Wire(r.Search(who, a.Str("term"), options));
       }},
      // ---- changes ----
      {"alias_set", true,
       [](R r, I who, A a) {
         return Wire(r.SetAlias(who, a.Str("collection"), a.Str("alias"),
                                a.Str("target"), Expectation(a)));
       }},
      {"alias_rm", true,
       [](R r, I who, A a) {
         return Done(r.RemoveAlias(who, a.Str("collection"), a.Str("alias")));
       }},
      {"alias_mv", true,
       [](R r, I who, A a) {
         return Done(r.RenameAlias(who, a.Str("collection"), a.Str("from"),
                                   a.Str("to"), a.Flag("replace")));
       }},
      {"tag_add", true,
       [](R r, I who, A a) {
         return Done(r.AddTag(who, a.Str("collection"),
                              a.Num<uint64_t>("number"), a.Str("tag")));
       }},
      {"tag_rm", true,
       [](R r, I who, A a) {
         return Done(r.RemoveTag(who, a.Str("collection"),
                                 a.Num<uint64_t>("number"), a.Str("tag")));
       }},
      {"protect", true,
       [](R r, I who, A a) { return Done(r.Protect(who, a.Str("name"))); }},
      {"unprotect", true,
       [](R r, I who, A a) { return Done(r.Unprotect(who, a.Str("name"))); }},
      {"role_grant", true,
       [](R r, I who, A a) -> Result<OrderedJson> {
         REGFS_ASSIGN_OR_RETURN(auto role, reg::ParseRole(a.Str("role")));
         return Done(r.Grant(who, a.Str("principal"), role));
       }},
      {"role_revoke", true,
       [](R r, I who, A a) { return Done(r.Revoke(who, a.Str("principal"))); }},
      {"version_rm", true,
       [](R r, I who, A a) {
         return Done(r.DeleteVersion(who, a.Str("collection"),
                                     a.Num<uint64_t>("number")));
       }},
      // What a push through the mount asks before it writes its draft.
      {"push_check", true,
       [](R r, I who, A a) -> Result<OrderedJson> {
         reg::PushRequest push;
         push.collection = a.Str("collection");
         push.aliases = a.List("aliases");
         push.tags = a.List("tags");
         if (a.Has("metadata")) {
           for (const auto& [key, value] : a.At("metadata").items()) {
             push.metadata.emplace_back(key, value.get<std::string>());
           }
         }
         return Done(r.CheckPush(who, push));
       }},
      // Served by FileSystem (PublishRequestOf); listed for its name.
      {"publish", true,
       [](R, I, A) -> Result<OrderedJson> {
         return reg::Fail(Code::kInvalidArgument,
                          "publish is served by the mount itself");
       }},
      {"collection_rm", true,
       [](R r, I who, A a) {
         return Done(
             r.DeleteCollection(who, a.Str("collection"), a.Flag("all")));
       }},
      // Automations: admins only (the registry refuses the others).
      {"automations", false,
       [](R r, I who, A) { return Wire(r.ListAutomations(who)); }},
      {"automation_log", false,
       [](R r, I who, A a) {
         return Wire(r.DeliveryLog(who, a.StrOr("name"),
                                   a.Num<uint64_t>("limit")));
       }},
      {"automation_add", true, AddAutomation},
      {"automation_rm", true,
       [](R r, I who, A a) {
         return Done(r.RemoveAutomation(who, a.Str("name")));
       }},
      // Delivers, so made with the caller's fresh identity, as a change.
      {"automation_test", true, TestAutomation},
  };
  return ops;
}

const Op* FindOp(std::string_view name) {
  const auto& ops = Ops();
  const auto it = std::find_if(ops.begin(), ops.end(),
                               [&](const Op& op) { return op.name == name; });
  return it == ops.end() ? nullptr : &*it;
}

}  // namespace

Result<ControlRequest> ParseControlRequest(std::string_view text) {
  ControlRequest request;
  request.json = OrderedJson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (request.json.is_discarded()) {
    return reg::Fail(Code::kInvalidArgument,
                     "the request is not JSON: write one JSON object, such "
                     "as {\"op\":\"whoami\"}, in one write");
  }
  const auto op =
      request.json.is_object() ? request.json.find("op") : request.json.end();
  if (op == request.json.end() || !op->is_string()) {
    return reg::Fail(Code::kInvalidArgument,
                     "the request has no \"op\": write a JSON object such as "
                     "{\"op\":\"whoami\"}");
  }
  request.op = op->get<std::string>();
  const Op* known = FindOp(request.op);
  if (known == nullptr) {
    return reg::Fail(Code::kInvalidArgument,
                     fmt::format("unknown op '{}'", request.op));
  }
  request.changes = known->changes;
  return request;
}

bool IsPublish(const ControlRequest& request) {
  return request.op == kPublishOp;
}

Result<reg::PublishRequest> PublishRequestOf(const ControlRequest& request,
                                             uid_t caller) {
  try {
    const Args a(request.json);
    reg::PublishRequest publish;
    publish.collection = a.Str("collection");
    publish.draft = a.Str("draft");
    publish.target = a.StrOr("target");
    if (publish.target.empty()) publish.target = std::string(reg::kLatest);
    publish.owner = a.Has("owner") ? a.Num<uid_t>("owner") : caller;
    publish.aliases = a.List("aliases");
    publish.tags = a.List("tags");
    if (a.Has("metadata")) {
      for (const auto& [key, value] : a.At("metadata").items()) {
        publish.metadata.emplace_back(key, value.get<std::string>());
      }
    }
    publish.description = a.StrOr("description");
    publish.filename = a.StrOr("filename");
    return publish;
  } catch (const nlohmann::json::exception& e) {
    return reg::Fail(Code::kInvalidArgument,
                     fmt::format("malformed 'publish' request: {}", e.what()));
  }
}

Result<OrderedJson> RunControlRequest(Registry& registry,
                                      const reg::Identity& who,
                                      const ControlRequest& request) {
  const Op* op = FindOp(request.op);
  if (op == nullptr) {
    return reg::Fail(Code::kInvalidArgument,
                     fmt::format("unknown op '{}'", request.op));
  }
  try {
    return op->run(registry, who, Args(request.json));
  } catch (const nlohmann::json::exception& e) {
    return reg::Fail(
        Code::kInvalidArgument,
        fmt::format("malformed '{}' request: {}", request.op, e.what()));
  }
}

std::string ControlSuccess(const OrderedJson& result) {
  OrderedJson reply;
  reply["ok"] = true;
  reply["result"] = result;
  return reply.dump(-1, ' ', false, OrderedJson::error_handler_t::replace) +
         "\n";
}

std::string ControlFailure(const reg::Error& error, int err) {
  OrderedJson reply;
  reply["ok"] = false;
  reply["errno"] = err;
  const OrderedJson coded = reg::ToJson(error);
  reply["code"] = coded.at("code");
  reply["error"] = coded.at("error");
  return reply.dump(-1, ' ', false, OrderedJson::error_handler_t::replace) +
         "\n";
}

void ControlReply::Set(std::string text) {
  MutexLock lock(mu_);
  text_ = std::move(text);
}

std::string ControlReply::Read(size_t offset, size_t size) const {
  MutexLock lock(mu_);
  if (offset >= text_.size()) return {};
  return text_.substr(offset, size);
}

}  // namespace regfs::fs
