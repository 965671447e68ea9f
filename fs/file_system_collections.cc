// Collections made and removed through the mount (mkdir, rmdir at the
// root); the registry decides who may.
#include "fs/file_system.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <string>

#include "fs/file_system_internal.h"

namespace regfs::fs {

using registry::Identity;

std::expected<std::optional<FileSystem::Node>, ErrorReply>
FileSystem::DirChangeOr(const Request& r, Ino parent, std::string_view op,
                        const std::string& what) {
  if (options_.as_of || parent == kAtDirIno ||
      TypeOf(parent) == NodeType::kPast) {
    return std::unexpected(Refuse(r, what, EROFS, "the past is read-only"));
  }
  if (const NodeType type = TypeOf(parent);
      type != NodeType::kCollection && type != NodeType::kDraft) {
    return std::nullopt;
  }
  REGFS_ASSIGN_OR_RETURN(Node dir, ResolveOr(r, parent, op));
  return std::optional<Node>(std::move(dir));
}

Reply FileSystem::MkDir(const Request& r, Ino parent, std::string_view name,
                        mode_t mode) {
  const std::string what = fmt::format("mkdir {}", PathIn(parent, name));
  auto dir = DirChangeOr(r, parent, "mkdir", what);
  if (!dir) return dir.error();
  if (*dir) return MkDirDraft(r, **dir, name, mode);
  if (parent != kRootIno) {
    return RefuseImmutable(r, what, "collections live at the root only");
  }
  const Identity who = ChangeIdentity(r);
  auto collection = registry_.CreateCollection(who, name);
  if (!collection) return Refuse(r, what, collection.error());
  spdlog::info("{} (uid {}) created collection {}", who.user, who.uid, name);
  RememberCollection(collection->id, collection->name);
  const Ino ino =
      MakeIno(NodeType::kCollection, static_cast<uint64_t>(collection->id));
  return MakeEntry(ino, DirStat(ino, 0755, options_.owner_uid, started_),
                   options_.version_timeout, kDirAttrTimeout);
}

Reply FileSystem::RmDir(const Request& r, Ino parent, std::string_view name) {
  const std::string what = fmt::format("rmdir {}", PathIn(parent, name));
  auto dir = DirChangeOr(r, parent, "rmdir", what);
  if (!dir) return dir.error();
  if (*dir) {
    if (auto key = DraftIn(r, **dir, name)) {
      return RemoveDraft(r, **dir, *key, /*dir_op=*/true);
    }
  }
  if (parent != kRootIno || name == kControlDir) {
    return RefuseImmutable(r, what,
                           "only empty collections can be removed; versions "
                           "are immutable");
  }
  const Identity who = ChangeIdentity(r);
  auto status = registry_.DeleteCollection(who, name, /*all=*/false);
  if (!status && status.error().code == registry::Code::kConflict) {
    return Refuse(r, what, ENOTEMPTY, status.error().message);
  }
  if (!status) return Refuse(r, what, status.error());
  spdlog::info("{} (uid {}) deleted collection {}", who.user, who.uid, name);
  ForgetCollection(name);
  return ErrorReply{0};
}

}  // namespace regfs::fs
