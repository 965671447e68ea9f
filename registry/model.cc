#include "registry/model.h"

#include <fmt/format.h>

namespace regfs::registry {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kNone:
      return "none";
    case Role::kViewer:
      return "viewer";
    case Role::kMember:
      return "member";
    case Role::kAdmin:
      return "admin";
  }
  return "none";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kNone, Role::kViewer, Role::kMember, Role::kAdmin}) {
    if (RoleName(r) == name) return r;
  }
  return Fail(
      Code::kInvalidArgument,
      fmt::format("unknown role '{}': use admin, member, viewer or none",
                  name));
}

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kEmpty:
      return "empty";
    case Kind::kFile:
      return "file";
    case Kind::kTree:
      return "tree";
  }
  return "empty";
}

}  // namespace regfs::registry
