// Who is asking (identities from CallerCache), the read check, and the
// one place where a registry Error becomes an errno (ErrnoFor, Refuse):
// a refusal logs at info, a failure at warn. Also the handlers of
// changes that nobody may make (they only refuse) and access(2).
#include "fs/file_system.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "fs/error_codes.h"
#include "fs/file_system_internal.h"
#include "fs/proc_groups.h"

namespace regfs::fs {

using registry::Action;
using registry::Code;
using registry::Error;
using registry::Identity;

namespace {

const std::vector<gid_t>& RequestGroups(const Request& r) {
  if (!r.groups) {
    r.groups = ReadProcGroups(r.pid).value_or(std::vector<gid_t>{});
  }
  return *r.groups;
}

}  // namespace

Identity FileSystem::ReadIdentity(const Request& r) {
  return callers_.ForRead(r.uid, r.gid, [&r] { return RequestGroups(r); });
}

Identity FileSystem::ChangeIdentity(const Request& r) {
  return callers_.ForChange(r.uid, r.gid, RequestGroups(r));
}

int FileSystem::CheckRead(const Request& r, const What& what) {
  auto allowed = callers_.Authorize(ReadIdentity(r), Action::Read());
  if (!allowed) return Refuse(r, what, allowed.error()).err;
  return 0;
}

ErrorReply FileSystem::RefuseImmutable(const Request& r, const What& what,
                                       std::string_view why) {
  auto allowed =
      callers_.Authorize(ChangeIdentity(r), Action::ChangeImmutable());
  if (allowed) return Refuse(r, what, EPERM, why);  // never: it is immutable
  return RefuseWhy(r, what, allowed.error(), why);
}

int FileSystem::CheckStagedOwner(const Request& r, const What& what,
                                 const StagedEntry& staged) {
  // Its creator needs no role, nor so their groups.
  auto allowed = AsChanger(r, [&](const Identity& who) {
    return callers_.Authorize(who, Action::ChangeStaged(staged.who));
  });
  if (allowed) return 0;
  const std::string why = fmt::format(
      "the temporary symlink belongs to {} (uid {})", staged.who.user,
      staged.who.uid);
  return RefuseWhy(r, what, allowed.error(), why).err;
}

std::string FileSystem::WhoIs(const Request& r) {
  return fmt::format("{} (uid {}, pid {})", ReadIdentity(r).user, r.uid, r.pid);
}

int FileSystem::ErrnoFor(const Request& r, const What& what,
                         const Error& error) {
  const int err = ErrnoOf(error);
  if (IsFailure(error)) {
    spdlog::warn("{} by {} failed: {} [{}]", what.str(), WhoIs(r),
                 error.message, std::strerror(err));
  }
  return err;
}

int FileSystem::LookupErrnoFor(const Request& r, const What& what,
                               const Error& error) {
  if (error.code == Code::kInvalidArgument) return ENOENT;
  return ErrnoFor(r, what, error);
}

ErrorReply FileSystem::Refuse(const Request& r, const What& what,
                              const Error& error) {
  if (IsFailure(error)) return ErrorReply{ErrnoFor(r, what, error)};
  const int err = ErrnoOf(error);
  spdlog::info("refused {} for {}: {} [{}]", what.str(), WhoIs(r),
               error.message, std::strerror(err));
  return ErrorReply{err};
}

ErrorReply FileSystem::RefuseWhy(const Request& r, const What& what,
                                 const Error& error, std::string_view why) {
  if (IsFailure(error)) return Refuse(r, what, error);
  return Refuse(r, what, ErrnoOf(error), why);
}

ErrorReply FileSystem::Refuse(const Request& r, const What& what, int err,
                              std::string_view why) {
  spdlog::info("refused {} for {}: {} [{}]", what.str(), WhoIs(r), why,
               std::strerror(err));
  return ErrorReply{err};
}

Reply FileSystem::SetAttr(const Request& r, Ino ino, const struct stat& attr,
                          int to_set, Handle* handle) {
  // `> .regfs/ctl` truncates first: there is nothing to truncate.
  if (ino == kCtlIno) return AttrReply{ControlFileStat(), 0};
  if (TypeOf(ino) == NodeType::kDraft) {
    auto node = ResolveOr(r, ino, "setattr");
    if (!node) return node.error();
    return SetAttrDraft(r, *node, attr, to_set, handle);
  }
  return RefuseImmutable(
      r, fmt::format("setattr (0x{:x}) of {}", to_set, PathOf(ino)),
      "versions and aliases are immutable");
}

Reply FileSystem::MkNod(const Request& r, Ino parent, std::string_view name,
                        mode_t mode) {
  if (const NodeType type = TypeOf(parent);
      !options_.as_of &&
      (type == NodeType::kCollection || type == NodeType::kDraft)) {
    auto dir = ResolveOr(r, parent, "mknod");
    if (!dir) return dir.error();
    return MkNodDraft(r, *dir, name, mode);
  }
  return RefuseImmutable(r, "mknod " + PathIn(parent, name),
                         "only symlinks (aliases) and drafts can be created");
}

Reply FileSystem::Create(const Request& r, Ino parent, std::string_view name,
                         mode_t mode, int flags) {
  if (const NodeType type = TypeOf(parent);
      !options_.as_of &&
      (type == NodeType::kCollection || type == NodeType::kDraft)) {
    auto dir = ResolveOr(r, parent, "create");
    if (!dir) return dir.error();
    return CreateDraft(r, *dir, name, mode, flags);
  }
  return RefuseImmutable(r, "create " + PathIn(parent, name),
                         "only symlinks (aliases) and drafts (dot-names in a "
                         "collection) can be created");
}

Reply FileSystem::Link(const Request& r, Ino ino, Ino new_parent,
                       std::string_view new_name) {
  if (TypeOf(ino) == NodeType::kDraft || TypeOf(new_parent) == NodeType::kDraft) {
    return Refuse(r,
                  fmt::format("link of {} as {}", PathOf(ino),
                              PathIn(new_parent, new_name)),
                  EPERM, "a version cannot hold links");
  }
  return RefuseImmutable(r,
                         fmt::format("link of {} as {}", PathOf(ino),
                                     PathIn(new_parent, new_name)),
                         "hard links are not supported");
}

Reply FileSystem::Access(const Request& r, Ino ino, int mask) {
  auto node = ResolveOr(r, ino, "access");
  if (!node) return node.error();
  if (mask == F_OK) return ErrorReply{0};
  const auto what = [&] { return "access to " + PathOf(*node); };
  // Refusals of access(2) are answers, not events: only failures log.
  const auto answer = [&](const registry::Status& allowed) {
    if (allowed) return ErrorReply{0};
    if (IsFailure(allowed.error())) return Refuse(r, what, allowed.error());
    return ErrorReply{ErrnoOf(allowed.error())};
  };
  const Identity who = ReadIdentity(r);
  if (auto readable = answer(callers_.Authorize(who, Action::Read()));
      readable.err != 0) {
    return readable;
  }
  auto attr = StatOf(r, *node);
  if (!attr) return Refuse(r, what, attr.error());
  const mode_t x_bit = node->type == NodeType::kDraft ? S_IXUSR : S_IXOTH;
  if ((mask & X_OK) && !(attr->st_mode & x_bit)) return ErrorReply{EACCES};
  if ((mask & W_OK) && ReadOnlyView(*node, "")) return ErrorReply{EROFS};
  if (!(mask & W_OK)) return ErrorReply{0};
  if (node->ino == kCtlIno) return ErrorReply{0};  // requests: any reader
  if (node->type == NodeType::kDraft) {
    // Its writer's (and admins') own file: members may change it.
    return answer(callers_.Authorize(who, Action::Change()));
  }
  // Changes happen in the root (mkdir) and in collections (aliases).
  const bool changeable =
      node->ino == kRootIno || node->type == NodeType::kCollection;
  if (!changeable) return ErrorReply{EACCES};
  return answer(callers_.Authorize(who, Action::Change()));
}

}  // namespace regfs::fs
