// Extended attributes (user.regfs.*, xattrs.h): read-only.
#include "fs/file_system.h"

#include <fmt/format.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "fs/file_system_internal.h"

namespace regfs::fs {

using registry::Alias;
using registry::Result;

Result<XattrList> FileSystem::XattrsOf(const Node& node) {
  switch (node.type) {
    case NodeType::kVersion: {
      REGFS_ASSIGN_OR_RETURN(
          const auto version,
          registry_.GetVersion(node.collection, node.version->number));
      // The aliases naming it, each by name: never all of the collection's.
      std::vector<Alias> aliases;
      for (const std::string& name : version.aliases) {
        auto alias = registry_.GetAlias(node.collection, name);
        if (alias) {
          aliases.push_back(std::move(*alias));
        } else if (!alias.error().IsNotFound()) {
          return std::unexpected(alias.error());  // else removed meanwhile
        }
      }
      return VersionXattrs(version, aliases);
    }
    case NodeType::kTreeEntry:
      return TreeEntryXattrs(*node.entry);
    default:
      // Directories, control files and symlinks (the kernel answers user.*
      // on symlinks itself) have none.
      return XattrList{};
  }
}

Reply FileSystem::GetXattr(const Request& r, Ino ino, std::string_view name,
                           size_t size) {
  // security.*, system.posix_acl_* and the like are asked for often (ls -l
  // asks for both, for each file): the mount has no such namespaces, and
  // saying so lets ls stop asking (it remembers an unsupported device).
  if (!name.starts_with("user.")) return ErrorReply{EOPNOTSUPP};
  if (TypeOf(ino) == NodeType::kDraft) {
    auto node = ResolveOr(r, ino, "getxattr");
    if (!node) return node.error();
    return DraftXattr(r, *node, "getxattr", name, {}, 0, size);
  }
  if (TypeOf(ino) == NodeType::kCollection && name == kPublishedXattr &&
      !options_.as_of) {
    auto node = ResolveOr(r, ino, "getxattr");
    if (!node) return node.error();
    if (const int err = CheckRead(r, "getxattr " + std::string(name))) {
      return ErrorReply{err};
    }
    return PublishedXattr(r, *node, size);
  }
  if (!name.starts_with(kXattrPrefix)) return ErrorReply{ENODATA};
  auto node = ResolveOr(r, ino, "getxattr");
  if (!node) return node.error();
  const auto what = [&] {
    return fmt::format("getxattr {} of {}", name, PathOf(*node));
  };
  if (const int err = CheckRead(r, what)) return ErrorReply{err};
  auto list = XattrsOf(*node);
  if (!list) return Refuse(r, what, list.error());
  auto value = FindXattr(*list, name);
  if (!value) return ErrorReply{ENODATA};
  if (size == 0) return XattrSizeReply{value->size()};
  if (size < value->size()) return ErrorReply{ERANGE};
  return BufReply{std::move(*value)};
}

Reply FileSystem::ListXattr(const Request& r, Ino ino, size_t size) {
  auto node = ResolveOr(r, ino, "listxattr");
  if (!node) return node.error();
  if (node->draft) return DraftXattr(r, *node, "listxattr", {}, {}, 0, size);
  const auto what = [&] { return "listxattr of " + PathOf(*node); };
  if (const int err = CheckRead(r, what)) return ErrorReply{err};
  auto list = XattrsOf(*node);
  if (!list) return Refuse(r, what, list.error());
  std::string names = XattrNames(*list);
  if (size == 0) return XattrSizeReply{names.size()};
  if (size < names.size()) return ErrorReply{ERANGE};
  return BufReply{std::move(names)};
}

Reply FileSystem::SetXattr(const Request& r, Ino ino, std::string_view name,
                           std::string_view value, int flags) {
  if (TypeOf(ino) == NodeType::kDraft) {
    auto node = ResolveOr(r, ino, "setxattr");
    if (!node) return node.error();
    return DraftXattr(r, *node, "setxattr", name, value, flags, 0);
  }
  return RefuseImmutable(r,
                         fmt::format("setxattr {} of {}", name, PathOf(ino)),
                         "attributes are read-only; use `regfs` to tag");
}

Reply FileSystem::RemoveXattr(const Request& r, Ino ino,
                              std::string_view name) {
  if (TypeOf(ino) == NodeType::kDraft) {
    auto node = ResolveOr(r, ino, "removexattr");
    if (!node) return node.error();
    return DraftXattr(r, *node, "removexattr", name, {}, 0, 0);
  }
  return RefuseImmutable(
      r, fmt::format("removexattr {} of {}", name, PathOf(ino)),
      "attributes are read-only");
}

}  // namespace regfs::fs
