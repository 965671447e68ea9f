// lookup and forget: a name in a directory becomes an inode with its
// attributes. Views of the past are looked up in file_system_past.cc.
#include "fs/file_system.h"

#include <fmt/format.h>

#include <cerrno>
#include <string>
#include <utility>

#include "fs/file_system_internal.h"
#include "registry/history.h"
#include "registry/names.h"

namespace regfs::fs {

using registry::Kind;

Reply FileSystem::Lookup(const Request& r, Ino parent, std::string_view name) {
  const auto what = [&] { return "lookup of " + PathIn(parent, name); };
  auto dir = Resolve(parent);
  if (!dir) return ErrorReply{LookupErrnoFor(r, what, dir.error())};
  if (const int err = CheckRead(r, what)) {
    return ErrorReply{err};
  }
  switch (dir->type) {
    case NodeType::kSpecial:
      if (parent == kRootIno) return LookupInRoot(r, name);
      if (parent == kControlDirIno) return LookupInControl(r, name);
      if (parent == kAtDirIno) return LookupMoment(r, name);
      return ErrorReply{ENOTDIR};
    case NodeType::kCollection:
      return LookupInCollection(r, *dir, name);
    case NodeType::kPast:
      return LookupInPast(r, *dir, name);
    case NodeType::kVersion:
    case NodeType::kTreeEntry:
      return LookupInTree(r, *dir, name);
    case NodeType::kDraft:
      if (DraftVisible(r, *dir->draft) != 0) return ErrorReply{ENOENT};
      return LookupDraft(r, *dir, name);
    default:
      return ErrorReply{ENOTDIR};
  }
}

Reply FileSystem::LookupInRoot(const Request& r, std::string_view name) {
  if (name == kControlDir) {
    Node node{.type = NodeType::kSpecial, .ino = kControlDirIno};
    auto attr = StatOf(r, node);
    if (!attr) return Refuse(r, "stat of " + PathOf(node), attr.error());
    return MakeEntry(kControlDirIno, *attr, kControlEntryTimeout,
                     kDirAttrTimeout);
  }
  registry::Result<registry::Registry::CollectionRef> collection;
  if (options_.as_of) {
    auto then = registry_.GetCollectionAt(name, *options_.as_of);
    if (then) {
      collection = registry::Registry::CollectionRef{then->id, then->name};
    } else {
      collection = std::unexpected(std::move(then.error()));
    }
  } else {
    collection = registry_.LookupCollection(name);
  }
  if (!collection) {
    const auto what = [&] { return fmt::format("lookup of {}", name); };
    return ErrorReply{LookupErrnoFor(r, what, collection.error())};
  }
  RememberCollection(collection->id, collection->name);
  const Ino ino =
      MakeIno(NodeType::kCollection, static_cast<uint64_t>(collection->id));
  return MakeEntry(ino, DirStat(ino, 0755, options_.owner_uid, started_),
                   options_.version_timeout, kDirAttrTimeout);
}

Reply FileSystem::LookupInControl(const Request& r, std::string_view name) {
  Node node{.type = NodeType::kSpecial};
  if (name == kHistoryFile) {
    node.ino = kGlobalHistoryIno;
  } else if (name == kWhoamiFile) {
    node.ino = kWhoamiIno;
  } else if (name == kControlFile) {
    return LookupControlFile(r);
  } else if (name == kAtDir) {
    return MakeEntry(kAtDirIno,
                     DirStat(kAtDirIno, 0555, options_.owner_uid, started_),
                     kControlEntryTimeout, kDirAttrTimeout);
  } else {
    return ErrorReply{ENOENT};
  }
  auto attr = StatOf(r, node);
  if (!attr) return Refuse(r, "stat of a history file", attr.error());
  return MakeEntry(node.ino, *attr, kControlEntryTimeout, kUncachedTimeout);
}

Reply FileSystem::LookupInCollection(const Request& r, const Node& dir,
                                     std::string_view name) {
  if (name == kCollectionHistory) {
    staging_.NoteLookup(r.pid, dir.collection_id, name, ExistingKind::kOther);
    Node node = dir;
    node.type = NodeType::kCollectionHistory;
    node.ino = MakeIno(NodeType::kCollectionHistory,
                       static_cast<uint64_t>(dir.collection_id));
    auto attr = StatOf(r, node);
    if (!attr) return Refuse(r, "stat of a history file", attr.error());
    return MakeEntry(node.ino, *attr, options_.version_timeout,
                     kUncachedTimeout);
  }
  const auto what = [&] {
    return fmt::format("lookup of {}/{}", dir.collection, name);
  };
  if (const auto number = registry::ParseVersionName(name)) {
    if (!options_.as_of) return LookupVersion(r, dir, name, *number);
    auto version = registry_.GetVersionByNumberAt(dir.collection_id, *number,
                                                  options_.as_of);
    if (!version) return ErrorReply{LookupErrnoFor(r, what, version.error())};
    staging_.NoteLookup(r.pid, dir.collection_id, name, ExistingKind::kOther);
    RememberVersion(*version);
    Node node = dir;
    node.type = NodeType::kVersion;
    node.ino = MakeIno(NodeType::kVersion, static_cast<uint64_t>(version->id));
    node.version = std::move(*version);
    return ImmutableEntry(r, node);
  }
  if (auto reflog = registry::ParseReflogName(name)) {
    return LookupReflog(r, dir, name, *reflog, options_.as_of, "");
  }
  if (options_.as_of) {
    auto alias = registry_.GetAliasAt(dir.collection, name, *options_.as_of);
    if (!alias) return ErrorReply{LookupErrnoFor(r, what, alias.error())};
    return LinkEntry(AliasIno(*alias), LinkNodeOf(*alias, dir.collection_id));
  }
  if (auto staged = staging_.Find(dir.collection_id, name)) {
    return LinkEntry(staged->ino, StagedLinkNode(*staged, dir.collection));
  }
  if (IsDraftName(name)) return LookupDraft(r, dir, name);
  auto alias = registry_.GetAlias(dir.collection, name);
  if (!alias) return ErrorReply{LookupErrnoFor(r, what, alias.error())};
  staging_.NoteLookup(r.pid, dir.collection_id, name, ExistingKind::kAlias);
  return LinkEntry(links_.InoFor(AliasIno(*alias)),
                   LinkNodeOf(*alias, dir.collection_id));
}

// A version, which is immutable, is answered with its attributes alone
// (Registry::GetVersionAttrs): a mount can hold those of every version of
// a large store, where it holds whole versions only for the files it has
// open. An open reads its version by id (Resolve).
Reply FileSystem::LookupVersion(const Request& r, const Node& dir,
                                std::string_view name, uint64_t number) {
  auto attrs = registry_.GetVersionAttrs(
      {.id = dir.collection_id, .name = dir.collection}, number);
  if (!attrs) {
    const auto what = [&] {
      return fmt::format("lookup of {}/{}", dir.collection, name);
    };
    return ErrorReply{LookupErrnoFor(r, what, attrs.error())};
  }
  staging_.NoteLookup(r.pid, dir.collection_id, name, ExistingKind::kOther);
  return VersionEntry(*attrs);
}

Reply FileSystem::LookupInTree(const Request& r, const Node& dir,
                               std::string_view name) {
  if (dir.type == NodeType::kVersion && dir.version->kind != Kind::kTree) {
    return ErrorReply{ENOTDIR};
  }
  if (dir.entry && !dir.entry->is_dir) return ErrorReply{ENOTDIR};
  const int64_t parent_id = dir.entry ? dir.entry->id : 0;
  auto entry = registry_.LookupTree(dir.version->id, parent_id, name);
  if (!entry) {
    const auto what = [&] {
      return fmt::format("lookup of {}/{}", PathOf(dir), name);
    };
    return ErrorReply{LookupErrnoFor(r, what, entry.error())};
  }
  Node node = dir;
  node.type = NodeType::kTreeEntry;
  node.ino = MakeIno(NodeType::kTreeEntry, static_cast<uint64_t>(entry->id));
  node.entry = std::move(*entry);
  return ImmutableEntry(r, node);
}

Reply FileSystem::ImmutableEntry(const Request& r, const Node& node) {
  auto attr = StatOf(r, node);
  if (!attr) return Refuse(r, "stat of " + PathOf(node), attr.error());
  return MakeEntry(node.ino, *attr, options_.version_timeout,
                   options_.version_timeout);
}

Reply FileSystem::Forget(Ino ino, uint64_t nlookup) {
  const NodeType type = TypeOf(ino);
  if (type == NodeType::kAlias || type == NodeType::kLatest ||
      type == NodeType::kStaged) {
    links_.Forget(ino, nlookup);
  }
  return NoneReply{};
}

}  // namespace regfs::fs
