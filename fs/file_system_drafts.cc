// Drafts through the mount: a dot-named file or directory created in a
// collection is a private draft of its creator (registry::Drafts keeps its
// bytes under STORE/drafts), written with ordinary file operations, and
// published by renaming it onto `latest` or an alias (Registry::Publish
// decides). The handlers here do the bookkeeping of draft inodes, handles,
// locks and the quota; every rule of publishing is the registry's.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "fs/file_system.h"
#include "fs/file_system_internal.h"
#include "registry/names.h"

namespace regfs::fs {

namespace stdfs = std::filesystem;
using registry::Action;
using registry::Code;
using registry::Identity;
using registry::Result;
using registry::Role;

namespace {

// The mode bits a draft keeps: permissions only. The daemon creates the
// backing files (as root, often): a set-user-ID or set-group-ID bit would
// make a privileged file in the store, and a version never carries them.
constexpr mode_t kDraftModeBits = 0777;

// The errno of the last failed syscall, for a Refuse.
int LastErrno() { return errno == 0 ? EIO : errno; }

std::string ReasonOf(int err) { return std::strerror(err); }

// The uids with a drafts directory in STORE/drafts/<collection id>/.
std::vector<uid_t> DraftOwners(const stdfs::path& collection_dir) {
  std::vector<uid_t> uids;
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator(collection_dir, ec)) {
    uid_t uid = 0;
    const std::string dir = entry.path().filename().string();
    const auto [end, err] =
        std::from_chars(dir.data(), dir.data() + dir.size(), uid);
    if (err == std::errc() && end == dir.data() + dir.size()) {
      uids.push_back(uid);
    }
  }
  std::sort(uids.begin(), uids.end());
  return uids;
}

}  // namespace

uint64_t DiskBytes(const struct stat& st) {
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

uint64_t TreeBytes(const stdfs::path& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) return DiskBytes(st);
  uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(path, ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat child {};
    if (lstat(it->path().c_str(), &child) == 0) bytes += DiskBytes(child);
  }
  return bytes + DiskBytes(st);
}

bool FileSystem::IsDraftName(std::string_view name) {
  // The collection's own .history is the mount's, never a draft.
  return registry::IsDraftName(name) && name != kCollectionHistory;
}

bool FileSystem::IsAdmin(const Request& r) {
  auto role = callers_.RoleOf(ReadIdentity(r));
  return role && *role == Role::kAdmin;
}

int FileSystem::DraftVisible(const Request& r, const DraftKey& key) {
  if (r.uid == key.uid || IsAdmin(r)) return 0;
  return ENOENT;
}

stdfs::path FileSystem::DraftPath(const DraftKey& key) {
  return registry_.drafts().PathOf(key.collection_id, key.uid, key.path);
}

std::optional<DraftKey> FileSystem::FindDraft(const Request& r,
                                              int64_t collection_id,
                                              std::string_view name) {
  struct stat st {};
  DraftKey own{collection_id, r.uid, std::string(name)};
  if (!IsAdmin(r)) {
    if (lstat(DraftPath(own).c_str(), &st) == 0) return own;
    return std::nullopt;
  }
  // An admin sees everyone's drafts, their own first. The owners' listing
  // comes first: a name that is no draft (a `.tmp` symlink's, at every
  // move) then costs one system call where a collection has no drafts.
  const std::vector<uid_t> owners =
      DraftOwners(registry_.drafts().root() / std::to_string(collection_id));
  if (std::binary_search(owners.begin(), owners.end(), r.uid) &&
      lstat(DraftPath(own).c_str(), &st) == 0) {
    return own;
  }
  for (const uid_t uid : owners) {
    if (uid == r.uid) continue;
    DraftKey other{collection_id, uid, std::string(name)};
    if (lstat(DraftPath(other).c_str(), &st) == 0) return other;
  }
  return std::nullopt;
}

std::optional<DraftKey> FileSystem::DraftIn(const Request& r, const Node& dir,
                                            std::string_view name) {
  if (dir.type == NodeType::kCollection) {
    if (options_.as_of || !IsDraftName(name)) return std::nullopt;
    return FindDraft(r, dir.collection_id, name);
  }
  if (dir.type != NodeType::kDraft || DraftVisible(r, *dir.draft) != 0) {
    return std::nullopt;
  }
  DraftKey key = *dir.draft;
  key.path += "/";
  key.path += name;
  struct stat st {};
  if (lstat(DraftPath(key).c_str(), &st) != 0) return std::nullopt;
  return key;
}

struct stat FileSystem::DraftStat(const Request& r, Ino ino,
                                  const DraftKey& key,
                                  const struct stat& disk) const {
  struct stat st = disk;
  st.st_ino = ino;
  st.st_dev = 0;
  // cp and friends size their writes by it: 1 MiB requests (max_write).
  st.st_blksize = 1 << 20;
  st.st_uid = key.uid;
  // The writer's own group, so that rsync and cp -p see nothing to change.
  st.st_gid = r.uid == key.uid ? r.gid : options_.owner_gid;
  return st;
}

Result<struct stat> FileSystem::StatDraft(const Request& r, const Node& node) {
  struct stat disk {};
  if (lstat(DraftPath(*node.draft).c_str(), &disk) != 0) {
    const int err = errno;
    if (err == ENOENT) return registry::Fail(Code::kNotFound, "draft gone");
    return registry::Fail(Code::kIoError, ReasonOf(err));
  }
  return DraftStat(r, node.ino, *node.draft, disk);
}

Reply FileSystem::DraftEntry(const Request& r, const DraftKey& key) {
  struct stat disk {};
  if (lstat(DraftPath(key).c_str(), &disk) != 0) return ErrorReply{ENOENT};
  const Ino ino = drafts_.Intern(key);
  const double timeout = key.is_root() ? kDraftRootTimeout : kDraftTimeout;
  return MakeEntry(ino, DraftStat(r, ino, key, disk), timeout, kDraftTimeout);
}

Reply FileSystem::LookupDraft(const Request& r, const Node& dir,
                              std::string_view name) {
  auto key = DraftIn(r, dir, name);
  if (!key) return ErrorReply{ENOENT};
  return DraftEntry(r, *key);
}

std::expected<DraftKey, ErrorReply> FileSystem::NewDraftKey(
    const Request& r, const Node& dir, std::string_view name,
    const What& what) {
  if (options_.as_of) {
    return std::unexpected(Refuse(r, what, EROFS, "the past is read-only"));
  }
  const Identity who = ChangeIdentity(r);
  if (auto allowed = callers_.Authorize(who, Action::Change()); !allowed) {
    return std::unexpected(RefuseWhy(
        r, what, allowed.error(),
        "only members and admins may write drafts"));
  }
  if (dir.type == NodeType::kDraft) {
    if (DraftVisible(r, *dir.draft) != 0) {
      return std::unexpected(ErrorReply{ENOENT});
    }
    DraftKey key = *dir.draft;
    key.path += "/";
    key.path += name;
    return key;
  }
  if (!IsDraftName(name)) {
    return std::unexpected(RefuseImmutable(
        r, what,
        fmt::format("versions are immutable: write a draft ({}/.{}) and "
                    "rename it onto latest, an alias or the next vN",
                    dir.collection, name)));
  }
  if (staging_.Find(dir.collection_id, name)) {
    return std::unexpected(ErrorReply{EEXIST});
  }
  auto dir_path = registry_.drafts().DirFor(dir.collection_id, r.uid);
  if (!dir_path) return std::unexpected(Refuse(r, what, dir_path.error()));
  return DraftKey{dir.collection_id, r.uid, std::string(name)};
}

Reply FileSystem::CreateDraft(const Request& r, const Node& dir,
                              std::string_view name, mode_t mode, int flags) {
  const std::string what = "create " + PathIn(dir.ino, name);
  auto key = NewDraftKey(r, dir, name, what);
  if (!key) return key.error();
  auto limits = registry_.GetDraftLimits();
  if (!limits) return Refuse(r, what, limits.error());
  const int open_flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
                         (flags & (O_EXCL | O_TRUNC));
  registry::UniqueFd fd(
      ::open(DraftPath(*key).c_str(), open_flags, mode & kDraftModeBits));
  if (!fd.valid()) {
    const int err = LastErrno();
    return Refuse(r, what, err, ReasonOf(err));
  }
  struct stat disk {};
  if (fstat(fd.get(), &disk) != 0) {
    const int err = LastErrno();
    return Refuse(r, what, err, ReasonOf(err));
  }
  CreateReply reply;
  const Ino ino = drafts_.Intern(*key);
  reply.entry.ino = ino;
  reply.entry.attr = DraftStat(r, ino, *key, disk);
  reply.entry.entry_timeout =
      key->is_root() ? kDraftRootTimeout : kDraftTimeout;
  reply.entry.attr_timeout = kDraftTimeout;
  reply.handle = std::make_unique<Handle>();
  reply.handle->kind = Handle::Kind::kDraft;
  reply.handle->fd = std::move(fd);
  reply.handle->ino = ino;
  reply.handle->draft =
      drafts_.RootOf(key->collection_id, key->uid, key->root());
  reply.handle->owner = key->uid;
  reply.handle->writable = true;
  reply.handle->quota = limits->quota_bytes;
  if (DraftPassthrough()) {
    std::shared_lock lock(reply.handle->draft->mu);
    const int err = reply.handle->draft->published
                        ? ENOENT
                        : BeginKernelWrites(r, *reply.handle, DraftPath(*key), what);
    if (err != 0) return ErrorReply{err};
    reply.passthrough = true;
  }
  spdlog::debug("{} created draft file {}", WhoIs(r), PathIn(dir.ino, name));
  return reply;
}

Reply FileSystem::MkNodDraft(const Request& r, const Node& dir,
                             std::string_view name, mode_t mode) {
  const std::string what = "mknod " + PathIn(dir.ino, name);
  if (!S_ISREG(mode)) {
    // EACCES for a viewer (who may change nothing), EPERM for others.
    return RefuseImmutable(r, what,
                           "a draft holds regular files and directories only");
  }
  auto key = NewDraftKey(r, dir, name, what);
  if (!key) return key.error();
  registry::UniqueFd fd(::open(DraftPath(*key).c_str(),
                               O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                               mode & kDraftModeBits));
  if (!fd.valid()) {
    const int err = LastErrno();
    return Refuse(r, what, err, ReasonOf(err));
  }
  return DraftEntry(r, *key);
}

Reply FileSystem::MkDirDraft(const Request& r, const Node& dir,
                             std::string_view name, mode_t mode) {
  const std::string what = "mkdir " + PathIn(dir.ino, name);
  auto key = NewDraftKey(r, dir, name, what);
  if (!key) return key.error();
  if (::mkdir(DraftPath(*key).c_str(), mode & kDraftModeBits) != 0) {
    const int err = LastErrno();
    return Refuse(r, what, err, ReasonOf(err));
  }
  spdlog::debug("{} created draft directory {}", WhoIs(r),
                PathIn(dir.ino, name));
  return DraftEntry(r, *key);
}

Reply FileSystem::RemoveDraft(const Request& r, const Node& dir,
                              const DraftKey& key, bool dir_op) {
  const std::string what =
      fmt::format("{} {}", dir_op ? "rmdir" : "unlink",
                  PathIn(dir.ino, key.path.substr(key.path.rfind('/') + 1)));
  if (auto allowed = callers_.Authorize(ChangeIdentity(r), Action::Change());
      !allowed) {
    return Refuse(r, what, allowed.error());
  }
  const stdfs::path path = DraftPath(key);
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return ErrorReply{ENOENT};
  const int rc = dir_op ? ::rmdir(path.c_str()) : ::unlink(path.c_str());
  if (rc != 0) return ErrorReply{LastErrno()};
  if (!dir_op) draft_usage_.Add(key.uid, -static_cast<int64_t>(DiskBytes(st)));
  drafts_.Remove(key.collection_id, key.uid, key.path);
  if (key.is_root()) {
    spdlog::info("{} discarded draft {}/{} of uid {}", WhoIs(r),
                 dir.collection, key.path, key.uid);
  }
  return ErrorReply{0};
}

Reply FileSystem::RenameDraft(const Request& r, const Node& dir,
                              const DraftKey& from, Ino new_parent,
                              std::string_view new_name, unsigned flags) {
  const std::string what =
      fmt::format("rename {}/{} to {}", dir.collection, from.path,
                  PathIn(new_parent, new_name));
  auto into = Resolve(new_parent);
  if (!into) return ErrorReply{ErrnoFor(r, what, into.error())};
  if (new_name == kCollectionHistory) {
    return RefuseImmutable(r, what, "control files are read-only");
  }
  if (into->type == NodeType::kCollection &&
      into->collection_id == from.collection_id && !IsDraftName(new_name)) {
    if (!from.is_root()) {
      return Refuse(r, what, EINVAL,
                    "only a whole draft (a dot-name in the collection) can "
                    "be published");
    }
    return PublishDraft(r, dir, from, new_name, flags);
  }
  if ((into->type == NodeType::kVersion ||
       into->type == NodeType::kTreeEntry) &&
      into->collection_id == from.collection_id) {
    // `mv .data zoo/latest`: mv renames into the version a tree alias
    // names, and rename(2) cannot replace a symlink with a directory.
    auto c = registry_.GetCollection(dir.collection);
    return RefuseImmutable(
        r, what,
        fmt::format("versions are immutable and rename(2) puts no directory "
                    "over an alias (a symlink): publish the draft as the "
                    "next version with mv {0}/{1} {0}/{2}",
                    dir.collection, from.path,
                    c ? registry::VersionName(c->next_number)
                      : std::string("vN")));
  }
  if (flags & RENAME_EXCHANGE) {
    return Refuse(r, what, EINVAL, "cannot exchange drafts");
  }
  DraftKey to{from.collection_id, from.uid, std::string(new_name)};
  if (into->type == NodeType::kDraft) {
    if (into->draft->collection_id != from.collection_id ||
        into->draft->uid != from.uid) {
      return Refuse(r, what, EXDEV,
                    "a draft moves only within its owner's drafts of one "
                    "collection");
    }
    to.path = into->draft->path + "/" + std::string(new_name);
  } else if (into->type != NodeType::kCollection ||
             into->collection_id != from.collection_id ||
             !IsDraftName(new_name)) {
    return Refuse(r, what, EXDEV,
                  "a draft moves only within its owner's drafts of one "
                  "collection");
  }
  if (auto allowed = callers_.Authorize(ChangeIdentity(r), Action::Change());
      !allowed) {
    return Refuse(r, what, allowed.error());
  }
  const stdfs::path target = DraftPath(to);
  struct stat replaced {};
  const bool had = lstat(target.c_str(), &replaced) == 0;
  if (had && (flags & RENAME_NOREPLACE)) return ErrorReply{EEXIST};
  if (::rename(DraftPath(from).c_str(), target.c_str()) != 0) {
    return ErrorReply{LastErrno()};
  }
  if (had && !S_ISDIR(replaced.st_mode)) {
    draft_usage_.Add(to.uid, -static_cast<int64_t>(DiskBytes(replaced)));
  }
  drafts_.Rename(from.collection_id, from.uid, from.path, to.path);
  return ErrorReply{0};
}

Reply FileSystem::OpenDraft(const Request& r, const Node& node, int flags) {
  const std::string what = "open of " + PathOf(node);
  const bool writable = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  OpenReply reply;
  reply.handle = std::make_unique<Handle>();
  Handle& handle = *reply.handle;
  const DraftKey& key = *node.draft;
  if (writable) {
    if (auto allowed =
            callers_.Authorize(ChangeIdentity(r), Action::Change());
        !allowed) {
      return Refuse(r, what, allowed.error());
    }
    auto limits = registry_.GetDraftLimits();
    if (!limits) return Refuse(r, what, limits.error());
    handle.quota = limits->quota_bytes;
  }
  handle.draft = drafts_.RootOf(key.collection_id, key.uid, key.root());
  // Writes and truncates go through the lock: O_TRUNC too.
  std::shared_lock lock(handle.draft->mu);
  if (handle.draft->published) return ErrorReply{ENOENT};
  const stdfs::path path = DraftPath(key);
  struct stat before {};
  if (lstat(path.c_str(), &before) != 0) return ErrorReply{ENOENT};
  if (S_ISDIR(before.st_mode)) return ErrorReply{EISDIR};
  const int open_flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC |
                         O_NOFOLLOW | (flags & O_TRUNC);
  handle.fd = registry::UniqueFd(::open(path.c_str(), open_flags));
  if (!handle.fd.valid()) {
    const int err = LastErrno();
    return Refuse(r, what, err, ReasonOf(err));
  }
  if (flags & O_TRUNC) {
    draft_usage_.Add(key.uid, -static_cast<int64_t>(DiskBytes(before)));
  }
  handle.kind = Handle::Kind::kDraft;
  handle.ino = node.ino;
  handle.owner = key.uid;
  handle.writable = writable;
  if (DraftPassthrough()) {
    if (const int err = BeginKernelWrites(r, handle, path, what)) {
      return ErrorReply{err};
    }
    reply.passthrough = true;
  }
  return reply;
}

Reply FileSystem::Write(const Request& r, Handle& handle,
                        std::string_view data, off_t offset) {
  if (handle.kind != Handle::Kind::kDraft || !handle.writable) {
    return ErrorReply{EBADF};
  }
  if (offset < 0) return ErrorReply{EINVAL};
  const auto what = [&] { return "write to " + PathOf(handle.ino); };
  std::shared_lock lock(handle.draft->mu);
  if (handle.draft->published) {
    return Refuse(r, what, EBADF,
                  "the draft has been published; its open files are closed");
  }
  struct stat before {};
  if (fstat(handle.fd.get(), &before) != 0) return ErrorReply{LastErrno()};
  const uint64_t end = static_cast<uint64_t>(offset) + data.size();
  const uint64_t size = static_cast<uint64_t>(before.st_size);
  const uint64_t growth = end > size ? end - size : 0;
  if (const int err =
          ReserveDraftBytes(r, handle.owner, growth, handle.quota, what)) {
    return ErrorReply{err};
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(handle.fd.get(), data.data() + done,
                               data.size() - done,
                               offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? LastErrno() : EIO;
      draft_usage_.Add(handle.owner, -static_cast<int64_t>(growth));
      if (done > 0) break;
      return Refuse(r, what, err, ReasonOf(err));
    }
    done += static_cast<size_t>(n);
  }
  struct stat after {};
  if (fstat(handle.fd.get(), &after) == 0) {
    // The disk's own count replaces the estimate.
    draft_usage_.Add(handle.owner,
                     static_cast<int64_t>(DiskBytes(after)) -
                         static_cast<int64_t>(DiskBytes(before)) -
                         static_cast<int64_t>(growth));
  }
  return WriteReply{done};
}

int FileSystem::ReserveDraftBytes(const Request& r, uid_t owner,
                                  uint64_t growth, uint64_t quota,
                                  const What& what) {
  if (draft_usage_.Reserve(owner, growth, quota)) return 0;
  return Refuse(r, what, EDQUOT,
                fmt::format("uid {}'s drafts would pass the draft quota of {} "
                            "bytes ({} in use); publish or remove drafts",
                            owner, quota, draft_usage_.Of(owner)))
      .err;
}

Reply FileSystem::Flush(const Request& r, Handle& handle) {
  // Writes reach the file as they come; the kernel's are counted now.
  auto what = [&] { return "close of " + PathOf(handle.ino); };
  return ErrorReply{RecountKernelWrites(&r, handle, what)};
}

Reply FileSystem::Fsync(const Request& r, Handle& handle, bool datasync) {
  if (handle.kind != Handle::Kind::kDraft) return ErrorReply{0};
  const int rc = datasync ? ::fdatasync(handle.fd.get())
                          : ::fsync(handle.fd.get());
  if (rc != 0) {
    const int err = LastErrno();
    return Refuse(r, "fsync of " + PathOf(handle.ino), err, ReasonOf(err));
  }
  auto what = [&] { return "fsync of " + PathOf(handle.ino); };
  return ErrorReply{RecountKernelWrites(&r, handle, what)};
}

Reply FileSystem::SetAttrDraft(const Request& r, const Node& node,
                               const struct stat& attr, int to_set,
                               Handle* handle) {
  const std::string what =
      fmt::format("setattr (0x{:x}) of {}", to_set, PathOf(node));
  const DraftKey& key = *node.draft;
  if (auto allowed = callers_.Authorize(ChangeIdentity(r), Action::Change());
      !allowed) {
    return Refuse(r, what, allowed.error());
  }
  const stdfs::path path = DraftPath(key);
  if ((to_set & FUSE_SET_ATTR_UID) && attr.st_uid != key.uid) {
    return Refuse(r, what, EPERM,
                  "a draft belongs to its writer; versions record the "
                  "publisher");
  }
  if (to_set & FUSE_SET_ATTR_MODE) {
    if (::chmod(path.c_str(), attr.st_mode & kDraftModeBits) != 0) {
      return ErrorReply{LastErrno()};
    }
  }
  if (to_set & FUSE_SET_ATTR_SIZE) {
    auto root = drafts_.RootOf(key.collection_id, key.uid, key.root());
    std::shared_lock lock(root->mu);
    if (root->published || (handle && handle->draft &&
                            handle->draft->published)) {
      return Refuse(r, what, EBADF, "the draft has been published");
    }
    struct stat before {};
    if (lstat(path.c_str(), &before) != 0) return ErrorReply{LastErrno()};
    const uint64_t size = static_cast<uint64_t>(attr.st_size);
    const uint64_t now = static_cast<uint64_t>(before.st_size);
    const uint64_t growth = size > now ? size - now : 0;
    auto limits = registry_.GetDraftLimits();
    if (!limits) return Refuse(r, what, limits.error());
    if (const int err =
            ReserveDraftBytes(r, key.uid, growth, limits->quota_bytes, what)) {
      return ErrorReply{err};
    }
    const int rc = handle && handle->kind == Handle::Kind::kDraft &&
                           handle->writable
                       ? ::ftruncate(handle->fd.get(), attr.st_size)
                       : ::truncate(path.c_str(), attr.st_size);
    if (rc != 0) {
      const int err = LastErrno();
      draft_usage_.Add(key.uid, -static_cast<int64_t>(growth));
      return Refuse(r, what, err, ReasonOf(err));
    }
    struct stat after {};
    if (lstat(path.c_str(), &after) == 0) {
      draft_usage_.Add(key.uid, static_cast<int64_t>(DiskBytes(after)) -
                                    static_cast<int64_t>(DiskBytes(before)) -
                                    static_cast<int64_t>(growth));
    }
  }
  if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
    timespec times[2];
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_nsec = UTIME_OMIT;
    if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
      times[0].tv_nsec = UTIME_NOW;
    } else if (to_set & FUSE_SET_ATTR_ATIME) {
      times[0] = attr.st_atim;
    }
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
      times[1].tv_nsec = UTIME_NOW;
    } else if (to_set & FUSE_SET_ATTR_MTIME) {
      times[1] = attr.st_mtim;
    }
    if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrorReply{LastErrno()};
    }
  }
  // FUSE_SET_ATTR_GID: the group shown is the writer's own; nothing to do.
  auto attr_now = StatDraft(r, node);
  if (!attr_now) return ErrorReply{ENOENT};
  return AttrReply{*attr_now, kDraftTimeout};
}

Result<std::vector<DirEntry>> FileSystem::ListDraftDir(const Node& node) {
  const stdfs::path path = DraftPath(*node.draft);
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    return registry::Fail(Code::kNotFound, "draft gone");
  }
  if (!S_ISDIR(st.st_mode)) {
    return registry::Fail(Code::kInvalidArgument, "not a directory");
  }
  std::vector<DirEntry> entries;
  entries.push_back({".", node.ino, S_IFDIR});
  entries.push_back({"..", kRootIno, S_IFDIR});
  std::error_code ec;
  for (const auto& entry : stdfs::directory_iterator(path, ec)) {
    DraftKey key = *node.draft;
    key.path += "/" + entry.path().filename().string();
    struct stat child {};
    if (lstat(entry.path().c_str(), &child) != 0) continue;
    entries.push_back({entry.path().filename().string(), drafts_.Intern(key),
                       static_cast<mode_t>(child.st_mode & S_IFMT)});
  }
  if (ec) return registry::Fail(Code::kIoError, ec.message());
  return entries;
}

void FileSystem::AppendDrafts(const Request& r, const Node& dir,
                              std::vector<DirEntry>& entries) {
  if (options_.as_of) return;
  const stdfs::path collection_dir =
      registry_.drafts().root() / std::to_string(dir.collection_id);
  std::vector<uid_t> owners{r.uid};  // the caller's own first
  if (IsAdmin(r)) {
    for (const uid_t uid : DraftOwners(collection_dir)) {
      if (uid != r.uid) owners.push_back(uid);
    }
  }
  for (const uid_t uid : owners) {
    std::error_code ec;
    for (const auto& entry :
         stdfs::directory_iterator(collection_dir / std::to_string(uid), ec)) {
      std::string name = entry.path().filename().string();
      // An admin's own draft shadows another user's of the same name.
      if (uid != r.uid &&
          std::ranges::any_of(entries,
                              [&](const DirEntry& e) { return e.name == name; })) {
        continue;
      }
      struct stat st {};
      if (lstat(entry.path().c_str(), &st) != 0) continue;
      const Ino ino =
          drafts_.Intern(DraftKey{dir.collection_id, uid, name});
      entries.push_back({std::move(name), ino,
                         static_cast<mode_t>(st.st_mode & S_IFMT)});
    }
  }
}

Reply FileSystem::DraftXattr(const Request& r, const Node& node,
                             std::string_view op, std::string_view name,
                             std::string_view value, int flags, size_t size) {
  const std::string what =
      fmt::format("{} {} of {}", op, name, PathOf(node));
  const std::string path = DraftPath(*node.draft).string();
  const std::string attr(name);
  if (op == "listxattr") {
    const ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) return ErrorReply{LastErrno()};
    std::string all(static_cast<size_t>(n), '\0');
    const ssize_t got = ::llistxattr(path.c_str(), all.data(), all.size());
    if (got < 0) return ErrorReply{LastErrno()};
    all.resize(static_cast<size_t>(got));
    std::string names;  // user.* only: the others are the daemon's
    for (size_t at = 0; at < all.size();) {
      const std::string one = all.c_str() + at;
      at += one.size() + 1;
      if (one.starts_with("user.")) names += one + '\0';
    }
    if (size == 0) return XattrSizeReply{names.size()};
    if (size < names.size()) return ErrorReply{ERANGE};
    return BufReply{std::move(names)};
  }
  if (!name.starts_with("user.")) {
    return op == "getxattr" ? ErrorReply{ENODATA} : ErrorReply{ENOTSUP};
  }
  if (op == "getxattr") {
    std::string buf(size, '\0');
    const ssize_t n = ::lgetxattr(path.c_str(), attr.c_str(),
                                  size ? buf.data() : nullptr, size);
    if (n < 0) return ErrorReply{LastErrno()};
    if (size == 0) return XattrSizeReply{static_cast<size_t>(n)};
    buf.resize(static_cast<size_t>(n));
    return BufReply{std::move(buf)};
  }
  if (auto allowed = callers_.Authorize(ChangeIdentity(r), Action::Change());
      !allowed) {
    return Refuse(r, what, allowed.error());
  }
  const int rc = op == "setxattr"
                     ? ::lsetxattr(path.c_str(), attr.c_str(), value.data(),
                                   value.size(), flags)
                     : ::lremovexattr(path.c_str(), attr.c_str());
  if (rc != 0) return ErrorReply{LastErrno()};
  return ErrorReply{0};
}

}  // namespace regfs::fs
