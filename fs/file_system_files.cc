// Open files and directories: blobs, the history and whoami files, and
// directory listings (open, read, opendir, readdir, statfs).
#include "fs/file_system.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "fs/file_system_internal.h"
#include "registry/names.h"
#include "registry/whoami.h"

namespace regfs::fs {

using registry::Alias;
using registry::Code;
using registry::Collection;
using registry::Identity;
using registry::Kind;
using registry::Result;
using registry::TreeEntry;
using registry::Version;

Reply FileSystem::Open(const Request& r, Ino ino, int flags) {
  if (ino == kCtlIno) return OpenControlFile(r, flags);
  auto node = ResolveOr(r, ino, "open");
  if (!node) return node.error();
  const auto what = [&] { return "open of " + PathOf(*node); };
  if (const int err = CheckRead(r, what)) return ErrorReply{err};
  if (node->type == NodeType::kDraft) return OpenDraft(r, *node, flags);
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
    if (node->type == NodeType::kVersion && !node->entry) {
      return RefuseImmutable(
          r, what,
          fmt::format("versions are immutable: write a draft ({}/.{}) and "
                      "rename it onto latest, an alias or the next vN",
                      node->collection, node->version->filename.empty()
                                            ? "new"
                                            : node->version->filename));
    }
    return RefuseImmutable(r, what,
                           "versions and control files are read-only");
  }
  OpenReply reply;
  reply.handle = std::make_unique<Handle>();
  Handle& handle = *reply.handle;
  switch (node->type) {
    case NodeType::kSpecial:
    case NodeType::kCollectionHistory:
      if (node->ino == kWhoamiIno) {
        handle.kind = Handle::Kind::kText;
        handle.text = RenderWhoami(r);
      } else if (node->ino == kGlobalHistoryIno ||
                 node->type == NodeType::kCollectionHistory) {
        handle.kind = Handle::Kind::kHistory;
        handle.history = histories_.Get(node->collection);
      } else {
        return ErrorReply{EISDIR};
      }
      reply.info.direct_io = 1;
      return reply;
    case NodeType::kVersion:
    case NodeType::kTreeEntry: {
      std::string blob;
      if (node->entry) {
        if (node->entry->is_dir) return ErrorReply{EISDIR};
        blob = node->entry->blob;
      } else {
        if (node->version->kind == Kind::kTree) return ErrorReply{EISDIR};
        blob = node->version->blob;
      }
      // Corruption (a missing blob, or bytes that differ from its
      // digest) is EIO, logged with the version and the blob.
      auto fd = registry_.OpenBlob(blob);
      if (!fd) return Refuse(r, what, fd.error());
      handle.kind = Handle::Kind::kBlob;
      handle.fd = std::move(*fd);
      handle.ino = node->ino;
      reply.info.keep_cache = 1;
      reply.info.noflush = 1;
      reply.passthrough = passthrough();
      return reply;
    }
    default:
      return ErrorReply{EINVAL};
  }
}

Reply FileSystem::Read(const Request& r, Handle& handle, size_t size,
                       off_t offset) {
  if (offset < 0) return ErrorReply{EINVAL};
  if (handle.control) {
    return BufReply{handle.control->Read(static_cast<size_t>(offset), size)};
  }
  switch (handle.kind) {
    case Handle::Kind::kBlob:
    case Handle::Kind::kDraft:
      return FdReply{handle.fd.get(), size, offset};
    case Handle::Kind::kText:
      if (static_cast<size_t>(offset) >= handle.text.size()) return BufReply{};
      return BufReply{handle.text.substr(static_cast<size_t>(offset), size)};
    case Handle::Kind::kHistory: {
      // Only a read past the rendered text asks for newer events.
      const uint64_t start = static_cast<uint64_t>(offset);
      if (start + size > handle.history->size()) {
        auto refreshed = handle.history->Refresh(registry_);
        if (!refreshed) {
          return Refuse(r, "read of a history file", refreshed.error());
        }
      }
      return BufReply{handle.history->Read(start, size)};
    }
    case Handle::Kind::kDir:
      return ErrorReply{EISDIR};
  }
  return ErrorReply{EINVAL};
}

std::string FileSystem::RenderWhoami(const Request& r) {
  const Identity who = ReadIdentity(r);
  // Keys sorted, as the mount has always shown them.
  nlohmann::json json = registry::WhoamiJson(who, callers_.RoleOf(who));
  // What this mount does for its readers (README "Reads at the disk's
  // speed").
  // And how current its view is (issue 14, "Failures"): a shared store's
  // database that stopped answering leaves the mount serving aliases as
  // last known.
  const auto stale = registry_.StaleSince();
  json["mount"] = {
      {"passthrough", passthrough_status_.load(std::memory_order_relaxed)},
      {"view", stale ? "stale since " + registry::FormatTime(*stale) +
                           ": the database does not answer; aliases as "
                           "last known"
                     : std::string("current")}};
  return json.dump() + "\n";
}

Result<std::vector<DirEntry>> FileSystem::ListDir(const Node& node) {
  std::vector<DirEntry> entries;
  entries.push_back({".", node.ino, S_IFDIR});
  entries.push_back({"..", kRootIno, S_IFDIR});
  if (node.ino == kRootIno) {
    entries.push_back({std::string(kControlDir), kControlDirIno, S_IFDIR});
    REGFS_ASSIGN_OR_RETURN(const auto collections,
                           options_.as_of
                               ? registry_.CollectionsAt(*options_.as_of)
                               : registry_.ListCollections());
    for (const Collection& c : collections) {
      RememberCollection(c.id, c.name);
      entries.push_back(
          {c.name, MakeIno(NodeType::kCollection, static_cast<uint64_t>(c.id)),
           S_IFDIR});
    }
    return entries;
  }
  if (node.ino == kControlDirIno) {
    entries.push_back({std::string(kHistoryFile), kGlobalHistoryIno, S_IFREG});
    entries.push_back({std::string(kWhoamiFile), kWhoamiIno, S_IFREG});
    entries.push_back({std::string(kAtDir), kAtDirIno, S_IFDIR});
    entries.push_back({std::string(kControlFile), kCtlIno, S_IFREG});
    return entries;
  }
  if (node.ino == kAtDirIno || node.type == NodeType::kPast) {
    return ListPast(node);
  }
  if (node.type == NodeType::kCollection) {
    return ListCollection(node, std::move(entries));
  }
  if (node.type == NodeType::kDraft) return ListDraftDir(node);
  if (node.type == NodeType::kVersion || node.type == NodeType::kTreeEntry) {
    if (node.entry ? !node.entry->is_dir : node.version->kind != Kind::kTree) {
      return registry::Fail(Code::kInvalidArgument, "not a directory");
    }
    REGFS_ASSIGN_OR_RETURN(
        const auto tree,
        registry_.ListTree(node.version->id, node.entry ? node.entry->id : 0));
    for (const TreeEntry& e : tree) {
      entries.push_back(
          {e.name, MakeIno(NodeType::kTreeEntry, static_cast<uint64_t>(e.id)),
           static_cast<mode_t>(e.is_dir ? S_IFDIR : S_IFREG)});
    }
    return entries;
  }
  return registry::Fail(Code::kInvalidArgument, "not a directory");
}

Result<std::vector<DirEntry>> FileSystem::ListCollection(
    const Node& node, std::vector<DirEntry> entries) {
  entries.push_back({std::string(kCollectionHistory),
                     MakeIno(NodeType::kCollectionHistory,
                             static_cast<uint64_t>(node.collection_id)),
                     S_IFREG});
  REGFS_ASSIGN_OR_RETURN(
      const auto versions,
      options_.as_of ? registry_.VersionsAt(node.collection, *options_.as_of)
                     : registry_.ListVersions(node.collection));
  for (const Version& v : versions) {
    entries.push_back(
        {registry::VersionName(v.number),
         MakeIno(NodeType::kVersion, static_cast<uint64_t>(v.id)),
         static_cast<mode_t>(v.kind == Kind::kTree ? S_IFDIR : S_IFREG),
         v.attrs()});
  }
  REGFS_ASSIGN_OR_RETURN(
      const auto aliases,
      options_.as_of ? registry_.AliasesAt(node.collection, *options_.as_of)
                     : registry_.ListAliases(node.collection));
  for (const Alias& a : aliases) {
    // The inode a lookup of the name gives (link_table.h).
    entries.push_back({a.name, links_.InoFor(AliasIno(a)), S_IFLNK});
  }
  return entries;
}

Reply FileSystem::OpenDir(const Request& r, Ino ino) {
  auto node = ResolveOr(r, ino, "opendir");
  if (!node) return node.error();
  const auto what = [&] { return "opendir of " + PathOf(*node); };
  if (const int err = CheckRead(r, what)) return ErrorReply{err};
  auto entries = ListDir(*node);
  if (entries && node->type == NodeType::kCollection) {
    AppendDrafts(r, *node, *entries);
  }
  if (!entries) {
    if (entries.error().code == Code::kInvalidArgument) {
      return ErrorReply{ENOTDIR};
    }
    return Refuse(r, what, entries.error());
  }
  OpenReply reply;
  reply.directory = true;
  reply.handle = std::make_unique<Handle>();
  reply.handle->kind = Handle::Kind::kDir;
  reply.handle->ino = ino;
  reply.handle->entries = std::move(*entries);
  if (node->type == NodeType::kVersion || node->type == NodeType::kTreeEntry) {
    reply.info.cache_readdir = 1;  // trees are immutable
    reply.info.keep_cache = 1;
  }
  return reply;
}

namespace {

// The entries of `handle` from `offset` on, each added by `add(entry,
// buf, room, next offset)` (which returns the bytes it needs, as
// fuse_add_direntry does), as many as fit in `size` bytes. `undo(entry)`
// runs for the one that did not fit.
template <class Add, class Undo>
Reply FillDir(const Handle& handle, size_t size, off_t offset, Add&& add,
              Undo&& undo) {
  if (handle.kind != Handle::Kind::kDir) return ErrorReply{ENOTDIR};
  std::string buf(size, '\0');
  size_t used = 0;
  for (size_t i = static_cast<size_t>(std::max<off_t>(offset, 0));
       i < handle.entries.size(); ++i) {
    const size_t need = add(handle.entries[i], buf.data() + used, size - used,
                            static_cast<off_t>(i + 1));
    if (need > size - used) {
      undo();
      break;
    }
    used += need;
  }
  buf.resize(used);
  return BufReply{std::move(buf)};
}

}  // namespace

Reply FileSystem::ReadDir(const Request& r, Handle& handle, size_t size,
                          off_t offset) {
  return FillDir(
      handle, size, offset,
      [&](const DirEntry& e, char* buf, size_t room, off_t next) {
        struct stat st {};
        st.st_ino = e.ino;
        st.st_mode = e.type;
        return fuse_add_direntry(r.req, buf, room, e.name.c_str(), &st, next);
      },
      [] {});
}

// readdir with each entry's attributes (`ls -l` of a big collection asks
// no lookup per name): the same snapshot as ReadDir, each entry looked up
// as Lookup would, but a version, which is immutable, answered with the
// attributes its listing read (VersionEntry). The kernel counts a lookup
// for every entry it is given, except `.` and `..`; one that does not fit
// is forgotten again. An entry that no longer resolves is listed without
// attributes (node id 0).
Reply FileSystem::ReadDirPlus(const Request& r, Handle& handle, size_t size,
                              off_t offset) {
  Ino counted = 0;  // the last entry's node id, if the kernel would count it
  return FillDir(
      handle, size, offset,
      [&](const DirEntry& e, char* buf, size_t room, off_t next) {
        fuse_entry_param entry{};
        counted = 0;
        if (e.attrs) {
          // A version, as its collection's listing read it: immutable,
          // so what the listing read is what a lookup would answer.
          entry = VersionEntry(*e.attrs).entry;
          counted = entry.ino;
        } else if (e.name != "." && e.name != "..") {
          Reply looked_up = Lookup(r, handle.ino, e.name);
          if (auto* found = std::get_if<EntryReply>(&looked_up)) {
            entry = found->entry;
            counted = entry.ino;
          }
        }
        if (entry.ino == 0) {
          entry.attr.st_ino = e.ino;
          entry.attr.st_mode = e.type;
        }
        return fuse_add_direntry_plus(r.req, buf, room, e.name.c_str(), &entry,
                                      next);
      },
      [&] {
        if (counted != 0) Forget(counted, 1);
      });
}

Reply FileSystem::StatFs(const Request& r) {
  StatfsReply reply;
  if (statvfs(registry_.store().c_str(), &reply.stat) != 0) {
    const int err = errno;
    return Refuse(r, "statfs", err, std::strerror(err));
  }
  reply.stat.f_namemax = 255;
  return reply;
}

}  // namespace regfs::fs
