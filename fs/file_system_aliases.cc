// Alias changes through the mount: symlink, unlink and rename of
// aliases, and the staged symlinks of `ln -sf` and tools that write a
// temporary name first (Staging), committed as aliases by a rename or
// when they expire.
#include "fs/file_system.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "fs/file_system_internal.h"
#include "fs/link_target.h"
#include "registry/names.h"

namespace regfs::fs {

using registry::Alias;
using registry::Code;
using registry::Identity;
using registry::Result;
using registry::Version;

std::expected<FileSystem::Node, ErrorReply> FileSystem::ChangeDirOr(
    const Request& r, Ino parent, std::string_view name,
    const std::string& what) {
  auto dir = Resolve(parent);
  if (!dir) return std::unexpected(ErrorReply{ErrnoFor(r, what, dir.error())});
  if (ReadOnlyView(*dir, name)) {
    return std::unexpected(Refuse(r, what, EROFS, "the past is read-only"));
  }
  return std::move(*dir);
}

Reply FileSystem::Unlink(const Request& r, Ino parent, std::string_view name) {
  const std::string what = "unlink " + PathIn(parent, name);
  auto dir = ChangeDirOr(r, parent, name, what);
  if (!dir) return dir.error();
  if (dir->type == NodeType::kDraft ||
      (dir->type == NodeType::kCollection && IsDraftName(name) &&
       !staging_.Find(dir->collection_id, name))) {
    if (auto key = DraftIn(r, *dir, name)) {
      return RemoveDraft(r, *dir, *key, /*dir_op=*/false);
    }
    if (dir->type == NodeType::kDraft) return ErrorReply{ENOENT};
  }
  if (dir->type != NodeType::kCollection) {
    return RefuseImmutable(r, what, "only aliases can be removed");
  }
  if (name == kCollectionHistory) {
    return RefuseImmutable(r, what, "control files are read-only");
  }
  if (auto staged = staging_.Find(dir->collection_id, name)) {
    if (const int err = CheckStagedOwner(r, what, *staged)) {
      return ErrorReply{err};
    }
    if (!staging_.Take(dir->collection_id, name, staged->ino)) {
      return ErrorReply{ENOENT};
    }
    notifier_.InvalidateEntry(parent, std::string(name));
    return ErrorReply{0};
  }
  // Versions and `latest` too: the registry refuses them after its role
  // check, so that a viewer hears EACCES and a member EPERM.
  Identity who;
  auto status = AsChanger(r, [&](const Identity& as) {
    who = as;
    return registry_.RemoveAlias(who, dir->collection, name);
  });
  if (!status) return Refuse(r, what, status.error());
  spdlog::info("{} (uid {}) removed alias {}/{}", who.user, who.uid,
               dir->collection, name);
  notifier_.InvalidateEntry(parent, std::string(name));
  return ErrorReply{0};
}

Reply FileSystem::Symlink(const Request& r, std::string_view given_target,
                          Ino parent, std::string_view name) {
  const std::string what =
      fmt::format("symlink {} -> {}", PathIn(parent, name), given_target);
  auto dir = ChangeDirOr(r, parent, name, what);
  if (!dir) return dir.error();
  if (dir->type == NodeType::kDraft) {
    return Refuse(r, what, EPERM, "a version cannot hold links");
  }
  if (dir->type != NodeType::kCollection) {
    return RefuseImmutable(r, what, "aliases live in collections");
  }
  auto relative =
      MountRelativeTarget(options_.mountpoint, dir->collection, given_target);
  if (!relative) return Refuse(r, what, relative.error());
  const std::string_view target = *relative;
  if (Staging::IsStagingOnlyName(name)) {
    return StageSymlink(r, *dir, name, target, std::nullopt);
  }
  if (auto existing = staging_.TakeReplaceEvidence(r.pid, dir->collection_id,
                                                   name, target)) {
    return StageSymlink(r, *dir, name, target, existing);
  }
  Identity who;
  auto alias = AsChanger(r, [&](const Identity& as) {
    who = as;
    return registry_.CreateAlias(who, dir->collection, name, target);
  });
  if (!alias) {
    if (alias.error().code == Code::kAlreadyExists) {
      staging_.NoteCreateExists(r.pid, dir->collection_id, name, target);
    }
    return Refuse(r, what, alias.error());
  }
  spdlog::info("{} (uid {}) created alias {}/{} -> v{}", who.user, who.uid,
               dir->collection, name, alias->version);
  answered_.Add(alias->revision);  // this reply is the new entry
  return LinkEntry(AliasIno(*alias), LinkNodeOf(*alias, dir->collection_id));
}

Reply FileSystem::StageSymlink(const Request& r, const Node& dir,
                               std::string_view name, std::string_view target,
                               const std::optional<Existing>& existing) {
  const std::string what =
      existing
          ? fmt::format("replacing {}/{} with a symlink to {} (ln -sf)",
                        dir.collection, existing->name, target)
          : fmt::format("symlink {}/{} -> {}", dir.collection, name, target);
  Identity who;
  Result<uint64_t> checked;
  if (!existing) {
    // A '.'-name: whether the caller may change aliases here at all, and
    // the version `target` names. The rename that follows is checked again.
    // Such a name is never committed with `who` (it expires), so the
    // caller's groups are read only if their role needs them.
    checked = AsChanger(r, [&](const Identity& as) {
      who = as;
      return registry_.CheckTarget(who, dir.collection, target);
    });
  } else if (existing->name == kCollectionHistory) {
    return RefuseImmutable(r, what, "control files are read-only");
  } else {
    // The second step of `ln -sf`: check now what the rename will do (a
    // version or `latest` is refused there, after the role check). If no
    // rename comes, it is committed with `who`, groups and all.
    who = ChangeIdentity(r);
    auto version =
        registry_.CheckSetAlias(who, dir.collection, existing->name, target);
    if (version) {
      checked = version->number;
    } else {
      checked = std::unexpected(version.error());
    }
  }
  if (!checked) return Refuse(r, what, checked.error());
  StagedEntry entry;
  entry.collection_id = dir.collection_id;
  entry.name = std::string(name);
  entry.target = std::string(target);
  entry.version = *checked;
  entry.who = who;
  entry.created_ms = registry::NowMs();
  switch (staging_.Add(entry)) {
    case Staging::AddResult::kAdded:
      break;
    case Staging::AddResult::kNameTaken:
      return ErrorReply{EEXIST};
    case Staging::AddResult::kUserFull:
      return Refuse(
          r, what, EDQUOT,
          fmt::format("uid {} already has {} staged symlinks in this mount "
                      "(the per-user bound); rename or remove them, or wait "
                      "for them to expire",
                      who.uid, Staging::kMaxStagedPerUser));
    case Staging::AddResult::kFull:
      return Refuse(r, what, ENOSPC,
                    fmt::format("{} other users have staged symlinks in this "
                                "mount (the bound on users)",
                                Staging::kMaxStagingUsers));
  }
  spdlog::debug("staged {}/{} -> v{} for uid {} (pid {}){}", dir.collection,
                name, entry.version, who.uid, r.pid,
                existing ? " to replace " + existing->name : "");
  return LinkEntry(entry.ino, StagedLinkNode(entry, dir.collection));
}

Reply FileSystem::Rename(const Request& r, Ino parent, std::string_view name,
                         Ino new_parent, std::string_view new_name,
                         unsigned flags) {
  const std::string what = fmt::format("rename {} to {}", PathIn(parent, name),
                                       PathIn(new_parent, new_name));
  auto dir = Resolve(parent);
  if (!dir) return ErrorReply{ErrnoFor(r, what, dir.error())};
  if (ReadOnlyView(*dir, name) || ReadOnlyView(*dir, new_name) ||
      TypeOf(new_parent) == NodeType::kPast) {
    return Refuse(r, what, EROFS, "the past is read-only");
  }
  if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
    return Refuse(r, what, EINVAL, "unsupported rename flags");
  }
  if (dir->type == NodeType::kDraft ||
      (dir->type == NodeType::kCollection && IsDraftName(name) &&
       !staging_.Find(dir->collection_id, name))) {
    if (auto key = DraftIn(r, *dir, name)) {
      return RenameDraft(r, *dir, *key, new_parent, new_name, flags);
    }
    if (dir->type == NodeType::kDraft) return ErrorReply{ENOENT};
  }
  if (dir->type != NodeType::kCollection) {
    return RefuseImmutable(r, what, "only aliases can be renamed");
  }
  if (const NodeType into = TypeOf(new_parent);
      into == NodeType::kVersion || into == NodeType::kTreeEntry) {
    // `mv a b` with `b` an alias of a tree: mv follows it and renames into
    // the version.
    return RefuseImmutable(r, what,
                           IntoVersionReason(*dir, name, new_parent));
  }
  if (new_parent != parent) {
    return Refuse(r, what, EINVAL, "aliases cannot leave their collection");
  }
  if (name == kCollectionHistory || new_name == kCollectionHistory) {
    return RefuseImmutable(r, what, "control files are read-only");
  }
  if (auto staged = staging_.Find(dir->collection_id, name)) {
    return RenameStaged(r, *dir, *staged, new_name, flags);
  }
  // Versions and `latest` too: the registry refuses them after its role
  // check, so that a viewer hears EACCES and a member EPERM.
  Identity who;
  auto status = AsChanger(r, [&](const Identity& as) -> Result<void> {
    who = as;
    if (flags & RENAME_EXCHANGE) {
      return registry_.ExchangeAliases(who, dir->collection, name, new_name);
    }
    return registry_.RenameAlias(who, dir->collection, name, new_name,
                                 !(flags & RENAME_NOREPLACE));
  });
  if (!status) return Refuse(r, what, status.error());
  spdlog::info("{} (uid {}) {} {}/{} and {}", who.user, who.uid,
               (flags & RENAME_EXCHANGE) ? "exchanged" : "renamed",
               dir->collection, name, new_name);
  notifier_.InvalidateEntry(parent, std::string(name));
  notifier_.InvalidateEntry(parent, std::string(new_name));
  return ErrorReply{0};
}

std::string FileSystem::IntoVersionReason(const Node& dir,
                                          std::string_view moved,
                                          Ino version_ino) {
  constexpr std::string_view kWhy = "versions are immutable";
  auto node = Resolve(version_ino);
  if (!node || !node->version || node->collection_id != dir.collection_id) {
    return std::string(kWhy);
  }
  auto aliases = registry_.ListAliases(dir.collection);
  if (!aliases) return std::string(kWhy);
  std::string names;
  for (const Alias& alias : *aliases) {
    if (alias.version != node->version->number || alias.is_latest ||
        alias.name == moved) {
      continue;
    }
    names += fmt::format("{}{}", names.empty() ? "" : " or ", alias.name);
  }
  if (names.empty()) return std::string(kWhy);
  return fmt::format("{}; use mv -T to replace alias {}", kWhy, names);
}

Reply FileSystem::RenameStaged(const Request& r, const Node& dir,
                               const StagedEntry& staged,
                               std::string_view new_name, unsigned flags) {
  const std::string what =
      fmt::format("rename {}/{} to {}", dir.collection, staged.name, new_name);
  if (const int err = CheckStagedOwner(r, what, staged)) {
    return ErrorReply{err};
  }
  if (flags & RENAME_EXCHANGE) {
    return Refuse(r, what, EINVAL, "cannot exchange a staged symlink");
  }
  // A staged symlink in the way is replaced, if the caller may touch it.
  const std::optional<StagedEntry> replaced =
      staging_.Find(dir.collection_id, new_name);
  if (replaced) {
    if (flags & RENAME_NOREPLACE) return ErrorReply{EEXIST};
    if (const int err = CheckStagedOwner(r, what, *replaced)) {
      return ErrorReply{err};
    }
  }
  if (Staging::IsStagingOnlyName(new_name)) {
    return RestageSymlink(r, what, dir, staged, replaced, new_name);
  }
  // Claimed before the commit, so that OnTick cannot commit it too; put
  // back if the registry refuses (ln then unlinks it).
  std::optional<StagedEntry> claimed =
      staging_.Take(dir.collection_id, staged.name, staged.ino);
  if (!claimed) {
    return Refuse(r, what, ENOENT,
                  "the staged symlink was committed or removed meanwhile");
  }
  std::optional<std::optional<uint64_t>> expected;
  if (flags & RENAME_NOREPLACE) expected.emplace(std::nullopt);
  Identity who;
  auto alias = AsChanger(r, [&](const Identity& as) {
    who = as;
    return registry_.SetAlias(who, dir.collection, new_name,
                              registry::VersionName(staged.version), expected);
  });
  if (!alias) {
    staging_.Restore(std::move(*claimed));
    if ((flags & RENAME_NOREPLACE) && alias.error().code == Code::kConflict) {
      return ErrorReply{EEXIST};
    }
    return Refuse(r, what, alias.error());
  }
  spdlog::info("{} (uid {}) set alias {}/{} -> v{}", who.user, who.uid,
               dir.collection, new_name, alias->version);
  if (replaced) staging_.Take(dir.collection_id, new_name, replaced->ino);
  // No invalidation: this reply is what updates the kernel. It drops the
  // staged name and whatever `new_name` held, and keeps the staged inode
  // under `new_name`; that inode answers as the committed alias from now
  // on, and lookups of the alias find it while the kernel holds it
  // (link_table.h). (Two notifications per `ln -sfn` cost a kernel round
  // trip each and the directory's lock, which the next `ln -sfn` into the
  // same collection waits for; issue 15.) Nor from the watcher, when it
  // meets this change (answered_changes.h).
  answered_.Add(alias->revision);
  links_.UpdateStandingIn(staged.ino, LinkNodeOf(*alias, dir.collection_id),
                          AliasIno(*alias));
  return ErrorReply{0};
}

Reply FileSystem::RestageSymlink(const Request& r, const std::string& what,
                                 const Node& dir, const StagedEntry& staged,
                                 const std::optional<StagedEntry>& replaced,
                                 std::string_view new_name) {
  if (replaced) staging_.Take(dir.collection_id, new_name, replaced->ino);
  auto entry = staging_.Take(dir.collection_id, staged.name, staged.ino);
  if (!entry) return ErrorReply{ENOENT};
  StagedEntry renamed = *entry;
  renamed.name = std::string(new_name);
  if (staging_.Add(renamed) != Staging::AddResult::kAdded) {
    staging_.Restore(std::move(*entry));
    return Refuse(r, what, ENOSPC, "too many staged symlinks");
  }
  notifier_.InvalidateEntry(dir.ino, staged.name);
  notifier_.InvalidateEntry(dir.ino, std::string(new_name));
  return ErrorReply{0};
}

void FileSystem::CommitStaged(const StagedEntry& entry, std::string_view why,
                              bool invalidate) {
  const Ino parent = MakeIno(NodeType::kCollection,
                             static_cast<uint64_t>(entry.collection_id));
  const std::string target = registry::VersionName(entry.version);
  auto collection = CollectionName(entry.collection_id);
  Result<Alias> alias = collection
                            ? registry_.CreateAlias(entry.who, *collection,
                                                    entry.name, target)
                            : Result<Alias>(std::unexpected(collection.error()));
  const std::string path = fmt::format(
      "{}/{}", collection ? *collection : std::to_string(entry.collection_id),
      entry.name);
  if (!alias) {
    spdlog::warn(
        "could not commit the symlink {} -> {} of {} (uid {}) as an alias "
        "({}): {}",
        path, target, entry.who.user, entry.who.uid, why,
        alias.error().message);
  } else {
    spdlog::info("{} (uid {}) created alias {} -> v{}: committed its staged "
                 "symlink as {}",
                 entry.who.user, entry.who.uid, path, alias->version, why);
    if (invalidate) {
      links_.Update(entry.ino, LinkNodeOf(*alias, entry.collection_id));
    }
  }
  if (invalidate) notifier_.InvalidateEntry(parent, entry.name);
}

}  // namespace regfs::fs
