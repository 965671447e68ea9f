// Access: roles and their grants, protected names, and the checks every
// alias change makes on the alias's name.
#include <algorithm>

#include "registry/registry_impl.h"
#include "registry/sql/access.h"

namespace regfs::registry {

// Root and the owner are admins; an explicit grant to the user wins,
// `none` included (it denies even when a group grants more); else the
// highest of the user's groups' grants (a group's `none` denies only if
// no other group of the user grants a role); else the default. Without
// the user's groups (!who.groups_known), GroupsUnread if any group has a
// grant: read in the caller's transaction, so that no grant committed
// before it is missed.
Result<Role> Registry::Impl::RoleOf(const Identity& who) {
  const bool owner = owner_name ? who.user == *owner_name : who.uid == owner_uid;
  if (who.uid == 0 || owner) return Role::kAdmin;
  auto user = sql::GrantedRole(*db, who.user);
  REGFS_TRY(user);
  if (*user) return **user;
  if (!who.groups_known) {
    REGFS_ASSIGN_OR_RETURN(const bool any, sql::AnyGroupGrant(*db));
    if (any) {
      return Fail(Code::kGroupsUnread,
                  fmt::format("the role of user '{}' depends on their groups, "
                              "which were not read",
                              who.user));
    }
  }
  std::optional<Role> best;
  for (const auto& group : who.group_names) {
    auto role = sql::GrantedRole(*db, "group:" + group);
    REGFS_TRY(role);
    if (*role && (!best || **role > *best)) best = **role;
  }
  if (best) return *best;
  auto def = sql::GrantedRole(*db, kDefaultPrincipal);
  REGFS_TRY(def);
  return def->value_or(Role::kViewer);
}

// PermissionDenied unless `role`, `who`'s, is at least `needed`.
static Status RequireRole(const Identity& who, Role role, Role needed,
                          std::string_view action) {
  if (role >= needed) return {};
  const std::string_view who_is = role == Role::kNone ? "has no role" : "is a";
  return Fail(
      Code::kPermissionDenied,
      fmt::format("user '{}' {}{}{}: only {} may {}", who.user, who_is,
                  role == Role::kNone ? "" : " ",
                  role == Role::kNone ? "" : RoleName(role),
                  needed == Role::kAdmin ? "admins" : "members and admins",
                  action));
}

Result<Role> Registry::Impl::Require(const Identity& who, Role needed,
                                     std::string_view action) {
  REGFS_ASSIGN_OR_RETURN(const Role role, RoleOf(who));
  REGFS_TRY(RequireRole(who, role, needed, action));
  return role;
}

Result<Transaction> Registry::Impl::BeginAs(const Identity& who, Role needed,
                                            std::string_view action) {
  REGFS_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(*db));
  REGFS_TRY(Require(who, needed, action));
  return tx;
}

// Protection ignores case.
Result<bool> Registry::Impl::IsProtected(std::string_view name) {
  auto spelling = sql::ProtectedSpelling(*db, name);
  REGFS_TRY(spelling);
  return spelling->has_value();
}

// The form of an alias's name: not `latest` or a version, and valid.
static Status CheckAliasForm(std::string_view alias, std::string_view verb) {
  if (alias == kLatest) {
    return Fail(Code::kNotPermitted,
                "'latest' is maintained by the registry: it always names the "
                "newest version");
  }
  if (ParseVersionName(alias)) {
    return Fail(Code::kNotPermitted,
                fmt::format("{} is a version: versions are immutable", alias));
  }
  // An alias that a store from before the case rules holds (`V1`,
  // `Latest`) may still be removed or renamed away.
  const bool names_existing = verb == "remove" || verb == "rename";
  return names_existing ? ValidateName(alias, "alias")
                        : ValidateAliasName(alias);
}

Result<bool> Registry::Impl::CheckProtection(Role role, std::string_view alias,
                                             std::string_view verb) {
  REGFS_ASSIGN_OR_RETURN(const auto prot, sql::ProtectedSpelling(*db, alias));
  if (!prot) return false;
  if (role >= Role::kAdmin) return true;
  const std::string as = *prot == alias ? "" : fmt::format(" (as '{}')", *prot);
  return Fail(Code::kNotPermitted,
              fmt::format("alias '{}' is protected{}: only admins may {} it",
                          alias, as, verb));
}

Result<bool> Registry::Impl::CheckAliasName(const Identity& who,
                                            std::string_view alias,
                                            std::string_view verb) {
  REGFS_ASSIGN_OR_RETURN(const Role role, RoleOf(who));
  REGFS_TRY(
      RequireRole(who, role, kRoleToChange, fmt::format("{} aliases", verb)));
  REGFS_TRY(CheckAliasForm(alias, verb));
  return CheckProtection(role, alias, verb);
}

Result<Role> Registry::RoleOf(const Identity& who) {
  auto lock = impl_->Lock();
  return impl_->RoleOf(who);
}

Result<std::vector<RoleGrant>> Registry::ListRoles() {
  auto lock = impl_->Lock();
  return sql::ListGrants(*impl_->db);
}

Result<Role> Registry::DefaultRole() {
  auto lock = impl_->Lock();
  auto role = sql::GrantedRole(*impl_->db, kDefaultPrincipal);
  REGFS_TRY(role);
  return role->value_or(Role::kViewer);
}

Result<std::vector<ProtectedName>> Registry::ListProtected() {
  auto lock = impl_->Lock();
  return sql::ListProtectedNames(*impl_->db);
}

Result<bool> Registry::IsProtected(std::string_view name) {
  auto lock = impl_->Lock();
  return impl_->IsProtected(name);
}

Status Registry::Protect(const Identity& who, std::string_view name) {
  auto lock = impl_->Lock();
  REGFS_TRY(ValidateAliasName(name));
  REGFS_ASSIGN_OR_RETURN(
      Transaction tx, impl_->BeginAs(who, Role::kAdmin, "protect names"));
  auto prot = sql::ProtectedSpelling(*impl_->db, name);
  REGFS_TRY(prot);
  if (*prot) {
    // Protection ignores case: `Production` is protected with `production`.
    const std::string as =
        **prot == name ? "" : fmt::format(" (as {})", Quote(**prot));
    return Fail(Code::kAlreadyExists,
                fmt::format("name {} is already protected{}", Quote(name), as));
  }
  REGFS_TRY(sql::InsertProtectedName(*impl_->db, name, NowMs(), who.user));
  REGFS_TRY(impl_->Append(who, EventType::kProtect, "", name, std::nullopt,
                          std::nullopt));
  return tx.Commit();
}

Status Registry::Unprotect(const Identity& who, std::string_view name) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(
      Transaction tx, impl_->BeginAs(who, Role::kAdmin, "unprotect names"));
  bool removed = false;
  // Protection ignores case: every spelling of `name` goes (a store from
  // before that rule may hold several), each with its own event.
  for (;;) {
    auto spelling = sql::ProtectedSpelling(*impl_->db, name);
    REGFS_TRY(spelling);
    if (!*spelling) break;
    REGFS_TRY(sql::DeleteProtectedName(*impl_->db, **spelling));
    REGFS_TRY(impl_->Append(who, EventType::kUnprotect, "", **spelling,
                            std::nullopt, std::nullopt));
    removed = true;
  }
  if (!removed) {
    if (auto v = ValidateName(name, "alias"); !v) return v;
    return Fail(Code::kNotFound,
                fmt::format("name {} is not protected", Quote(name)));
  }
  return tx.Commit();
}

Status ValidatePrincipal(std::string_view principal) {
  if (principal == kDefaultPrincipal) return {};
  std::string_view name = principal;
  if (name.starts_with("group:")) name.remove_prefix(6);
  if (name.empty() || name.size() > 256 ||
      std::any_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == ':' || c == 0x7f;
      })) {
    return Fail(Code::kInvalidArgument,
                fmt::format("'{}' is not a principal: give a user name, "
                            "group:NAME, or * for the default role",
                            principal.substr(0, 200)));
  }
  return {};
}

Status Registry::Grant(const Identity& who, std::string_view given, Role role) {
  REGFS_TRY(ValidatePrincipal(given));
  const std::string principal = CanonicalPrincipal(given);
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(
      Transaction tx, impl_->BeginAs(who, Role::kAdmin, "grant roles"));
  auto old = sql::GrantedRole(*impl_->db, principal);
  REGFS_TRY(old);
  if (*old == role) return {};
  REGFS_TRY(sql::PutGrant(*impl_->db, principal, role));
  nlohmann::json detail{{"principal", std::string(principal)},
                        {"role", std::string(RoleName(role))}};
  if (*old) detail["previous"] = std::string(RoleName(**old));
  REGFS_TRY(impl_->Append(who, EventType::kRoleGrant, "", "", std::nullopt,
                          std::nullopt, detail));
  return tx.Commit();
}

Status Registry::Revoke(const Identity& who, std::string_view given) {
  REGFS_TRY(ValidatePrincipal(given));
  std::string principal = CanonicalPrincipal(given);
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(
      Transaction tx, impl_->BeginAs(who, Role::kAdmin, "revoke roles"));
  auto old = sql::GrantedRole(*impl_->db, principal);
  REGFS_TRY(old);
  if (!*old && principal != given) {
    // A grant stored under the decimal uid before its user had a name.
    principal = std::string(given);
    old = sql::GrantedRole(*impl_->db, principal);
    REGFS_TRY(old);
  }
  if (!*old) {
    return Fail(Code::kNotFound,
                fmt::format("{} has no granted role", Quote(given)));
  }
  REGFS_TRY(sql::DeleteGrant(*impl_->db, principal));
  REGFS_TRY(impl_->Append(
      who, EventType::kRoleRevoke, "", "", std::nullopt, std::nullopt,
      nlohmann::json{{"principal", std::string(principal)},
                     {"role", std::string(RoleName(**old))}}));
  return tx.Commit();
}

}  // namespace regfs::registry
