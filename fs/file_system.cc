#include "fs/file_system.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

#include "fs/error_codes.h"
#include "fs/link_target.h"
#include "registry/history.h"
#include "registry/names.h"

namespace regfs::fs {

using registry::Alias;
using registry::Code;
using registry::Collection;
using registry::Error;
using registry::Identity;
using registry::Kind;
using registry::Result;
using registry::Role;
using registry::TimeMs;
using registry::TreeEntry;
using registry::Version;

namespace {

constexpr std::string_view kControlDir = ".regfs";
constexpr std::string_view kHistoryFile = "history";
constexpr std::string_view kWhoamiFile = "whoami";
constexpr std::string_view kAtDir = "at";
constexpr std::string_view kCollectionHistory = ".history";
constexpr blksize_t kBlockSize = 1 << 20;  // 1 MiB: big reads
// How long an announced change waits for the kernel to take this mount's
// invalidations: well within the writer's deadline, so that the writer
// hears from us even when a notification is stuck behind a directory lock
// (e.g. held by a rename of ours that is announcing to that writer's own
// mount).
constexpr auto kAnnouncedFlushPatience = registry::kAnnounceDeadline / 2;

timespec ToTimespec(TimeMs ms) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ms / 1000);
  ts.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  return ts;
}

// The inode of an alias as the registry returned it.
Ino AliasIno(const Alias& alias) {
  return MakeIno(alias.is_latest ? NodeType::kLatest : NodeType::kAlias,
                 alias.revision);
}

LinkNode StagedLinkNode(const StagedEntry& entry,
                        const std::string& collection) {
  LinkNode node;
  node.collection_id = entry.collection_id;
  node.collection = collection;
  node.name = entry.name;
  node.version = entry.version;
  node.staged = true;
  node.updated = entry.created_ms;
  node.updated_uid = entry.who.uid;
  node.updated_by = entry.who.user;
  return node;
}

// What readlink answers: "v3", or a view of the past's own target.
std::string LinkTarget(const LinkNode& link) {
  return link.target.empty() ? registry::VersionName(link.version)
                             : link.target;
}

std::vector<gid_t> RequestGroups(fuse_req_t req) {
  std::vector<gid_t> groups(64);
  int n =
      fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
  if (n > static_cast<int>(groups.size())) {
    groups.resize(static_cast<size_t>(n));
    n = fuse_req_getgroups(req, n, groups.data());
  }
  if (n < 0) return {};
  groups.resize(std::min(static_cast<size_t>(n), groups.size()));
  return groups;
}

}  // namespace

FileSystem::FileSystem(registry::Registry& registry, FileSystemOptions options)
    : registry_(registry),
      options_(options),
      started_(registry::NowMs()),
      callers_(registry),
      staging_(&Staging::Clock::now, options.staged_private_lifetime,
               options.staged_commit_after),
      histories_(options.as_of),
      watcher_(
          registry, [this](const auto& events) { OnEvents(events); },
          [this] { OnTick(); }, options.watch_interval) {}

FileSystem::~FileSystem() { Stop(); }

void FileSystem::Start(fuse_session* session) {
  notifier_.Start(session);
  watcher_.Start();
  if (options_.as_of) return;
  auto listener =
      registry_.Listen([this](uint64_t seq) { OnAnnounced(seq); });
  if (listener) {
    listener_ = std::move(*listener);
  } else {
    spdlog::warn(
        "changes made by other processes will show within {} ms, not at "
        "once: {}",
        options_.watch_interval.count(), listener.error().message);
  }
}

void FileSystem::Stop(const std::function<void()>& unstick) {
  listener_.reset();
  watcher_.Stop();
  // No tick runs now. A pending symlink of an alias name is committed,
  // never lost; the kernel is gone, so nothing is invalidated.
  for (StagedEntry& entry : staging_.TakeAll()) {
    if (Staging::IsStagingOnlyName(entry.name)) {
      spdlog::info("dropped staged symlink {} (uid {}) at unmount: private "
                   "staging, never renamed",
                   entry.name, entry.who.uid);
      continue;
    }
    CommitStaged(entry, "the mount stops", /*invalidate=*/false);
  }
  notifier_.Stop(std::chrono::seconds(2), unstick);
}

void FileSystem::Init(fuse_conn_info* conn) {
  // Reads are answered from the blob's fd; let libfuse splice them.
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) {
    conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
  }
  // Aliases move: the kernel must ask readlink every time.
  conn->want &= ~FUSE_CAP_CACHE_SYMLINKS;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  // As large as the kernel allows; libfuse clamps max_write to its 1 MiB
  // buffer, which also sets the kernel's max_pages (1 MiB requests).
  conn->max_readahead = UINT_MAX;
  conn->max_write = 1 << 20;
  spdlog::info("FUSE protocol {}.{}, splice {}", conn->proto_major,
               conn->proto_minor, (conn->want & FUSE_CAP_SPLICE_WRITE) != 0);
}

// ---- Caches -------------------------------------------------------------

void FileSystem::RememberCollection(int64_t id, const std::string& name) {
  std::lock_guard lock(collections_mu_);
  collection_names_[id] = name;
  collection_ids_[name] = id;
}

void FileSystem::ForgetCollection(std::string_view name) {
  std::optional<int64_t> id;
  {
    std::lock_guard lock(collections_mu_);
    const auto it = collection_ids_.find(name);
    if (it == collection_ids_.end()) return;
    id = it->second;
    collection_names_.erase(it->second);
    collection_ids_.erase(it);
  }
  std::lock_guard lock(versions_mu_);
  std::erase_if(versions_, [&](const auto& item) {
    return item.second.collection_id == *id;
  });
}

std::optional<int64_t> FileSystem::KnownCollectionId(std::string_view name) {
  std::lock_guard lock(collections_mu_);
  const auto it = collection_ids_.find(name);
  if (it == collection_ids_.end()) return std::nullopt;
  return it->second;
}

Result<std::string> FileSystem::CollectionName(int64_t id) {
  {
    std::lock_guard lock(collections_mu_);
    const auto it = collection_names_.find(id);
    if (it != collection_names_.end()) return it->second;
  }
  auto collection = registry_.GetCollectionById(id);
  if (!collection) return std::unexpected(collection.error());
  RememberCollection(collection->id, collection->name);
  return std::move(collection->name);
}

void FileSystem::RememberVersion(Version version) {
  // Tags, metadata and aliases change; the attribute handlers read them
  // fresh, so the cache keeps only the immutable fields.
  version.tags.clear();
  version.metadata.clear();
  version.aliases.clear();
  std::lock_guard lock(versions_mu_);
  if (versions_.size() >= kMaxCachedVersions) versions_.clear();
  versions_.try_emplace(version.id, std::move(version));
}

Result<Version> FileSystem::VersionById(int64_t id) {
  {
    std::lock_guard lock(versions_mu_);
    const auto it = versions_.find(id);
    if (it != versions_.end()) return it->second;
  }
  auto version = registry_.GetVersionById(id);
  if (!version) return std::unexpected(version.error());
  RememberVersion(*version);
  return version;
}

Result<FileSystem::Node> FileSystem::Resolve(Ino ino) {
  Node node;
  node.ino = ino;
  node.type = TypeOf(ino);
  const uint64_t id = IdOf(ino);
  switch (node.type) {
    case NodeType::kSpecial:
      if (ino < kRootIno || ino > kAtDirIno) break;
      return node;
    case NodeType::kCollection:
    case NodeType::kCollectionHistory: {
      auto name = CollectionName(static_cast<int64_t>(id));
      if (!name) return std::unexpected(name.error());
      node.collection_id = static_cast<int64_t>(id);
      node.collection = *name;
      return node;
    }
    case NodeType::kVersion: {
      auto version = VersionById(static_cast<int64_t>(id));
      if (!version) return std::unexpected(version.error());
      node.collection_id = version->collection_id;
      node.collection = version->collection;
      node.version = std::move(*version);
      return node;
    }
    case NodeType::kTreeEntry: {
      auto entry = registry_.GetTreeEntry(static_cast<int64_t>(id));
      if (!entry) return std::unexpected(entry.error());
      auto version = VersionById(entry->version_id);
      if (!version) return std::unexpected(version.error());
      node.collection_id = version->collection_id;
      node.collection = version->collection;
      node.version = std::move(*version);
      node.entry = std::move(*entry);
      return node;
    }
    case NodeType::kAlias:
    case NodeType::kLatest:
    case NodeType::kStaged: {
      auto link = links_.Get(ino);
      if (!link) break;
      node.collection_id = link->collection_id;
      node.collection = link->collection;
      node.link = std::move(*link);
      return node;
    }
    case NodeType::kPast: {
      auto past = past_.Get(ino);
      if (!past) break;
      node.collection_id = past->collection_id;
      node.collection = past->collection;
      if (past->kind == PastNode::Kind::kLink) node.link = past->link;
      node.past = std::move(*past);
      return node;
    }
  }
  return registry::Fail(Code::kNotFound, fmt::format("unknown inode {}", ino));
}

std::string FileSystem::PathOf(const Node& node) {
  switch (node.type) {
    case NodeType::kSpecial:
      if (node.ino == kRootIno) return "/";
      if (node.ino == kControlDirIno) return std::string(kControlDir);
      if (node.ino == kGlobalHistoryIno) return ".regfs/history";
      if (node.ino == kAtDirIno) return ".regfs/at";
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

// ---- Callers ------------------------------------------------------------

Identity FileSystem::ReadIdentity(const Request& r) {
  return callers_.ForRead(r.uid, r.gid,
                          [req = r.req] { return RequestGroups(req); });
}

Identity FileSystem::ChangeIdentity(const Request& r) {
  return callers_.ForChange(r.uid, r.gid, RequestGroups(r.req));
}

int FileSystem::CheckRead(const Request& r, const What& what) {
  const Identity who = ReadIdentity(r);
  auto role = callers_.RoleOf(who);
  if (!role) return Refuse(r, what, role.error()).err;
  if (*role < Role::kViewer) {
    return Refuse(r, what, EACCES, "reading needs a role").err;
  }
  return 0;
}

ErrorReply FileSystem::RefuseImmutable(const Request& r, const What& what,
                                       std::string_view why) {
  auto role = callers_.RoleOf(ChangeIdentity(r));
  if (!role) return Refuse(r, what, role.error());
  return Refuse(r, what, registry::MayChange(*role) ? EPERM : EACCES, why);
}

int FileSystem::CheckStagedOwner(const Request& r, const What& what,
                                 const StagedEntry& staged) {
  if (r.uid == staged.who.uid) return 0;
  auto role = callers_.RoleOf(ChangeIdentity(r));
  if (!role) return Refuse(r, what, role.error()).err;
  if (*role == Role::kAdmin) return 0;
  const std::string why = fmt::format(
      "the temporary symlink belongs to {} (uid {})", staged.who.user,
      staged.who.uid);
  return Refuse(r, what, registry::MayChange(*role) ? EPERM : EACCES, why)
      .err;
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

ErrorReply FileSystem::Refuse(const Request& r, const What& what, int err,
                              std::string_view why) {
  spdlog::info("refused {} for {}: {} [{}]", what.str(), WhoIs(r), why,
               std::strerror(err));
  return ErrorReply{err};
}

// ---- Attributes ---------------------------------------------------------

struct stat FileSystem::DirStat(Ino ino, mode_t perm, uid_t uid,
                                TimeMs mtime) const {
  struct stat st {};
  st.st_ino = ino;
  st.st_mode = S_IFDIR | perm;
  st.st_nlink = 2;
  st.st_uid = uid;
  st.st_gid = options_.owner_gid;
  st.st_size = 4096;
  st.st_blocks = 8;
  st.st_blksize = kBlockSize;
  st.st_mtim = st.st_ctim = st.st_atim = ToTimespec(mtime);
  return st;
}

struct stat FileSystem::FileStat(Ino ino, mode_t perm, uint64_t size, uid_t uid,
                                 TimeMs mtime) const {
  struct stat st {};
  st.st_ino = ino;
  st.st_mode = S_IFREG | perm;
  st.st_nlink = 1;
  st.st_uid = uid;
  st.st_gid = options_.owner_gid;
  st.st_size = static_cast<off_t>(size);
  st.st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
  st.st_blksize = kBlockSize;
  st.st_mtim = st.st_ctim = st.st_atim = ToTimespec(mtime);
  return st;
}

struct stat FileSystem::LinkStat(Ino ino, const LinkNode& link) const {
  struct stat st {};
  st.st_ino = ino;
  st.st_mode = S_IFLNK | 0777;
  st.st_nlink = 1;
  st.st_uid = link.updated_uid;
  st.st_gid = options_.owner_gid;
  st.st_size = static_cast<off_t>(LinkTarget(link).size());
  st.st_blksize = kBlockSize;
  st.st_mtim = st.st_ctim = st.st_atim = ToTimespec(link.updated);
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
      if (node.ino == kWhoamiIno) {
        return FileStat(node.ino, 0444, RenderWhoami(r).size(), owner,
                        registry::NowMs());
      }
      [[fallthrough]];
    case NodeType::kCollectionHistory: {
      auto text = histories_.Get(node.collection);
      auto size = text->Refresh(registry_);
      if (!size) return std::unexpected(size.error());
      return FileStat(node.ino, 0444, *size, owner,
                      std::max(text->last_time(), TimeMs{0}));
    }
    case NodeType::kCollection:
      return DirStat(node.ino, 0755, owner, started_);
    case NodeType::kVersion: {
      const Version& v = *node.version;
      if (v.kind == Kind::kTree) {
        return DirStat(node.ino, 0555, v.creator_uid, v.created);
      }
      return FileStat(node.ino, 0444, v.size, v.creator_uid, v.created);
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
  }
  return registry::Fail(Code::kNotFound, "unknown inode");
}

double FileSystem::AttrTimeout(const Node& node) const {
  switch (node.type) {
    case NodeType::kSpecial:
      return node.ino == kRootIno || node.ino == kControlDirIno ||
                     node.ino == kAtDirIno
                 ? 60
                 : 0;
    case NodeType::kCollectionHistory:
      return 0;
    case NodeType::kCollection:
      return 60;
    case NodeType::kVersion:
    case NodeType::kTreeEntry:
      return options_.version_timeout;
    case NodeType::kAlias:
    case NodeType::kLatest:
    case NodeType::kStaged:
      return options_.alias_timeout;
    case NodeType::kPast:
      return 0;  // cheap to answer; whether it may move is the entry's
  }
  return 0;
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

// ---- Lookup -------------------------------------------------------------

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
    default:
      return ErrorReply{ENOTDIR};
  }
}

Reply FileSystem::LookupInRoot(const Request& r, std::string_view name) {
  if (name == kControlDir) {
    Node node{.type = NodeType::kSpecial, .ino = kControlDirIno};
    auto attr = StatOf(r, node);
    if (!attr) return Refuse(r, "stat of " + PathOf(node), attr.error());
    return MakeEntry(kControlDirIno, *attr, 3600, 60);
  }
  auto collection = options_.as_of
                        ? registry_.GetCollectionAt(name, *options_.as_of)
                        : registry_.GetCollection(name);
  if (!collection) {
    const auto what = [&] { return fmt::format("lookup of {}", name); };
    return ErrorReply{LookupErrnoFor(r, what, collection.error())};
  }
  RememberCollection(collection->id, collection->name);
  const Ino ino =
      MakeIno(NodeType::kCollection, static_cast<uint64_t>(collection->id));
  return MakeEntry(ino, DirStat(ino, 0755, options_.owner_uid, started_),
                   options_.version_timeout, 60);
}

Reply FileSystem::LookupInControl(const Request& r, std::string_view name) {
  Node node{.type = NodeType::kSpecial};
  if (name == kHistoryFile) {
    node.ino = kGlobalHistoryIno;
  } else if (name == kWhoamiFile) {
    node.ino = kWhoamiIno;
  } else if (name == kAtDir) {
    return MakeEntry(kAtDirIno,
                     DirStat(kAtDirIno, 0555, options_.owner_uid, started_),
                     3600, 60);
  } else {
    return ErrorReply{ENOENT};
  }
  auto attr = StatOf(r, node);
  if (!attr) return Refuse(r, "stat of a history file", attr.error());
  return MakeEntry(node.ino, *attr, 3600, 0);
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
    return MakeEntry(node.ino, *attr, options_.version_timeout, 0);
  }
  const auto what = [&] {
    return fmt::format("lookup of {}/{}", dir.collection, name);
  };
  if (const auto number = registry::ParseVersionName(name)) {
    auto version = registry_.GetVersionByNumber(dir.collection_id, *number);
    if (!version) return ErrorReply{LookupErrnoFor(r, what, version.error())};
    if (options_.as_of && version->created_seq > *options_.as_of) {
      return ErrorReply{ENOENT};  // made after a frozen mount's moment
    }
    staging_.NoteLookup(r.pid, dir.collection_id, name, ExistingKind::kOther);
    RememberVersion(*version);
    Node node = dir;
    node.type = NodeType::kVersion;
    node.ino = MakeIno(NodeType::kVersion, static_cast<uint64_t>(version->id));
    node.version = std::move(*version);
    auto attr = StatOf(r, node);
    if (!attr) return Refuse(r, "stat of " + PathOf(node), attr.error());
    return MakeEntry(node.ino, *attr, options_.version_timeout,
                     options_.version_timeout);
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
  auto alias = registry_.GetAlias(dir.collection, name);
  if (!alias) return ErrorReply{LookupErrnoFor(r, what, alias.error())};
  staging_.NoteLookup(r.pid, dir.collection_id, name, ExistingKind::kAlias);
  return LinkEntry(AliasIno(*alias), LinkNodeOf(*alias, dir.collection_id));
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

// ---- Attributes and links -----------------------------------------------

Reply FileSystem::GetAttr(const Request& r, Ino ino) {
  auto node = Resolve(ino);
  if (!node) {
    return ErrorReply{
        ErrnoFor(r, fmt::format("getattr of inode {}", ino), node.error())};
  }
  auto attr = StatOf(r, *node);
  if (!attr) return Refuse(r, "stat of " + PathOf(*node), attr.error());
  return AttrReply{*attr, AttrTimeout(*node)};
}

Reply FileSystem::SetAttr(const Request& r, Ino ino, int to_set) {
  return RefuseImmutable(
      r, fmt::format("setattr (0x{:x}) of {}", to_set, PathOf(ino)),
      "versions and aliases are immutable");
}

Reply FileSystem::ReadLink(const Request& r, Ino ino) {
  auto node = Resolve(ino);
  if (!node) {
    return ErrorReply{
        ErrnoFor(r, fmt::format("readlink of inode {}", ino), node.error())};
  }
  if (!node->link) return ErrorReply{EINVAL};
  const auto what = [&] { return "readlink of " + PathOf(*node); };
  if (const int err = CheckRead(r, what)) return ErrorReply{err};
  return LinkReply{LinkTarget(*node->link)};
}

// ---- Changes ------------------------------------------------------------

Reply FileSystem::MkNod(const Request& r, Ino parent, std::string_view name) {
  return RefuseImmutable(r, "mknod " + PathIn(parent, name),
                         "only symlinks (aliases) can be created");
}

Reply FileSystem::Create(const Request& r, Ino parent, std::string_view name) {
  return RefuseImmutable(r, "create " + PathIn(parent, name),
                         "only symlinks (aliases) can be created; versions "
                         "come from `regfs push`");
}

Reply FileSystem::Link(const Request& r, Ino ino, Ino new_parent,
                       std::string_view new_name) {
  return RefuseImmutable(r,
                         fmt::format("link of {} as {}", PathOf(ino),
                                     PathIn(new_parent, new_name)),
                         "hard links are not supported");
}

Reply FileSystem::MkDir(const Request& r, Ino parent, std::string_view name) {
  const std::string what = fmt::format("mkdir {}", PathIn(parent, name));
  if (options_.as_of || parent == kAtDirIno ||
      TypeOf(parent) == NodeType::kPast) {
    return Refuse(r, what, EROFS, "the past is read-only");
  }
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
                   options_.version_timeout, 60);
}

Reply FileSystem::RmDir(const Request& r, Ino parent, std::string_view name) {
  const std::string what = fmt::format("rmdir {}", PathIn(parent, name));
  if (options_.as_of || parent == kAtDirIno ||
      TypeOf(parent) == NodeType::kPast) {
    return Refuse(r, what, EROFS, "the past is read-only");
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

Reply FileSystem::Unlink(const Request& r, Ino parent, std::string_view name) {
  const std::string what = "unlink " + PathIn(parent, name);
  auto dir = Resolve(parent);
  if (!dir) return ErrorReply{ErrnoFor(r, what, dir.error())};
  if (ReadOnlyView(*dir, name)) {
    return Refuse(r, what, EROFS, "the past is read-only");
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
  const Identity who = ChangeIdentity(r);
  auto status = registry_.RemoveAlias(who, dir->collection, name);
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
  auto dir = Resolve(parent);
  if (!dir) return ErrorReply{ErrnoFor(r, what, dir.error())};
  if (ReadOnlyView(*dir, name)) {
    return Refuse(r, what, EROFS, "the past is read-only");
  }
  if (dir->type != NodeType::kCollection) {
    return RefuseImmutable(r, what, "aliases live in collections");
  }
  auto relative =
      MountRelativeTarget(options_.mountpoint, dir->collection, given_target);
  if (!relative) return Refuse(r, what, relative.error());
  const std::string_view target = *relative;
  const Identity who = ChangeIdentity(r);
  if (Staging::IsStagingOnlyName(name)) {
    return StageSymlink(r, who, *dir, name, target, std::nullopt);
  }
  if (auto existing = staging_.TakeReplaceEvidence(r.pid, dir->collection_id,
                                                   name, target)) {
    return StageSymlink(r, who, *dir, name, target, existing);
  }
  auto alias = registry_.CreateAlias(who, dir->collection, name, target);
  if (!alias) {
    if (alias.error().code == Code::kAlreadyExists) {
      staging_.NoteCreateExists(r.pid, dir->collection_id, name, target);
    }
    return Refuse(r, what, alias.error());
  }
  spdlog::info("{} (uid {}) created alias {}/{} -> v{}", who.user, who.uid,
               dir->collection, name, alias->version);
  return LinkEntry(AliasIno(*alias), LinkNodeOf(*alias, dir->collection_id));
}

Reply FileSystem::StageSymlink(const Request& r, const Identity& who,
                               const Node& dir, std::string_view name,
                               std::string_view target,
                               const std::optional<Existing>& existing) {
  const std::string what =
      existing
          ? fmt::format("replacing {}/{} with a symlink to {} (ln -sf)",
                        dir.collection, existing->name, target)
          : fmt::format("symlink {}/{} -> {}", dir.collection, name, target);
  Result<Version> checked;
  if (!existing) {
    // A '.'-name: whether the caller may change aliases here at all, and
    // the version `target` names. The rename that follows is checked again.
    checked = registry_.CheckTarget(who, dir.collection, target);
  } else if (existing->name == kCollectionHistory) {
    return RefuseImmutable(r, what, "control files are read-only");
  } else {
    // The second step of `ln -sf`: check now what the rename will do (a
    // version or `latest` is refused there, after the role check).
    checked =
        registry_.CheckSetAlias(who, dir.collection, existing->name, target);
  }
  if (!checked) return Refuse(r, what, checked.error());
  StagedEntry entry;
  entry.collection_id = dir.collection_id;
  entry.name = std::string(name);
  entry.target = std::string(target);
  entry.version = checked->number;
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
  const Identity who = ChangeIdentity(r);
  Result<void> status;
  if (flags & RENAME_EXCHANGE) {
    status = registry_.ExchangeAliases(who, dir->collection, name, new_name);
  } else {
    status = registry_.RenameAlias(who, dir->collection, name, new_name,
                                   !(flags & RENAME_NOREPLACE));
  }
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
  const Ino parent = dir.ino;
  if (Staging::IsStagingOnlyName(new_name)) {
    // Still a temporary name: move it within the staging table.
    if (replaced) staging_.Take(dir.collection_id, new_name, replaced->ino);
    auto entry = staging_.Take(dir.collection_id, staged.name, staged.ino);
    if (!entry) return ErrorReply{ENOENT};
    StagedEntry renamed = *entry;
    renamed.name = std::string(new_name);
    if (staging_.Add(renamed) != Staging::AddResult::kAdded) {
      staging_.Restore(std::move(*entry));
      return Refuse(r, what, ENOSPC, "too many staged symlinks");
    }
    notifier_.InvalidateEntry(parent, staged.name);
    notifier_.InvalidateEntry(parent, std::string(new_name));
    return ErrorReply{0};
  }
  // Claimed before the commit, so that OnTick cannot commit it too; put
  // back if the registry refuses (ln then unlinks it).
  std::optional<StagedEntry> claimed =
      staging_.Take(dir.collection_id, staged.name, staged.ino);
  if (!claimed) {
    return Refuse(r, what, ENOENT,
                  "the staged symlink was committed or removed meanwhile");
  }
  const Identity who = ChangeIdentity(r);
  std::optional<std::optional<uint64_t>> expected;
  if (flags & RENAME_NOREPLACE) expected.emplace(std::nullopt);
  auto alias =
      registry_.SetAlias(who, dir.collection, new_name,
                         registry::VersionName(staged.version), expected);
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
  // The kernel now knows the staged inode under `new_name` until the
  // invalidation lands; let it answer as the committed alias.
  links_.Update(staged.ino, LinkNodeOf(*alias, dir.collection_id));
  notifier_.InvalidateEntry(parent, staged.name);
  notifier_.InvalidateEntry(parent, std::string(new_name));
  return ErrorReply{0};
}

// ---- Files --------------------------------------------------------------

Reply FileSystem::Open(const Request& r, Ino ino, int flags) {
  auto node = Resolve(ino);
  if (!node) {
    return ErrorReply{
        ErrnoFor(r, fmt::format("open of inode {}", ino), node.error())};
  }
  const auto what = [&] { return "open of " + PathOf(*node); };
  if (const int err = CheckRead(r, what)) return ErrorReply{err};
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) {
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
      reply.info.keep_cache = 1;
      reply.info.noflush = 1;
      return reply;
    }
    default:
      return ErrorReply{EINVAL};
  }
}

Reply FileSystem::Read(const Request& r, Handle& handle, size_t size,
                       off_t offset) {
  if (offset < 0) return ErrorReply{EINVAL};
  switch (handle.kind) {
    case Handle::Kind::kBlob:
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
  auto role = callers_.RoleOf(who);
  nlohmann::json json = {
      {"uid", who.uid},
      {"user", who.user},
      {"gid", who.gid},
      {"groups", who.groups},
      {"group_names", who.group_names},
      {"role", role ? std::string(registry::RoleName(*role)) : "unknown"},
  };
  return json.dump() + "\n";
}

// ---- Directories --------------------------------------------------------

Result<std::vector<DirEntry>> FileSystem::ListDir(const Node& node) {
  std::vector<DirEntry> entries;
  entries.push_back({".", node.ino, S_IFDIR});
  entries.push_back({"..", kRootIno, S_IFDIR});
  if (node.ino == kRootIno) {
    entries.push_back({std::string(kControlDir), kControlDirIno, S_IFDIR});
    auto collections = options_.as_of
                           ? registry_.CollectionsAt(*options_.as_of)
                           : registry_.ListCollections();
    if (!collections) return std::unexpected(collections.error());
    for (const Collection& c : *collections) {
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
    return entries;
  }
  if (node.ino == kAtDirIno || node.type == NodeType::kPast) {
    return ListPast(node);
  }
  if (node.type == NodeType::kCollection) {
    entries.push_back({std::string(kCollectionHistory),
                       MakeIno(NodeType::kCollectionHistory,
                               static_cast<uint64_t>(node.collection_id)),
                       S_IFREG});
    auto versions =
        options_.as_of
            ? registry_.VersionsAt(node.collection, *options_.as_of)
            : registry_.ListVersions(node.collection);
    if (!versions) return std::unexpected(versions.error());
    for (const Version& v : *versions) {
      entries.push_back(
          {registry::VersionName(v.number),
           MakeIno(NodeType::kVersion, static_cast<uint64_t>(v.id)),
           static_cast<mode_t>(v.kind == Kind::kTree ? S_IFDIR : S_IFREG)});
    }
    auto aliases = options_.as_of
                       ? registry_.AliasesAt(node.collection, *options_.as_of)
                       : registry_.ListAliases(node.collection);
    if (!aliases) return std::unexpected(aliases.error());
    for (const Alias& a : *aliases) {
      entries.push_back({a.name, AliasIno(a), S_IFLNK});
    }
    return entries;
  }
  if (node.type == NodeType::kVersion || node.type == NodeType::kTreeEntry) {
    if (node.entry ? !node.entry->is_dir : node.version->kind != Kind::kTree) {
      return registry::Fail(Code::kInvalidArgument, "not a directory");
    }
    auto tree =
        registry_.ListTree(node.version->id, node.entry ? node.entry->id : 0);
    if (!tree) return std::unexpected(tree.error());
    for (const TreeEntry& e : *tree) {
      entries.push_back(
          {e.name, MakeIno(NodeType::kTreeEntry, static_cast<uint64_t>(e.id)),
           static_cast<mode_t>(e.is_dir ? S_IFDIR : S_IFREG)});
    }
    return entries;
  }
  return registry::Fail(Code::kInvalidArgument, "not a directory");
}

Reply FileSystem::OpenDir(const Request& r, Ino ino) {
  auto node = Resolve(ino);
  if (!node) {
    return ErrorReply{
        ErrnoFor(r, fmt::format("opendir of inode {}", ino), node.error())};
  }
  const auto what = [&] { return "opendir of " + PathOf(*node); };
  if (const int err = CheckRead(r, what)) return ErrorReply{err};
  auto entries = ListDir(*node);
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
  reply.handle->entries = std::move(*entries);
  if (node->type == NodeType::kVersion || node->type == NodeType::kTreeEntry) {
    reply.info.cache_readdir = 1;  // trees are immutable
    reply.info.keep_cache = 1;
  }
  return reply;
}

Reply FileSystem::ReadDir(const Request& r, Handle& handle, size_t size,
                          off_t offset) {
  if (handle.kind != Handle::Kind::kDir) return ErrorReply{ENOTDIR};
  std::string buf(size, '\0');
  size_t used = 0;
  for (size_t i = static_cast<size_t>(std::max<off_t>(offset, 0));
       i < handle.entries.size(); ++i) {
    const DirEntry& e = handle.entries[i];
    struct stat st {};
    st.st_ino = e.ino;
    st.st_mode = e.type;
    const size_t need =
        fuse_add_direntry(r.req, buf.data() + used, size - used, e.name.c_str(),
                          &st, static_cast<off_t>(i + 1));
    if (need > size - used) break;
    used += need;
  }
  buf.resize(used);
  return BufReply{std::move(buf)};
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

// ---- Extended attributes ------------------------------------------------

Result<XattrList> FileSystem::XattrsOf(const Node& node) {
  switch (node.type) {
    case NodeType::kVersion: {
      auto version =
          registry_.GetVersion(node.collection, node.version->number);
      if (!version) return std::unexpected(version.error());
      // The aliases naming it, each by name: never all of the collection's.
      std::vector<Alias> aliases;
      for (const std::string& name : version->aliases) {
        auto alias = registry_.GetAlias(node.collection, name);
        if (alias) {
          aliases.push_back(std::move(*alias));
        } else if (!alias.error().IsNotFound()) {
          return std::unexpected(alias.error());  // else removed meanwhile
        }
      }
      return VersionXattrs(*version, aliases);
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
  // security.*, system.posix_acl_* and the like are asked for often.
  if (!name.starts_with(kXattrPrefix)) return ErrorReply{ENODATA};
  auto node = Resolve(ino);
  if (!node) {
    return ErrorReply{
        ErrnoFor(r, fmt::format("getxattr of inode {}", ino), node.error())};
  }
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
  auto node = Resolve(ino);
  if (!node) {
    return ErrorReply{
        ErrnoFor(r, fmt::format("listxattr of inode {}", ino), node.error())};
  }
  const auto what = [&] { return "listxattr of " + PathOf(*node); };
  if (const int err = CheckRead(r, what)) return ErrorReply{err};
  auto list = XattrsOf(*node);
  if (!list) return Refuse(r, what, list.error());
  std::string names = XattrNames(*list);
  if (size == 0) return XattrSizeReply{names.size()};
  if (size < names.size()) return ErrorReply{ERANGE};
  return BufReply{std::move(names)};
}

Reply FileSystem::SetXattr(const Request& r, Ino ino, std::string_view name) {
  return RefuseImmutable(r,
                         fmt::format("setxattr {} of {}", name, PathOf(ino)),
                         "attributes are read-only; use `regfs` to tag");
}

Reply FileSystem::RemoveXattr(const Request& r, Ino ino,
                              std::string_view name) {
  return RefuseImmutable(
      r, fmt::format("removexattr {} of {}", name, PathOf(ino)),
      "attributes are read-only");
}

Reply FileSystem::Access(const Request& r, Ino ino, int mask) {
  auto node = Resolve(ino);
  if (!node) {
    return ErrorReply{
        ErrnoFor(r, fmt::format("access of inode {}", ino), node.error())};
  }
  if (mask == F_OK) return ErrorReply{0};
  const auto what = [&] { return "access to " + PathOf(*node); };
  const Identity who = ReadIdentity(r);
  auto role = callers_.RoleOf(who);
  if (!role) return Refuse(r, what, role.error());
  if (*role < Role::kViewer) return ErrorReply{EACCES};
  auto attr = StatOf(r, *node);
  if (!attr) return Refuse(r, what, attr.error());
  if ((mask & X_OK) && !(attr->st_mode & S_IXOTH)) return ErrorReply{EACCES};
  if ((mask & W_OK) && ReadOnlyView(*node, "")) return ErrorReply{EROFS};
  if (mask & W_OK) {
    // Changes happen in the root (mkdir) and in collections (aliases).
    const bool changeable =
        node->ino == kRootIno || node->type == NodeType::kCollection;
    if (!changeable || !registry::MayChange(*role)) return ErrorReply{EACCES};
  }
  return ErrorReply{0};
}

// ---- Watching -----------------------------------------------------------

void FileSystem::OnEvents(const std::vector<registry::Event>& events) {
  using registry::EventType;
  bool roles_changed = false;
  for (const registry::Event& e : events) {
    const std::optional<int64_t> id = KnownCollectionId(e.collection);
    const Ino dir =
        id ? MakeIno(NodeType::kCollection, static_cast<uint64_t>(*id)) : 0;
    switch (e.type) {
      case EventType::kCollectionCreate:
        notifier_.InvalidateEntry(kRootIno, e.collection);
        break;
      case EventType::kCollectionDelete:
        // The name may already hold a new collection (a later event):
        // forget only an id that is gone. A frozen mount still shows it.
        if (id && !options_.as_of) {
          auto still = registry_.GetCollectionById(*id);
          if (!still && still.error().IsNotFound()) {
            ForgetCollection(e.collection);
            notifier_.InvalidateInode(dir);
          }
        }
        notifier_.InvalidateEntry(kRootIno, e.collection);
        break;
      case EventType::kVersionCreate:
      case EventType::kVersionDelete:
        if (!dir) break;
        for (auto number : {e.old_version, e.new_version}) {
          if (number) {
            notifier_.InvalidateEntry(dir, registry::VersionName(*number));
          }
        }
        notifier_.InvalidateEntry(dir, std::string(registry::kLatest));
        if (e.type == EventType::kVersionDelete && e.old_version) {
          std::lock_guard lock(versions_mu_);
          std::erase_if(versions_, [&](const auto& item) {
            return item.second.collection == e.collection &&
                   item.second.number == *e.old_version;
          });
        }
        break;
      case EventType::kAliasCreate:
      case EventType::kAliasMove:
      case EventType::kAliasRemove:
      case EventType::kAliasRename:
        if (!dir) break;
        notifier_.InvalidateEntry(dir, e.alias);
        if (e.detail.contains("to") && e.detail["to"].is_string()) {
          notifier_.InvalidateEntry(dir, e.detail["to"].get<std::string>());
        }
        break;
      case EventType::kProtect:
      case EventType::kUnprotect: {
        // The alias snapshots carry `protected`: drop them everywhere.
        std::vector<int64_t> ids;
        {
          std::lock_guard lock(collections_mu_);
          for (const auto& [cid, name] : collection_names_) ids.push_back(cid);
        }
        for (int64_t cid : ids) {
          notifier_.InvalidateEntry(
              MakeIno(NodeType::kCollection, static_cast<uint64_t>(cid)),
              e.alias);
        }
        break;
      }
      case EventType::kRoleGrant:
      case EventType::kRoleRevoke:
        roles_changed = true;
        break;
      case EventType::kTagAdd:
      case EventType::kTagRemove:
        break;  // xattrs are not cached by the kernel
    }
  }
  if (roles_changed) callers_.InvalidateRoles();
}

void FileSystem::OnAnnounced(uint64_t seq) {
  watcher_.CatchUp(seq);
  if (!notifier_.Flush(kAnnouncedFlushPatience)) {
    spdlog::debug("change {}: the kernel has not taken every invalidation "
                  "within {} ms",
                  seq, kAnnouncedFlushPatience.count());
  }
}

void FileSystem::OnTick() {
  for (const StagedEntry& entry : staging_.Expire()) {
    if (!Staging::IsStagingOnlyName(entry.name)) {
      CommitStaged(entry, "it was not renamed in time", /*invalidate=*/true);
      continue;
    }
    spdlog::info("dropped staged symlink {} (uid {}): private staging, "
                 "never renamed",
                 entry.name, entry.who.uid);
    notifier_.InvalidateEntry(
        MakeIno(NodeType::kCollection,
                static_cast<uint64_t>(entry.collection_id)),
        entry.name);
  }
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
    if (invalidate) links_.Update(entry.ino, LinkNodeOf(*alias, entry.collection_id));
  }
  if (invalidate) notifier_.InvalidateEntry(parent, entry.name);
}

}  // namespace regfs::fs
