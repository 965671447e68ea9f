// What an inode is (FileSystem::Resolve) and what it is called in logs
// (PathOf), with the caches of collection names and versions behind them.
#include "fs/file_system.h"

#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>

#include "fs/file_system_internal.h"
#include "registry/names.h"

namespace regfs::fs {

using registry::Code;
using registry::Result;
using registry::Version;

void FileSystem::RememberCollection(int64_t id, const std::string& name) {
  MutexLock lock(collections_mu_);
  collection_names_[id] = name;
  collection_ids_[name] = id;
}

void FileSystem::ForgetCollection(std::string_view name) {
  std::optional<int64_t> id;
  {
    MutexLock lock(collections_mu_);
    const auto it = collection_ids_.find(name);
    if (it == collection_ids_.end()) return;
    id = it->second;
    collection_names_.erase(it->second);
    collection_ids_.erase(it);
  }
  MutexLock lock(versions_mu_);
  std::erase_if(versions_, [&](const auto& item) {
    return item.second.collection_id == *id;
  });
}

std::optional<int64_t> FileSystem::KnownCollectionId(std::string_view name) {
  MutexLock lock(collections_mu_);
  const auto it = collection_ids_.find(name);
  if (it == collection_ids_.end()) return std::nullopt;
  return it->second;
}

std::vector<int64_t> FileSystem::KnownCollectionIds() {
  std::vector<int64_t> ids;
  MutexLock lock(collections_mu_);
  for (const auto& [id, name] : collection_names_) ids.push_back(id);
  return ids;
}

void FileSystem::ForgetVersion(std::string_view collection, uint64_t number) {
  MutexLock lock(versions_mu_);
  std::erase_if(versions_, [&](const auto& item) {
    return item.second.collection == collection &&
           item.second.number == number;
  });
}

Result<std::string> FileSystem::CollectionName(int64_t id) {
  {
    MutexLock lock(collections_mu_);
    const auto it = collection_names_.find(id);
    if (it != collection_names_.end()) return it->second;
  }
  REGFS_ASSIGN_OR_RETURN(registry::Collection collection,
                         registry_.GetCollectionById(id));
  RememberCollection(collection.id, collection.name);
  return std::move(collection.name);
}

void FileSystem::RememberVersion(Version version) {
  // Tags, metadata and aliases change; the attribute handlers read them
  // fresh, so the cache keeps only the immutable fields.
  version.tags.clear();
  version.metadata.clear();
  version.aliases.clear();
  MutexLock lock(versions_mu_);
  if (versions_.size() >= kMaxCachedVersions) versions_.clear();
  versions_.try_emplace(version.id, std::move(version));
}

Result<Version> FileSystem::VersionById(int64_t id) {
  {
    MutexLock lock(versions_mu_);
    const auto it = versions_.find(id);
    if (it != versions_.end()) return it->second;
  }
  REGFS_ASSIGN_OR_RETURN(Version version, registry_.GetVersionById(id));
  RememberVersion(version);
  return version;
}

Result<FileSystem::Node> FileSystem::Resolve(Ino ino) {
  Node node;
  node.ino = ino;
  node.type = TypeOf(ino);
  const uint64_t id = IdOf(ino);
  // The node is in the collection of `of` (a Version, LinkNode, PastNode).
  const auto in_collection_of = [&node](const auto& of) {
    node.collection_id = of.collection_id;
    node.collection = of.collection;
  };
  switch (node.type) {
    case NodeType::kSpecial:
      if (ino < kRootIno || ino > kCtlIno) break;
      return node;
    case NodeType::kCollection:
    case NodeType::kCollectionHistory: {
      REGFS_ASSIGN_OR_RETURN(node.collection,
                             CollectionName(static_cast<int64_t>(id)));
      node.collection_id = static_cast<int64_t>(id);
      return node;
    }
    case NodeType::kVersion: {
      REGFS_ASSIGN_OR_RETURN(Version version,
                             VersionById(static_cast<int64_t>(id)));
      in_collection_of(version);
      node.version = std::move(version);
      return node;
    }
    case NodeType::kTreeEntry: {
      REGFS_ASSIGN_OR_RETURN(registry::TreeEntry entry,
                             registry_.GetTreeEntry(static_cast<int64_t>(id)));
      REGFS_ASSIGN_OR_RETURN(Version version, VersionById(entry.version_id));
      in_collection_of(version);
      node.version = std::move(version);
      node.entry = std::move(entry);
      return node;
    }
    case NodeType::kAlias:
    case NodeType::kLatest:
    case NodeType::kStaged: {
      auto link = links_.Get(ino);
      if (!link) break;
      in_collection_of(*link);
      node.link = std::move(*link);
      return node;
    }
    case NodeType::kDraft: {
      auto key = drafts_.Get(ino);
      if (!key) break;
      REGFS_ASSIGN_OR_RETURN(node.collection,
                             CollectionName(key->collection_id));
      node.collection_id = key->collection_id;
      node.draft = std::move(*key);
      return node;
    }
    case NodeType::kPast: {
      auto past = past_.Get(ino);
      if (!past) break;
      in_collection_of(*past);
      if (past->kind == PastNode::Kind::kLink) node.link = past->link;
      node.past = std::move(*past);
      return node;
    }
  }
  return registry::Fail(Code::kNotFound, fmt::format("unknown inode {}", ino));
}

std::expected<FileSystem::Node, ErrorReply> FileSystem::ResolveOr(
    const Request& r, Ino ino, std::string_view op) {
  auto node = Resolve(ino);
  if (!node) {
    return std::unexpected(ErrorReply{
        ErrnoFor(r, fmt::format("{} of inode {}", op, ino), node.error())});
  }
  // Another user's draft does not exist for the caller.
  if (node->draft && DraftVisible(r, *node->draft) != 0) {
    return std::unexpected(ErrorReply{ENOENT});
  }
  return std::move(*node);
}

std::string FileSystem::PathOf(const Node& node) {
  switch (node.type) {
    case NodeType::kSpecial:
      if (node.ino == kRootIno) return "/";
      if (node.ino == kControlDirIno) return std::string(kControlDir);
      if (node.ino == kGlobalHistoryIno) return ".regfs/history";
      if (node.ino == kAtDirIno) return ".regfs/at";
      if (node.ino == kCtlIno) return ".regfs/ctl";
      return ".regfs/whoami";
    case NodeType::kCollection:
      return node.collection;
    case NodeType::kCollectionHistory:
      return node.collection + "/.history";
    case NodeType::kVersion:
      return node.collection + "/" +
             registry::VersionName(node.version->number);
    case NodeType::kTreeEntry: {
      std::string path = node.entry->name;
      int64_t parent = node.entry->parent_id;
      for (int depth = 0; parent != 0 && depth < 64; ++depth) {
        auto up = registry_.GetTreeEntry(parent);
        if (!up) break;
        path = up->name + "/" + path;
        parent = up->parent_id;
      }
      return node.collection + "/" +
             registry::VersionName(node.version->number) + "/" + path;
    }
    case NodeType::kAlias:
    case NodeType::kLatest:
    case NodeType::kStaged:
      return node.collection + "/" + node.link->name;
    case NodeType::kDraft:
      return node.collection + "/" + node.draft->path;
    case NodeType::kPast: {
      const PastNode& past = *node.past;
      std::string path =
          past.moment.empty() ? "" : ".regfs/at/" + past.moment;
      if (past.kind == PastNode::Kind::kMoment) return path;
      path += (path.empty() ? "" : "/") + past.collection;
      if (past.kind == PastNode::Kind::kLink) path += "/" + past.link.name;
      return path;
    }
  }
  return "?";
}

std::string FileSystem::PathOf(Ino ino) {
  auto node = Resolve(ino);
  if (!node) return fmt::format("inode {}", ino);
  return PathOf(*node);
}

std::string FileSystem::PathIn(Ino parent, std::string_view name) {
  const std::string dir = PathOf(parent);
  return dir == "/" ? std::string(name) : fmt::format("{}/{}", dir, name);
}

}  // namespace regfs::fs
