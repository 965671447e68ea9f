// Commands that change names and rights: alias, tag, protect, unprotect,
// role.
#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "registry/history.h"
#include "registry/identity.h"
#include "registry/names.h"
#include "registry/registry.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;

// --expect: "none" (the alias must not exist) or "vN".
using Expectation = std::optional<std::optional<uint64_t>>;

Expectation ParseExpect(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text == "none") return std::optional<uint64_t>();
  return reg::ParseVersionName(text);  // checked by the option
}

// ---- alias set / rm / mv / ls ----

struct AliasArgs {
  std::string collection;
  std::string alias;
  std::string target;  // set: the target; mv: the new name
  std::string expect;
  bool force = false;
  bool json = false;
};

int RunAliasSet(Context& ctx, const AliasArgs& args) {
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  auto alias =
      (*registry)->SetAlias(ctx.identity(), args.collection, args.alias,
                            args.target, ParseExpect(args.expect));
  if (!alias) return ReportError(alias.error());
  fmt::print("{}/{} -> {}\n", alias->collection, alias->name,
             reg::VersionName(alias->version));
  return kExitOk;
}

int RunAliasRm(Context& ctx, const AliasArgs& args) {
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  auto done =
      (*registry)->RemoveAlias(ctx.identity(), args.collection, args.alias);
  if (!done) return ReportError(done.error());
  fmt::print("removed alias {}/{}\n", args.collection, args.alias);
  return kExitOk;
}

int RunAliasMv(Context& ctx, const AliasArgs& args) {
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  auto done = (*registry)->RenameAlias(ctx.identity(), args.collection,
                                       args.alias, args.target, args.force);
  if (!done) return ReportError(done.error());
  fmt::print("renamed alias {}/{} to {}\n", args.collection, args.alias,
             args.target);
  return kExitOk;
}

int RunAliasLs(Context& ctx, const AliasArgs& args) {
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  auto aliases = (*registry)->ListAliases(args.collection);
  if (!aliases) return ReportError(aliases.error());
  if (args.json) {
    PrintJson(ToJsonArray(*aliases));
    return kExitOk;
  }
  AliasTable(*aliases).Print(stdout);
  return kExitOk;
}

void AddAlias(CLI::App& app, Context& ctx) {
  auto* parent = app.add_subcommand(
      "alias", "Create, move, rename, remove and list aliases");
  parent->require_subcommand(1);

  auto set_args = std::make_shared<AliasArgs>();
  auto* set = parent->add_subcommand(
      "set",
      "Point ALIAS at TARGET (a version or another alias), creating "
      "it if needed");
  set->add_option("COLLECTION", set_args->collection)->required();
  set->add_option("ALIAS", set_args->alias)->required();
  set->add_option("TARGET", set_args->target, "vN, or an alias name")
      ->required();
  set->add_option("--expect", set_args->expect,
                  "Move only if ALIAS now names this version ('none': only "
                  "if it does not exist)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (text == "none" || reg::ParseVersionName(text)) return {};
            return "--expect takes vN or none, not '" + text + "'";
          },
          "vN|none"));
  OnSelected(set, ctx, set_args, RunAliasSet);

  auto rm_args = std::make_shared<AliasArgs>();
  auto* rm = parent->add_subcommand("rm", "Remove an alias");
  rm->add_option("COLLECTION", rm_args->collection)->required();
  rm->add_option("ALIAS", rm_args->alias)->required();
  OnSelected(rm, ctx, rm_args, RunAliasRm);

  auto mv_args = std::make_shared<AliasArgs>();
  auto* mv = parent->add_subcommand("mv", "Rename an alias");
  mv->add_option("COLLECTION", mv_args->collection)->required();
  mv->add_option("FROM", mv_args->alias)->required();
  mv->add_option("TO", mv_args->target)->required();
  mv->add_flag("--force,-f", mv_args->force, "Replace TO if it exists");
  OnSelected(mv, ctx, mv_args, RunAliasMv);

  auto ls_args = std::make_shared<AliasArgs>();
  auto* ls = parent->add_subcommand("ls", "List a collection's aliases");
  ls->add_option("COLLECTION", ls_args->collection)->required();
  ls->add_flag("--json", ls_args->json, "Print as JSON");
  OnSelected(ls, ctx, ls_args, RunAliasLs);
  // Set last: subcommands inherit the group they are created under.
  parent->group(kAliasesGroup);
}

// ---- tag add / rm ----

struct TagArgs {
  std::string version;
  std::string tag;
  bool remove = false;
};

int RunTag(Context& ctx, const TagArgs& args) {
  auto ref = ParseVersionRef(args.version, /*need_name=*/true);
  if (!ref) return ReportError(ref.error());
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  // COLLECTION/ALIAS tags the version the alias names now.
  auto v = (*registry)->Resolve(ref->collection, ref->name);
  if (!v) return ReportError(v.error());
  const std::string where =
      fmt::format("{}/{}", v->collection, reg::VersionName(v->number));
  if (args.remove) {
    auto done = (*registry)->RemoveTag(ctx.identity(), ref->collection,
                                       v->number, args.tag);
    if (!done) return ReportError(done.error());
    fmt::print("removed tag {} from {}\n", args.tag, where);
  } else {
    auto done = (*registry)->AddTag(ctx.identity(), ref->collection, v->number,
                                    args.tag);
    if (!done) return ReportError(done.error());
    fmt::print("tagged {} {}\n", where, args.tag);
  }
  return kExitOk;
}

void AddTag(CLI::App& app, Context& ctx) {
  auto* parent = app.add_subcommand("tag", "Add or remove version tags");
  parent->require_subcommand(1);
  for (const bool remove : {false, true}) {
    auto args = std::make_shared<TagArgs>();
    args->remove = remove;
    auto* cmd = parent->add_subcommand(
        remove ? "rm" : "add",
        remove ? "Remove TAG from a version" : "Add TAG to a version");
    cmd->add_option("VERSION", args->version, "COLLECTION/vN")->required();
    cmd->add_option("TAG", args->tag)->required();
    OnSelected(cmd, ctx, args, RunTag);
  }
  // Set last: subcommands inherit the group they are created under.
  parent->group(kVersionsGroup);
}

// ---- protect / unprotect ----

struct NameArgs {
  std::string name;
  bool protect = true;
};

int RunProtect(Context& ctx, const NameArgs& args) {
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  auto done = args.protect ? (*registry)->Protect(ctx.identity(), args.name)
                           : (*registry)->Unprotect(ctx.identity(), args.name);
  if (!done) return ReportError(done.error());
  if (args.protect) {
    fmt::print(
        "protected '{}': only admins may create, move or remove "
        "aliases with this name\n",
        args.name);
  } else {
    fmt::print("unprotected '{}'\n", args.name);
  }
  return kExitOk;
}

void AddProtect(CLI::App& app, Context& ctx) {
  for (const bool protect : {true, false}) {
    auto args = std::make_shared<NameArgs>();
    args->protect = protect;
    auto* cmd = app.add_subcommand(
        protect ? "protect" : "unprotect",
        protect ? "Reserve an alias name, in every collection, to admins"
                : "Make a protected alias name ordinary again");
    cmd->group(kAliasesGroup);
    cmd->add_option("NAME", args->name, "An alias name, e.g. production")
        ->required();
    OnSelected(cmd, ctx, args, RunProtect);
  }
}

// ---- role grant / revoke / default / ls ----

struct RoleArgs {
  std::string principal;
  std::string role;
  bool json = false;
};

// Accepts what registry::ParseRole accepts, with its message.
CLI::Validator RoleValidator() {
  std::string names;
  for (const reg::Role role : {reg::Role::kAdmin, reg::Role::kMember,
                               reg::Role::kViewer, reg::Role::kNone}) {
    names += (names.empty() ? "" : "|") + std::string(reg::RoleName(role));
  }
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto role = reg::ParseRole(text);
        return role ? std::string() : role.error().message;
      },
      names);
}

// The principal a grant to `given` is stored under, saying which uid or
// gid it came from: "alice (uid 47002)", or "uid 47002 (no user name)"
// for a uid without one (the grant applies to callers with that uid).
std::string DescribePrincipal(const std::string& given) {
  const std::string stored = reg::CanonicalPrincipal(given);
  constexpr std::string_view kGroup = "group:";
  const bool group = given.starts_with(kGroup);
  const std::string id = given.substr(group ? kGroup.size() : 0);
  const bool numeric =
      !id.empty() && id.find_first_not_of("0123456789") == std::string::npos;
  if (!numeric) return given;
  const char* what = group ? "gid" : "uid";
  if (stored != given) return fmt::format("{} ({} {})", stored, what, id);
  return fmt::format("{} {} (no {} name)", what, id, group ? "group" : "user");
}

int RunRoleGrant(Context& ctx, const RoleArgs& args) {
  auto role = reg::ParseRole(args.role);
  if (!role) return ReportError(role.error());
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  auto done = (*registry)->Grant(ctx.identity(), args.principal, *role);
  if (!done) return ReportError(done.error());
  if (args.principal == "*") {
    fmt::print("default role is now {}\n", args.role);
  } else {
    fmt::print("granted {} to {}\n", args.role,
               DescribePrincipal(args.principal));
  }
  return kExitOk;
}

int RunRoleRevoke(Context& ctx, const RoleArgs& args) {
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  auto done = (*registry)->Revoke(ctx.identity(), args.principal);
  if (!done) return ReportError(done.error());
  fmt::print("revoked the role of {}\n", DescribePrincipal(args.principal));
  return kExitOk;
}

int RunRoleLs(Context& ctx, const RoleArgs& args) {
  auto registry = ctx.Open();
  if (!registry) return ReportError(registry.error());
  auto grants = (*registry)->ListRoles();
  if (!grants) return ReportError(grants.error());
  auto default_role = (*registry)->DefaultRole();
  if (!default_role) return ReportError(default_role.error());
  if (args.json) {
    Json j;
    j["default"] = reg::RoleName(*default_role);
    Json list = Json::array();
    for (const auto& g : *grants) {
      if (g.principal != "*") list.push_back(ToJson(g));
    }
    j["grants"] = std::move(list);
    PrintJson(j);
    return kExitOk;
  }
  Table table({"PRINCIPAL", "ROLE"});
  for (const auto& g : *grants) {
    if (g.principal == "*") continue;
    table.AddRow({g.principal, std::string(reg::RoleName(g.role))});
  }
  table.AddRow(
      {"* (everyone else)", std::string(reg::RoleName(*default_role))});
  table.Print(stdout);
  fmt::print("\nroot and the store's owner are always admins\n");
  return kExitOk;
}

void AddRole(CLI::App& app, Context& ctx) {
  auto* parent = app.add_subcommand(
      "role", "Grant, revoke and list roles (admin, member, viewer)");
  parent->require_subcommand(1);

  auto grant_args = std::make_shared<RoleArgs>();
  auto* grant = parent->add_subcommand(
      "grant",
      "Give PRINCIPAL (a user name or uid, group:NAME or group:GID, or *) a "
      "role; none denies the user or group what the default gives");
  grant->add_option("PRINCIPAL", grant_args->principal)->required();
  grant->add_option("ROLE", grant_args->role)
      ->required()
      ->check(RoleValidator());
  OnSelected(grant, ctx, grant_args, RunRoleGrant);

  auto default_args = std::make_shared<RoleArgs>();
  default_args->principal = "*";
  auto* def = parent->add_subcommand(
      "default", "Set the role of everyone without a grant");
  def->add_option("ROLE", default_args->role)
      ->required()
      ->check(RoleValidator());
  OnSelected(def, ctx, default_args, RunRoleGrant);

  auto revoke_args = std::make_shared<RoleArgs>();
  auto* revoke = parent->add_subcommand("revoke", "Remove PRINCIPAL's grant");
  revoke->add_option("PRINCIPAL", revoke_args->principal)->required();
  OnSelected(revoke, ctx, revoke_args, RunRoleRevoke);

  auto ls_args = std::make_shared<RoleArgs>();
  auto* ls = parent->add_subcommand("ls", "List grants and the default role");
  ls->add_flag("--json", ls_args->json, "Print as JSON");
  OnSelected(ls, ctx, ls_args, RunRoleLs);
  // Set last: subcommands inherit the group they are created under.
  parent->group(kStoreGroup);
}

}  // namespace

void AddAliasCommands(CLI::App& app, Context& ctx) {
  AddAlias(app, ctx);
  AddTag(app, ctx);
  AddProtect(app, ctx);
  AddRole(app, ctx);
}

}  // namespace regfs::tools
