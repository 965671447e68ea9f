// The mount's file system: translates FUSE requests into registry calls.
//
// Each handler takes the request's caller, does its bookkeeping, makes one
// registry call (reads may add a cached role check) and returns the Reply;
// fuse_ops.cc dispatches and sends it. No business rule lives here: the
// registry decides every change, this class only maps names to inodes and
// errors to errno (error_codes.h).
//
// What the mount shows (DESIGN.md): the root lists collections and
// `.regfs/` (history, whoami); a collection lists `.history`, its versions
// (files r--r--r--, or directories r-xr-xr-x for trees) and its aliases as
// symlinks with relative targets ("v2"). Inodes are derived from registry
// ids (inode.h). Versions and tree entries are immutable, so the kernel may
// cache them for an hour; alias entries live one second and are also
// invalidated explicitly after every change this mount sees (its own, and
// via the Watcher, everybody else's: before the writer's call returns,
// registry/change_listeners.h). History and whoami files are read
// with direct_io and attribute timeout 0 so that size and content are
// current.
//
// The members are defined by concept: file_system.cc (start, stop),
// _nodes.cc (Resolve, caches, PathOf), _refusals.cc (identities, errno
// mapping, refusals, access), _attrs.cc (stat, timeouts, getattr,
// readlink), _lookup.cc, _collections.cc (mkdir, rmdir), _aliases.cc
// (symlink, unlink, rename, staged symlinks), _files.cc (open, read,
// readdir), _xattrs.cc, _watch.cc (other processes' changes), _past.cc
// (views of the past), _drafts.cc (drafts: names, files, quota),
// _publish.cc (publishing a draft, the drafts' upkeep), _control.cc
// (.regfs/ctl); file_system_internal.h holds their shared names.
//
// Thread-safe: libfuse calls handlers from many threads. The registry is
// thread-safe; the caches each have their own mutex (never two held at
// once); Staging, LinkTable, CallerCache, HistoryFiles and Notifier lock
// internally.
#ifndef REGFS_FS_FILE_SYSTEM_H_
#define REGFS_FS_FILE_SYSTEM_H_

#include <fuse_lowlevel.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "fs/answered_changes.h"
#include "fs/backing_files.h"
#include "fs/caller_cache.h"
#include "fs/control_file.h"
#include "fs/draft_table.h"
#include "fs/history_files.h"
#include "fs/inode.h"
#include "fs/link_table.h"
#include "fs/notifier.h"
#include "fs/past_views.h"
#include "fs/reply.h"
#include "fs/staging.h"
#include "fs/watcher.h"
#include "fs/xattrs.h"
#include "registry/mutex.h"
#include "registry/registry.h"
#include "registry/replay.h"

namespace regfs::fs {

// The caller of one request, from fuse_req_ctx.
struct Request {
  fuse_req_t req = nullptr;
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  // The caller's supplementary groups, read once per request when first
  // needed (from /proc, fs/proc_groups.h; a rename asks twice). A request
  // is served by one thread.
  mutable std::optional<std::vector<gid_t>> groups;
};

// What a request tried, for the log: text, or a function that makes it
// only when a refusal is logged (hot paths such as open and lookup).
class What final {
 public:
  What(const char* text) : text_(text) {}         // NOLINT: implicit by design
  What(const std::string& text) : text_(text) {}  // NOLINT
  template <class F>
  requires std::is_invocable_r_v<std::string, F&> What(F& make)
      : make_(make) {}  // NOLINT
  std::string str() const { return make_ ? make_() : text_; }

 private:
  std::string text_;
  std::function<std::string()> make_;
};

struct FileSystemOptions {
  uid_t owner_uid = 0;  // shown as the owner of the root and `.regfs`
  gid_t owner_gid = 0;
  double version_timeout = 3600;  // entry/attr timeout of immutable nodes
  double alias_timeout = 1;       // entry/attr timeout of symlinks
  std::chrono::milliseconds watch_interval{200};
  // How long staged symlinks wait (Staging): '.'-names before they are
  // dropped, other names before they are committed as aliases. Only tests
  // shorten them (`-o staged_lifetime_ms=N` sets both).
  std::chrono::milliseconds staged_private_lifetime = Staging::kPrivateLifetime;
  std::chrono::milliseconds staged_commit_after = Staging::kCommitAfter;
  // A frozen mount (`regfs mount --as-of`): aliases, versions and
  // collections as they were right after this event. Mounted read-only.
  std::optional<uint64_t> as_of;
  // Whether version reads may use kernel passthrough (FUSE_PASSTHROUGH,
  // Linux >= 6.9, libfuse >= 3.17, a daemon with CAP_SYS_ADMIN); without
  // it, or where the kernel refuses, reads are spliced from the blob's fd.
  bool passthrough = true;
  // -o draftpassthrough (file_system_draft_passthrough.cc): drafts' files
  // are read and written by the kernel itself, not through the daemon.
  bool draft_passthrough = false;
  // Where the mount is, as the kernel spells it: an absolute symlink target
  // under it is made relative (link_target.h); empty refuses them all.
  std::string mountpoint;
};

class FileSystem final {
 public:
  FileSystem(registry::Registry& registry, FileSystemOptions options);
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;
  ~FileSystem();

  // Starts the notifier and the store watcher once the session is mounted;
  // Stop joins them (before the session is destroyed).
  void Start(fuse_session* session);
  // `unstick` aborts the connection if the notifier is stuck (Notifier::
  // Stop).
  void Stop(const std::function<void()>& unstick = {});

  void Init(fuse_conn_info* conn);
  // The kernel refused to pass an open blob through (FuseOps): reads go
  // through the daemon from now on. Logs the first time.
  void PassthroughRefused();
  // The backing files of passed-through inodes (FuseOps).
  BackingFiles& backing_files() { return backing_files_; }
  // Whether opens of blobs ask for kernel passthrough now.
  bool passthrough() const {
    return passthrough_.load(std::memory_order_relaxed);
  }

  Reply Lookup(const Request& r, Ino parent, std::string_view name);
  Reply Forget(Ino ino, uint64_t nlookup);
  Reply GetAttr(const Request& r, Ino ino);
  // `handle`: the open file of an ftruncate or futimens, else null.
  Reply SetAttr(const Request& r, Ino ino, const struct stat& attr, int to_set,
                Handle* handle);
  Reply ReadLink(const Request& r, Ino ino);
  Reply MkNod(const Request& r, Ino parent, std::string_view name,
              mode_t mode);
  Reply MkDir(const Request& r, Ino parent, std::string_view name,
              mode_t mode);
  Reply Unlink(const Request& r, Ino parent, std::string_view name);
  Reply RmDir(const Request& r, Ino parent, std::string_view name);
  Reply Symlink(const Request& r, std::string_view target, Ino parent,
                std::string_view name);
  Reply Rename(const Request& r, Ino parent, std::string_view name,
               Ino new_parent, std::string_view new_name, unsigned flags);
  Reply Link(const Request& r, Ino ino, Ino new_parent,
             std::string_view new_name);
  Reply Open(const Request& r, Ino ino, int flags);
  Reply Read(const Request& r, Handle& handle, size_t size, off_t offset);
  // Writes go by the inode: .regfs/ctl takes requests (ctl); everything
  // else is a draft's (the overload below).
  Reply Write(const Request& r, Ino ino, Handle& handle, std::string_view data,
              off_t offset);
  Reply OpenDir(const Request& r, Ino ino);
  Reply ReadDir(const Request& r, Handle& handle, size_t size, off_t offset);
  Reply ReadDirPlus(const Request& r, Handle& handle, size_t size,
                    off_t offset);
  Reply StatFs(const Request& r);
  Reply SetXattr(const Request& r, Ino ino, std::string_view name,
                 std::string_view value, int flags);
  Reply GetXattr(const Request& r, Ino ino, std::string_view name, size_t size);
  Reply ListXattr(const Request& r, Ino ino, size_t size);
  Reply RemoveXattr(const Request& r, Ino ino, std::string_view name);
  Reply Access(const Request& r, Ino ino, int mask);
  Reply Create(const Request& r, Ino parent, std::string_view name,
               mode_t mode, int flags);
  // Drafts only (drafts-fs): other handles are read-only.
  Reply Write(const Request& r, Handle& handle, std::string_view data,
              off_t offset);
  Reply Flush(const Request& r, Handle& handle);
  Reply Fsync(const Request& r, Handle& handle, bool datasync);
  // The last close of an open file (FuseOps frees the handle after).
  void Release(Handle& handle);
  // The kernel refused to write the draft file of `handle` itself: its
  // writes come to Write after all (FuseOps).
  void KernelWritesRefused(Handle& handle);
  // Registry::Publish of a draft with the draft's lock held exclusively
  // (no write runs meanwhile; open write handles get EBADF after), then
  // the draft is forgotten, its bytes leave its owner's quota count and
  // the kernel's entries are invalidated. A rename onto `latest` or an
  // alias comes here; so should any other publish through this mount
  // (e.g. a control file's publish request).
  registry::Result<registry::Version> PublishDraftLocked(
      const registry::Identity& who, const registry::PublishRequest& request);

  // The watcher's callbacks (public for tests). OnTick drops expired
  // '.'-named staged symlinks and commits the other expired ones.
  void OnEvents(const std::vector<registry::Event>& events);
  void OnTick();
  // Another process has committed changes up to `seq` and waits: returns
  // once the kernel has been told of them all (or after
  // kAnnouncedFlushPatience; registry/change_listeners.h).
  void OnAnnounced(uint64_t seq);

 private:
  // A resolved inode.
  struct Node {
    NodeType type = NodeType::kSpecial;
    Ino ino = 0;
    int64_t collection_id = 0;
    std::string collection;                    // collection-scoped nodes
    std::optional<registry::Version> version;  // versions and tree entries
    std::optional<registry::TreeEntry> entry;  // tree entries
    std::optional<LinkNode> link;              // symlinks
    std::optional<PastNode> past;              // views of the past
    std::optional<DraftKey> draft;             // drafts
  };

  // Returns a string literal: "on", or "off (why)".
  std::string_view NegotiatePassthrough(fuse_conn_info* conn);
  // Negotiated in Init; off after the kernel refuses (PassthroughRefused).
  std::atomic<bool> passthrough_{false};
  // What .regfs/whoami shows under "mount": "on", or "off (why)". Points
  // at a string literal.
  std::atomic<const char*> passthrough_status_{"off (not negotiated yet)"};
  static constexpr const char* kPassthroughRefused =
      "off (the kernel refused a blob: the daemon needs CAP_SYS_ADMIN, and "
      "the store a non-stacked file system)";
  BackingFiles backing_files_;

  // At most this many versions are cached (a few MiB); a full cache is
  // emptied, so that a walk over a huge store keeps the daemon small.
  static constexpr size_t kMaxCachedVersions = 4096;

  registry::Result<Node> Resolve(Ino ino);
  // The entry of an immutable `node` (a version, a file in one), stat'ed,
  // with the version timeouts; the refusal if it cannot be stat'ed.
  Reply ImmutableEntry(const Request& r, const Node& node);
  // Resolve for a handler: the reply to `op` ("getattr") of an inode that
  // does not resolve, its errno from ErrnoFor.
  std::expected<Node, ErrorReply> ResolveOr(const Request& r, Ino ino,
                                            std::string_view op);
  // Names and versions by id: from the caches, else one indexed registry
  // query each (never a scan of the store).
  registry::Result<std::string> CollectionName(int64_t id);
  std::optional<int64_t> KnownCollectionId(std::string_view name);
  // The ids of every collection the caches know.
  std::vector<int64_t> KnownCollectionIds();
  void RememberCollection(int64_t id, const std::string& name);
  // Drops a deleted collection's name, id and versions from the caches.
  void ForgetCollection(std::string_view name);
  registry::Result<registry::Version> VersionById(int64_t id);
  // Drops a deleted version from the cache.
  void ForgetVersion(std::string_view collection, uint64_t number);
  // Caches `version` without its tags, metadata and aliases.
  void RememberVersion(registry::Version version);

  // Identities and the read check.
  registry::Identity ReadIdentity(const Request& r);
  registry::Identity ChangeIdentity(const Request& r);
  // `change(identity)`, a registry call that decides the caller's role in
  // its own transaction: first without reading the caller's groups
  // (CallerCache::ForChangeWithoutGroups), and with them when the
  // registry answers that the role depends on them (GroupsUnread). Reading
  // them is a /proc read that costs as much as an alias move's statements
  // (issue 15), and only group grants need them. Defined in
  // file_system_internal.h.
  template <class Change>
  auto AsChanger(const Request& r, Change&& change)
      -> std::invoke_result_t<Change&, const registry::Identity&>;
  // 0 if the caller may read (role >= viewer), else the errno.
  int CheckRead(const Request& r, const What& what);
  // 0 if the caller may unlink or rename the staged symlink `staged`: its
  // creator or an admin. Else the errno, logged as a refusal: EACCES for a
  // caller who may change nothing (viewers), EPERM for other members.
  int CheckStagedOwner(const Request& r, const What& what,
                       const StagedEntry& staged);

  // Names for logs: "models/v1", "zoo/v0/docs/readme.txt", ".regfs/history".
  std::string PathOf(const Node& node);
  std::string PathOf(Ino ino);
  std::string PathIn(Ino parent, std::string_view name);
  // "alice (uid 1000, pid 4242)".
  std::string WhoIs(const Request& r);

  // The errno of `error`. The one place where a registry failure becomes
  // EIO: an IoError or Corruption is logged at warn with what was tried,
  // by whom, and the cause. Other errors are not logged here (a refusal
  // logs itself through Refuse; a missing name is no news).
  int ErrnoFor(const Request& r, const What& what,
               const registry::Error& error);
  // As ErrnoFor, but ENOENT for a name that cannot exist (InvalidArgument).
  int LookupErrnoFor(const Request& r, const What& what,
                     const registry::Error& error);

  // Replies that log: a refusal at info, a failure at warn (ErrnoFor).
  ErrorReply Refuse(const Request& r, const What& what,
                    const registry::Error& error);
  ErrorReply Refuse(const Request& r, const What& what, int err,
                    std::string_view why);
  // A refusal of Authorize with `why` as the logged reason (a failure
  // logs its own).
  ErrorReply RefuseWhy(const Request& r, const What& what,
                       const registry::Error& error, std::string_view why);
  // The directory `parent` for a change `what` of its entry `name`, or
  // the refusal: `parent` does not resolve, or is a view of the past
  // (EROFS).
  std::expected<Node, ErrorReply> ChangeDirOr(const Request& r, Ino parent,
                                              std::string_view name,
                                              const std::string& what);
  // For mkdir or rmdir (`op`) of an entry of `parent`: the collection or
  // draft directory `parent` that holds drafts, nullopt for any other
  // directory, or the refusal: a view of the past (EROFS), or `parent`
  // does not resolve.
  std::expected<std::optional<Node>, ErrorReply> DirChangeOr(
      const Request& r, Ino parent, std::string_view op,
      const std::string& what);
  // Refuses a change that nobody may make (to a version, a control file,
  // a tree): EACCES for a caller who may change nothing at all (a viewer:
  // DESIGN's "viewer tries any change"), EPERM for everyone else.
  ErrorReply RefuseImmutable(const Request& r, const What& what,
                             std::string_view why);

  // Attributes.
  struct stat DirStat(Ino ino, mode_t perm, uid_t uid,
                      registry::TimeMs mtime) const;
  struct stat FileStat(Ino ino, mode_t perm, uint64_t size, uid_t uid,
                       registry::TimeMs mtime) const;
  // A version's: a file or, for a tree, a directory, read-only.
  struct stat VersionStat(Ino ino, bool tree, uint64_t size, uid_t creator_uid,
                          registry::TimeMs created) const;
  struct stat LinkStat(Ino ino, const LinkNode& link) const;
  registry::Result<struct stat> StatOf(const Request& r, const Node& node);
  EntryReply MakeEntry(Ino ino, const struct stat& attr, double entry_timeout,
                       double attr_timeout) const;
  // The entry of a version from its attributes alone: a lookup's of vN
  // and readdirplus's of a listed version (DirEntry::attrs).
  EntryReply VersionEntry(const registry::VersionAttrs& a) const;
  double AttrTimeout(const Node& node) const;

  // ctl: .regfs/ctl (file_system_control.cc).
  struct stat ControlFileStat() const;
  Reply LookupControlFile(const Request& r);
  Reply OpenControlFile(const Request& r, int flags);
  Reply WriteControl(const Request& r, ControlReply& reply,
                     std::string_view data);
  // The ctl publish request (PublishDraftLocked, as a rename onto `latest`
  // or an alias).
  registry::Result<registry::OrderedJson> PublishFromControl(
      const Request& r, const registry::Identity& who,
      const ControlRequest& request);

  Reply LookupInRoot(const Request& r, std::string_view name);
  Reply LookupInControl(const Request& r, std::string_view name);
  Reply LookupInCollection(const Request& r, const Node& dir,
                           std::string_view name);
  // `name` = vN (`number`) in the collection `dir`, now (not --as-of).
  Reply LookupVersion(const Request& r, const Node& dir, std::string_view name,
                      uint64_t number);
  Reply LookupInTree(const Request& r, const Node& dir, std::string_view name);

  // Views of the past (file_system_past.cc): .regfs/at/<moment>/...,
  // <collection>/<alias>@{N}, and frozen (--as-of) mounts.
  Reply LookupMoment(const Request& r, std::string_view name);
  Reply LookupInPast(const Request& r, const Node& dir, std::string_view name);
  // `name` = ALIAS@{N} in the collection `dir`, counting back from event
  // `at` (nullopt: now); `moment` names the .regfs/at/ view it is in.
  Reply LookupReflog(const Request& r, const Node& dir, std::string_view name,
                     const registry::ReflogName& reflog,
                     std::optional<uint64_t> at, std::string_view moment);
  EntryReply PastEntry(PastNode node);
  registry::Result<std::vector<DirEntry>> ListPast(const Node& node);
  // .regfs/at, its contents, reflog names and everything of a frozen mount
  // are read-only: changes there get EROFS.
  bool ReadOnlyView(const Node& dir, std::string_view name) const;
  EntryReply LinkEntry(Ino ino, LinkNode link);
  Reply StageSymlink(const Request& r, const Node& dir, std::string_view name,
                     std::string_view target,
                     const std::optional<Existing>& existing);
  // Makes the staged symlink `entry` (taken from staging_) a lasting alias
  // with its creator's identity, because `why`; a refusal (name taken
  // meanwhile, role revoked) is logged at warn. `invalidate`: tell the
  // kernel (not when the mount stops).
  void CommitStaged(const StagedEntry& entry, std::string_view why,
                    bool invalidate);
  // Why a rename of alias `moved` into version `version_ino` (mv onto a
  // tree alias without -T) is refused, naming the other aliases of that
  // version in `dir`: the ones mv -T could replace.
  std::string IntoVersionReason(const Node& dir, std::string_view moved,
                                Ino version_ino);
  Reply RenameStaged(const Request& r, const Node& dir,
                     const StagedEntry& staged, std::string_view new_name,
                     unsigned flags);
  // The staged symlink `staged` renamed to `new_name`, still a temporary
  // name: moved within the staging table, replacing `replaced`.
  Reply RestageSymlink(const Request& r, const std::string& what,
                       const Node& dir, const StagedEntry& staged,
                       const std::optional<StagedEntry>& replaced,
                       std::string_view new_name);
  registry::Result<std::vector<DirEntry>> ListDir(const Node& node);
  // A collection's entries (.history, versions, aliases) after `entries`.
  registry::Result<std::vector<DirEntry>> ListCollection(
      const Node& node, std::vector<DirEntry> entries);
  registry::Result<XattrList> XattrsOf(const Node& node);
  std::string RenderWhoami(const Request& r);
  // Invalidates what event `e` changed (OnEvents); true if it changed a
  // role.
  bool InvalidateFor(const registry::Event& e);
  // InvalidateFor's parts: collection `id`'s deletion (its inode `dir`),
  // a version's creation or deletion in `dir`, a name's protection.
  void InvalidateDeleted(const registry::Event& e, std::optional<int64_t> id,
                         Ino dir);
  void InvalidateVersions(const registry::Event& e, Ino dir);
  void InvalidateProtection(const registry::Event& e);

  // ---- Drafts (file_system_drafts.cc; drafts-fs) ----
  // Who may see a draft: its owner and admins. 0, or ENOENT for others.
  int DraftVisible(const Request& r, const DraftKey& key);
  bool IsAdmin(const Request& r);
  std::filesystem::path DraftPath(const DraftKey& key);
  // The draft root `name` in collection `collection_id` that the caller
  // sees: their own, else (admins) another user's.
  std::optional<DraftKey> FindDraft(const Request& r, int64_t collection_id,
                                    std::string_view name);
  // Whether `name` in a collection names a draft (a dot-name that is not
  // a control file).
  static bool IsDraftName(std::string_view name);
  struct stat DraftStat(const Request& r, Ino ino, const DraftKey& key,
                        const struct stat& disk) const;
  registry::Result<struct stat> StatDraft(const Request& r, const Node& node);
  Reply DraftEntry(const Request& r, const DraftKey& key);
  Reply LookupDraft(const Request& r, const Node& dir, std::string_view name);
  // The key a new name in `dir` (a collection or a draft directory) gets;
  // else the refusal. Checks that the caller may change drafts.
  std::expected<DraftKey, ErrorReply> NewDraftKey(const Request& r,
                                                  const Node& dir,
                                                  std::string_view name,
                                                  const What& what);
  Reply CreateDraft(const Request& r, const Node& dir, std::string_view name,
                    mode_t mode, int flags);
  Reply MkNodDraft(const Request& r, const Node& dir, std::string_view name,
                   mode_t mode);
  Reply MkDirDraft(const Request& r, const Node& dir, std::string_view name,
                   mode_t mode);
  // unlink (dir = false) or rmdir of a draft's file or directory.
  Reply RemoveDraft(const Request& r, const Node& dir, const DraftKey& key,
                    bool dir_op);
  // The draft (or the entry inside a draft) `name` in `dir`, visible to
  // the caller; nullopt if there is none.
  std::optional<DraftKey> DraftIn(const Request& r, const Node& dir,
                                  std::string_view name);
  Reply RenameDraft(const Request& r, const Node& dir, const DraftKey& from,
                    Ino new_parent, std::string_view new_name,
                    unsigned flags);
  Reply PublishDraft(const Request& r, const Node& dir, const DraftKey& draft,
                     std::string_view target, unsigned flags);
  Reply OpenDraft(const Request& r, const Node& node, int flags);
  Reply SetAttrDraft(const Request& r, const Node& node,
                     const struct stat& attr, int to_set, Handle* handle);
  registry::Result<std::vector<DirEntry>> ListDraftDir(const Node& node);
  // The caller's drafts (admins: everybody's) in a collection listing.
  void AppendDrafts(const Request& r, const Node& dir,
                    std::vector<DirEntry>& entries);
  Reply DraftXattr(const Request& r, const Node& node, std::string_view op,
                   std::string_view name, std::string_view value, int flags,
                   size_t size);
  // `user.regfs.published` of a collection: the version the caller
  // published there last (from the history).
  Reply PublishedXattr(const Request& r, const Node& dir, size_t size);
  // -o draftpassthrough (file_system_draft_passthrough.cc). Whether draft
  // opens ask the kernel to read and write the file itself now.
  bool DraftPassthrough() const;
  // An open of the draft file at `path` for writing, with the root's lock
  // held shared: the handle becomes a kernel writer, unless its owner is
  // at or past the quota (EDQUOT) or `path` is no longer its file (ENOENT:
  // published or removed meanwhile).
  int BeginKernelWrites(const Request& r, Handle& handle,
                        const std::filesystem::path& path, const What& what);
  // The draft's disk bytes since the last count join its owner's count;
  // EDQUOT (logged) if the owner is now past the quota.
  int RecountKernelWrites(const Request* r, Handle& handle, const What& what);
  // The draft's root locks, held exclusively once no kernel writer of it
  // is open (they close a moment after cp exits: FUSE_RELEASE is
  // asynchronous); kConflict if some stay open.
  registry::Result<std::vector<std::unique_lock<std::shared_mutex>>>
  LockForPublish(const DraftRootLocks& locks);
  // Checks the quota before a write that may grow a file by `growth`.
  int ReserveDraftBytes(const Request& r, uid_t owner, uint64_t growth,
                        uint64_t quota, const What& what);
  void ResetDraftUsage();
  // Mount start and hourly: abandoned drafts and published leftovers.
  void CollectDrafts(std::string_view why);
  DraftTable drafts_;
  DraftUsage draft_usage_;
  std::atomic<int64_t> drafts_collected_ms_{0};

  registry::Registry& registry_;
  const FileSystemOptions options_;
  const registry::TimeMs started_;
  CallerCache callers_;
  Staging staging_;
  LinkTable links_;
  // This mount's changes that its replies gave the kernel (OnEvents).
  AnsweredChanges answered_;
  PastViews past_;
  HistoryFiles histories_;
  Notifier notifier_;
  Watcher watcher_;
  // Live mounts only (a frozen one shows no changes); from Start to Stop.
  std::unique_ptr<registry::ChangeListener> listener_;
  // A shared store's changes made on other machines; null on an embedded
  // store.
  std::unique_ptr<registry::NodeChangeListener> nodes_listener_;

  Mutex collections_mu_;
  std::unordered_map<int64_t, std::string> collection_names_
      GUARDED_BY(collections_mu_);
  std::map<std::string, int64_t, std::less<>> collection_ids_
      GUARDED_BY(collections_mu_);
  Mutex versions_mu_;
  std::unordered_map<int64_t, registry::Version> versions_
      GUARDED_BY(versions_mu_);
};

}  // namespace regfs::fs

#endif  // REGFS_FS_FILE_SYSTEM_H_
