// Who may do what: the one decision of a caller's Action from their Role,
// for the mount (which caches roles) and anyone else who asks.
#include <fmt/format.h>

#include <string>

#include "registry/registry.h"

namespace regfs::registry {

namespace {

// The refusal of a change `role` may not make: EPERM for those who may
// change the store (the thing itself refuses), EACCES for the others.
Error RefuseChange(Role role, std::string message) {
  return Error{MayChange(role) ? Code::kNotPermitted : Code::kPermissionDenied,
               std::move(message)};
}

}  // namespace

Status Registry::Authorize(const Identity& who, const Action& action,
                           const std::function<Result<Role>()>& role_of) {
  if (action.kind == Action::Kind::kChangeStaged &&
      who.uid == action.owner.uid) {
    return {};  // the owner needs no role for their own staged name
  }
  REGFS_ASSIGN_OR_RETURN(const Role role, role_of());
  switch (action.kind) {
    case Action::Kind::kRead:
      if (role >= Role::kViewer) return {};
      return Fail(Code::kPermissionDenied, "reading needs a role");
    case Action::Kind::kChange:
      if (MayChange(role)) return {};
      return Fail(Code::kPermissionDenied,
                  fmt::format("user '{}' is not a member: only members and "
                              "admins may change the store",
                              who.user));
    case Action::Kind::kChangeImmutable:
      return std::unexpected(RefuseChange(role, "it is immutable"));
    case Action::Kind::kChangeStaged:
      if (role == Role::kAdmin) return {};
      return std::unexpected(RefuseChange(
          role, fmt::format("the staged name belongs to {} (uid {})",
                            action.owner.user, action.owner.uid)));
  }
  return Fail(Code::kInvalidArgument, "unknown action");
}

Status Registry::Authorize(const Identity& who, const Action& action) {
  return Authorize(who, action, [&] { return RoleOf(who); });
}

}  // namespace regfs::registry
