// Attributes: the stat of every kind of node, how long the kernel may
// keep it, and the entries that carry it (getattr, readlink).
#include "fs/file_system.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "fs/file_system_internal.h"
#include "registry/names.h"

namespace regfs::fs {

using registry::Code;
using registry::Kind;
using registry::Result;
using registry::TimeMs;
using registry::TreeEntry;
using registry::Version;

namespace {

constexpr blksize_t kBlockSize = 1 << 20;  // 1 MiB: big reads

timespec ToTimespec(TimeMs ms) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ms / 1000);
  ts.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  return ts;
}

// What every node's attributes share; the caller adds links and sizes.
struct stat CommonStat(Ino ino, mode_t mode, uid_t uid, gid_t gid,
                       TimeMs mtime) {
  struct stat st {};
  st.st_ino = ino;
  st.st_mode = mode;
  st.st_uid = uid;
  st.st_gid = gid;
  st.st_blksize = kBlockSize;
  st.st_mtim = st.st_ctim = st.st_atim = ToTimespec(mtime);
  return st;
}

// What readlink answers: "v3", or a view of the past's own target.
std::string LinkTarget(const LinkNode& link) {
  return link.target.empty() ? registry::VersionName(link.version)
                             : link.target;
}

}  // namespace

struct stat FileSystem::DirStat(Ino ino, mode_t perm, uid_t uid,
                                TimeMs mtime) const {
  struct stat st =
      CommonStat(ino, S_IFDIR | perm, uid, options_.owner_gid, mtime);
  st.st_nlink = 2;
  st.st_size = 4096;
  st.st_blocks = 8;
  return st;
}

struct stat FileSystem::FileStat(Ino ino, mode_t perm, uint64_t size, uid_t uid,
                                 TimeMs mtime) const {
  struct stat st =
      CommonStat(ino, S_IFREG | perm, uid, options_.owner_gid, mtime);
  st.st_nlink = 1;
  st.st_size = static_cast<off_t>(size);
  st.st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
  return st;
}

struct stat FileSystem::VersionStat(Ino ino, bool tree, uint64_t size,
                                    uid_t creator_uid, TimeMs created) const {
  if (tree) return DirStat(ino, 0555, creator_uid, created);
  return FileStat(ino, 0444, size, creator_uid, created);
}

EntryReply FileSystem::VersionEntry(const registry::VersionAttrs& a) const {
  const Ino ino = MakeIno(NodeType::kVersion, static_cast<uint64_t>(a.id));
  return MakeEntry(
      ino,
      VersionStat(ino, a.kind == Kind::kTree, a.size, a.creator_uid, a.created),
      options_.version_timeout, options_.version_timeout);
}

struct stat FileSystem::LinkStat(Ino ino, const LinkNode& link) const {
  struct stat st = CommonStat(ino, S_IFLNK | 0777, link.updated_uid,
                              options_.owner_gid, link.updated);
  st.st_nlink = 1;
  st.st_size = static_cast<off_t>(LinkTarget(link).size());
  return st;
}

Result<struct stat> FileSystem::StatOf(const Request& r, const Node& node) {
  const uid_t owner = options_.owner_uid;
  switch (node.type) {
    case NodeType::kSpecial:
      if (node.ino == kRootIno) return DirStat(node.ino, 0755, owner, started_);
      if (node.ino == kControlDirIno || node.ino == kAtDirIno) {
        return DirStat(node.ino, 0555, owner, started_);
      }
      if (node.ino == kCtlIno) return ControlFileStat();
      if (node.ino == kWhoamiIno) {
        return FileStat(node.ino, 0444, RenderWhoami(r).size(), owner,
                        registry::NowMs());
      }
      [[fallthrough]];
    case NodeType::kCollectionHistory: {
      auto text = histories_.Get(node.collection);
      REGFS_ASSIGN_OR_RETURN(const uint64_t size, text->Refresh(registry_));
      return FileStat(node.ino, 0444, size, owner,
                      std::max(text->last_time(), TimeMs{0}));
    }
    case NodeType::kCollection:
      return DirStat(node.ino, 0755, owner, started_);
    case NodeType::kVersion: {
      const Version& v = *node.version;
      return VersionStat(node.ino, v.kind == Kind::kTree, v.size, v.creator_uid,
                         v.created);
    }
    case NodeType::kTreeEntry: {
      const TreeEntry& e = *node.entry;
      const Version& v = *node.version;
      if (e.is_dir) return DirStat(node.ino, 0555, v.creator_uid, v.created);
      return FileStat(node.ino, e.executable ? 0555 : 0444, e.size,
                      v.creator_uid, v.created);
    }
    case NodeType::kAlias:
    case NodeType::kLatest:
    case NodeType::kStaged:
      return LinkStat(node.ino, *node.link);
    case NodeType::kPast:
      if (node.link) return LinkStat(node.ino, *node.link);
      return DirStat(node.ino, 0555, owner, started_);
    case NodeType::kDraft:
      return StatDraft(r, node);
  }
  return registry::Fail(Code::kNotFound, "unknown inode");
}

double FileSystem::AttrTimeout(const Node& node) const {
  switch (node.type) {
    case NodeType::kSpecial:
      return node.ino == kRootIno || node.ino == kControlDirIno ||
                     node.ino == kAtDirIno
                 ? kDirAttrTimeout
                 : kUncachedTimeout;
    case NodeType::kCollectionHistory:
      return kUncachedTimeout;
    case NodeType::kCollection:
      return kDirAttrTimeout;
    case NodeType::kVersion:
    case NodeType::kTreeEntry:
      return options_.version_timeout;
    case NodeType::kAlias:
    case NodeType::kLatest:
    case NodeType::kStaged:
      return options_.alias_timeout;
    case NodeType::kPast:
      return kUncachedTimeout;  // whether it may move is the entry's
    case NodeType::kDraft:
      return kDraftTimeout;
  }
  return kUncachedTimeout;
}

EntryReply FileSystem::MakeEntry(Ino ino, const struct stat& attr,
                                 double entry_timeout,
                                 double attr_timeout) const {
  EntryReply reply;
  reply.entry.ino = ino;
  reply.entry.attr = attr;
  reply.entry.entry_timeout = entry_timeout;
  reply.entry.attr_timeout = attr_timeout;
  return reply;
}

EntryReply FileSystem::LinkEntry(Ino ino, LinkNode link) {
  const struct stat attr = LinkStat(ino, link);
  links_.Remember(ino, std::move(link));
  return MakeEntry(ino, attr, options_.alias_timeout, options_.alias_timeout);
}

Reply FileSystem::GetAttr(const Request& r, Ino ino) {
  auto node = ResolveOr(r, ino, "getattr");
  if (!node) return node.error();
  auto attr = StatOf(r, *node);
  if (!attr) return Refuse(r, "stat of " + PathOf(*node), attr.error());
  return AttrReply{*attr, AttrTimeout(*node)};
}

Reply FileSystem::ReadLink(const Request& r, Ino ino) {
  auto node = ResolveOr(r, ino, "readlink");
  if (!node) return node.error();
  if (!node->link) return ErrorReply{EINVAL};
  const auto what = [&] { return "readlink of " + PathOf(*node); };
  if (const int err = CheckRead(r, what)) return ErrorReply{err};
  return LinkReply{LinkTarget(*node->link)};
}

}  // namespace regfs::fs
