#include "registry/model.h"

#include "registry/enum_names.h"

namespace regfs::registry {

namespace {

constexpr EnumName<Role> kRoleNames[] = {
    {Role::kNone, "none"},
    {Role::kViewer, "viewer"},
    {Role::kMember, "member"},
    {Role::kAdmin, "admin"},
};

constexpr EnumName<Kind> kKindNames[] = {
    {Kind::kEmpty, "empty"},
    {Kind::kFile, "file"},
    {Kind::kTree, "tree"},
};

}  // namespace

std::string_view RoleName(Role role) {
  return NameOf(kRoleNames, role, "none");
}

Result<Role> ParseRole(std::string_view name) {
  return ParseNamed(kRoleNames, name, "role",
                    ": use admin, member, viewer or none");
}

std::string_view KindName(Kind kind) {
  return NameOf(kKindNames, kind, "empty");
}

}  // namespace regfs::registry
