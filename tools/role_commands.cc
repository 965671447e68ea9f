// Commands that give and take rights: role grant, default, revoke, ls.
#include <fmt/format.h>

#include <string>
#include <string_view>

#include "registry/identity.h"
#include "registry/registry.h"
#include "tools/actions.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;

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

}  // namespace

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

}  // namespace regfs::tools
