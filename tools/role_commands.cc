// Commands that give and take rights: role grant, default, revoke, ls.
#include <fmt/format.h>

#include <string>
#include <string_view>

#include "registry/identity.h"
#include "registry/registry.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;

struct RoleArgs {
  std::string principal;
  std::string role;
  bool json = false;
  reg::Role parsed_role = reg::Role::kNone;  // grant: set by PrepareGrant
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

reg::Status PrepareGrant(RoleArgs& args) {
  REGFS_ASSIGN_OR_RETURN(args.parsed_role, reg::ParseRole(args.role));
  return {};
}

reg::Status RunRoleGrant(Context&, Store& store, const RoleArgs& args) {
  auto done = store.Grant(args.principal, args.parsed_role);
  if (!done) return done;
  if (args.principal == reg::Registry::kDefaultPrincipal) {
    fmt::print("default role is now {}\n", args.role);
  } else {
    fmt::print("granted {} to {}\n", args.role,
               DescribePrincipal(args.principal));
  }
  return {};
}

reg::Status RunRoleRevoke(Context&, Store& store, const RoleArgs& args) {
  auto done = store.Revoke(args.principal);
  if (!done) return done;
  fmt::print("revoked the role of {}\n", DescribePrincipal(args.principal));
  return {};
}

reg::Status RunRoleLs(Context&, Store& store, const RoleArgs& args) {
  REGFS_ASSIGN_OR_RETURN(const auto grants, store.ListRoles());
  REGFS_ASSIGN_OR_RETURN(const reg::Role default_role, store.DefaultRole());
  if (args.json) {
    Json j;
    j["default"] = reg::RoleName(default_role);
    Json list = Json::array();
    for (const auto& g : grants) {
      if (g.principal != reg::Registry::kDefaultPrincipal)
        list.push_back(ToJson(g));
    }
    j["grants"] = std::move(list);
    PrintJson(j);
    return {};
  }
  Table table({"PRINCIPAL", "ROLE"});
  for (const auto& g : grants) {
    if (g.principal == reg::Registry::kDefaultPrincipal) continue;
    table.AddRow({g.principal, std::string(reg::RoleName(g.role))});
  }
  table.AddRow(
      {fmt::format("{} (everyone else)", reg::Registry::kDefaultPrincipal),
       std::string(reg::RoleName(default_role))});
  table.Print(stdout);
  fmt::print("\nroot and the store's owner are always admins\n");
  return {};
}

}  // namespace

void AddRoleCommands(CLI::App& app, Context& ctx) {
  auto* parent = NewCommandGroup(
      app, "role", "Grant, revoke and list roles (admin, member, viewer)");

  auto [grant, grant_args] = NewCommand<RoleArgs>(
      *parent, nullptr, "grant",
      "Give PRINCIPAL (a user name or uid, group:NAME or group:GID, or *) a "
      "role; none denies the user or group what the default gives");
  grant->add_option("PRINCIPAL", grant_args->principal)->required();
  grant->add_option("ROLE", grant_args->role)
      ->required()
      ->check(RoleValidator());
  OnSelected(grant, ctx,
             StoreAction(ctx, grant_args, PrepareGrant, RunRoleGrant));

  auto [def, default_args] = NewCommand<RoleArgs>(
      *parent, nullptr, "default", "Set the role of everyone without a grant");
  default_args->principal = reg::Registry::kDefaultPrincipal;
  def->add_option("ROLE", default_args->role)
      ->required()
      ->check(RoleValidator());
  OnSelected(def, ctx,
             StoreAction(ctx, default_args, PrepareGrant, RunRoleGrant));

  auto [revoke, revoke_args] = NewCommand<RoleArgs>(*parent, nullptr, "revoke",
                                                    "Remove PRINCIPAL's grant");
  revoke->add_option("PRINCIPAL", revoke_args->principal)->required();
  OnSelected(revoke, ctx, StoreAction(ctx, revoke_args, RunRoleRevoke));

  auto [ls, ls_args] = NewCommand<RoleArgs>(*parent, nullptr, "ls",
                                            "List grants and the default role");
  ls->add_flag("--json", ls_args->json, "Print as JSON");
  OnSelected(ls, ctx, StoreAction(ctx, ls_args, RunRoleLs));
  // Set last: subcommands inherit the group they are created under.
  parent->group(kStoreGroup);
}

}  // namespace regfs::tools
