// The registry: one store directory (registry.db + blobs/) and every rule
// of DESIGN.md. Callers pass the acting Identity to each change; this class
// decides whether it is allowed and records it in the history in the same
// SQLite transaction.
//
// Thread safety: a Registry is safe to use from many threads. It owns one
// SQLite connection behind a mutex; every call holds it for its SQL, and
// slow work that needs no SQL (hashing and copying pushed files, comparing
// blobs) runs before taking it. Concurrent SetAlias calls are committed in
// groups: moves that arrive while another is being applied share one
// transaction and one sync, and each returns once its group is durable
// (GetBatchStats). Several processes may open one store at
// once: writes use BEGIN IMMEDIATE with a busy timeout, so they wait for
// each other instead of failing.
#ifndef REGFS_REGISTRY_REGISTRY_H_
#define REGFS_REGISTRY_REGISTRY_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/automations.h"
#include "registry/blob_store.h"
#include "registry/change_listeners.h"
#include "registry/node_changes.h"
#include "registry/drafts.h"
#include "registry/error.h"
#include "registry/hasher.h"
#include "registry/history.h"
#include "registry/identity.h"
#include "registry/model.h"
#include "registry/search.h"

namespace regfs::registry {

struct OpenOptions {
  // Replaces XXH3-128 (tests inject colliding hashers).
  HasherFactory hasher;
  // Tests: fail a push right after its blobs are in place, before the
  // version row commits.
  BlobStore::FailPoint fail_point = BlobStore::FailPoint::kNone;
  // false: no fsync at all (SQLite synchronous=OFF, blobs unsynced). Only
  // for generating benchmark stores quickly; a crash may lose or corrupt
  // what such a Registry wrote.
  bool durable = true;
};

struct PushRequest {
  std::string collection;
  // One regular file makes a file version. Several files, or directories,
  // make a tree version: files at the root by base name, a single
  // directory's contents at the root, several directories by base name.
  std::vector<std::filesystem::path> paths;
  std::vector<std::string> aliases;
  std::vector<std::string> tags;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string description;
  // Push what symbolic links point to (as `cp -L`): regular files and
  // directories; a dangling link or a loop is InvalidArgument. false: any
  // symbolic link among the paths is refused.
  bool follow_symlinks = false;
  ProgressFn progress;  // may be empty
};

// The file name(s) a push records for its version: the pushed paths' base
// names, comma-separated ("." and ".." by their absolute form's). A push
// through a mount gives the same to PublishRequest::filename.
[[nodiscard]] std::string PushedFilename(
    const std::vector<std::filesystem::path>& paths);

struct FsckOptions {
  // Also enable fs-verity on every intact blob that lacks it, where the
  // store's file system supports it.
  bool repair = false;
  // A store in S3: read every object and check its hash too, not only
  // that it is there with its size (a local store always does).
  bool contents = false;
};

struct FsckReport {
  uint64_t versions = 0;
  uint64_t blobs = 0;
  uint64_t bytes = 0;
  std::vector<std::string> problems;  // one line each; empty when clean
  // The versions a missing or corrupt blob belongs to, sorted: "models/v1",
  // and for a tree "zoo/v0/sub/file.bin".
  std::vector<std::string> affected;
  // With `repair`: blobs protected by fs-verity after the run, and whether
  // the file system supports it (nullopt: no blob was tried).
  uint64_t verity_blobs = 0;
  std::optional<bool> verity_supported;
  bool clean() const { return problems.empty(); }
};

// The node cache of a store whose blobs live in S3 (issue 17).
struct CacheStatus {
  std::string url;     // "s3://BUCKET/PREFIX"
  uint64_t limit = 0;  // cache-size
  std::vector<CachedBlob> blobs;  // least recently used first
};

struct CacheWarmReport {
  uint64_t blobs = 0;    // the version's distinct blobs
  uint64_t bytes = 0;
  uint64_t fetched = 0;  // of them, not cached before
};

struct GcReport {
  BlobGcReport blobs;
  DraftGcReport drafts;  // drafts-reg (issue 13)
};

// drafts-reg (issue 13): publishing a draft (Registry::Publish).
struct PublishRequest {
  std::string collection;
  uid_t owner = 0;     // whose draft: the caller, or another user's (admin)
  std::string draft;   // its dot-name: ".model.pt"
  // "latest" (just publish), an alias to point at it, or the name of the
  // version it must become ("v7"): then it is published only if 7 is the
  // collection's next number when its transaction commits (a
  // compare-and-swap): AlreadyExists if that number is taken (another
  // publish took it first), InvalidArgument for a higher number or one
  // not written as a version's name (v007, V7).
  std::string target;
  // The version's file name(s), as PushedFilename gives them for a push
  // through a mount; empty: the draft's name without its dot.
  std::string filename;
  // Given by the caller in addition to the sidecar and the xattrs.
  std::vector<std::string> aliases, tags;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string description;
  ProgressFn progress;  // may be empty
};

// What a caller asks to do, for Registry::Authorize.
struct Action {
  enum class Kind {
    kRead,             // read anything in the store
    kChange,           // create, move or remove aliases and collections
    kChangeImmutable,  // change a version, a control file, ...: nobody may
    kChangeStaged,     // change a name `owner` staged and not yet committed
  };
  Kind kind = Kind::kRead;
  Identity owner;  // kChangeStaged only

  static Action Read() { return {Kind::kRead, {}}; }
  static Action Change() { return {Kind::kChange, {}}; }
  static Action ChangeImmutable() { return {Kind::kChangeImmutable, {}}; }
  static Action ChangeStaged(Identity owner) {
    return {Kind::kChangeStaged, std::move(owner)};
  }
};

class Registry final {
 public:
  // The store of `--store`, else $REGFS_STORE, else
  // $XDG_DATA_HOME/regfs (~/.local/share/regfs).
  static std::filesystem::path DefaultStorePath();

  // Creates a store owned by `owner` (mode 0700). AlreadyExists if
  // `store` already holds a registry.
  [[nodiscard]] static Result<std::unique_ptr<Registry>> Init(
      const std::filesystem::path& store, const Identity& owner,
      OpenOptions options = {});
  // Opens an existing store, upgrading an older schema.
  [[nodiscard]] static Result<std::unique_ptr<Registry>> Open(
      const std::filesystem::path& store, OpenOptions options = {});

  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  const std::filesystem::path& store() const { return store_; }
  static constexpr int kSchemaVersion = 7;
  // The database file inside a store directory.
  static constexpr std::string_view kDatabaseFileName = "registry.db";
  // The principal of the default role (everyone without a grant).
  static constexpr std::string_view kDefaultPrincipal = "*";

  // ---- Reads: need no role; the mount checks Role for its callers. ----
  [[nodiscard]] Result<std::vector<Collection>> ListCollections();
  [[nodiscard]] Result<Collection> GetCollection(std::string_view name);
  [[nodiscard]] Result<Collection> GetCollectionById(int64_t id);
  // A collection's id and name, without its counts: for the mount's
  // lookups, from the read cache when it has them (EnableReadCache).
  struct CollectionRef {
    int64_t id = 0;
    std::string name;
  };
  [[nodiscard]] Result<CollectionRef> LookupCollection(std::string_view name);
  // A live version by Version::id, without tags, metadata or aliases: one
  // indexed query, for the mount's getattr and open.
  [[nodiscard]] Result<Version> GetVersionById(int64_t id);
  // A live version of the collection with id `collection_id` by number,
  // without tags, metadata or aliases: one indexed query.
  [[nodiscard]] Result<Version> GetVersionByNumber(int64_t collection_id,
                                                   uint64_t number);
  // The attributes of version `number` of `collection`: what a mount's
  // lookup of `vN` answers with. With the read cache on, the second lookup
  // in a block of ReadCache::kVersionBlock numbers reads the whole block's.
  [[nodiscard]] Result<VersionAttrs> GetVersionAttrs(
      const CollectionRef& collection, uint64_t number);
  // The same as it stood right after event `seq` (past.cc): NotFound if
  // it was made later. `seq` nullopt: now.
  [[nodiscard]] Result<Version> GetVersionByNumberAt(
      int64_t collection_id, uint64_t number, std::optional<uint64_t> seq);
  // Live versions, oldest first, without tags/metadata/aliases.
  [[nodiscard]] Result<std::vector<Version>> ListVersions(
      std::string_view collection);
  // The same, each in full (tags, metadata, aliases): one query each for
  // all the collection's tags, metadata and aliases, not one per version.
  [[nodiscard]] Result<std::vector<Version>> ListVersionsInFull(
      std::string_view collection);
  // One version in full (tags, metadata, aliases).
  [[nodiscard]] Result<Version> GetVersion(std::string_view collection,
                                           uint64_t number);
  // User aliases and `latest` (if the collection has a live version).
  [[nodiscard]] Result<std::vector<Alias>> ListAliases(
      std::string_view collection);
  [[nodiscard]] Result<Alias> GetAlias(std::string_view collection,
                                       std::string_view name);
  // "v3", "latest" or an alias name -> the version it names now.
  [[nodiscard]] Result<Version> Resolve(std::string_view collection,
                                        std::string_view name);
  // Entries of a tree version's directory (`parent_id` 0: the root),
  // sorted by name.
  [[nodiscard]] Result<std::vector<TreeEntry>> ListTree(int64_t version_id,
                                                        int64_t parent_id);
  [[nodiscard]] Result<TreeEntry> LookupTree(int64_t version_id,
                                             int64_t parent_id,
                                             std::string_view name);
  [[nodiscard]] Result<TreeEntry> GetTreeEntry(int64_t entry_id);
  std::filesystem::path BlobPath(std::string_view key) const;
  // Whether the blobs live in S3 (this store's blob directory is then the
  // node's cache of them).
  bool HasRemoteBlobs() const;

  // ---- Search (issue 16; search.h, search.cc): `regfs search`, the ----
  // ---- control file's "search" op and the web view's search box.    ----
  // Stable API: other layers (tools/, fs/, the web view) build on it.
  // Finds `term` anywhere in collection names, alias names, tags,
  // metadata keys and values, descriptions and original file names (a
  // version's, and each file of a tree), ignoring ASCII case; the term is
  // literal (no wildcards). Live published versions only. Results come
  // grouped by field, at most `options.limit` hits per group, with a
  // count of the rest. PermissionDenied without the read role (as any
  // read through the mount); InvalidArgument for an empty term, one
  // longer than kSearchMaxTermBytes or holding a NUL, or a limit outside
  // 1..kSearchMaxLimit.
  [[nodiscard]] Result<SearchResults> Search(const Identity& who,
                                             std::string_view term,
                                             SearchOptions options = {});

  [[nodiscard]] Result<std::vector<Event>> History(const HistoryFilter& filter);
  // The newest event's sequence number (0 for none): cheap, for polling.
  [[nodiscard]] Result<uint64_t> LastSeq();

  // ---- Time travel, read-only: the registry right after event `seq` ----
  // ---- (seq 0: before the first event), replayed from the history.  ----
  // The event `point` names in a view whose newest event is `view`
  // (nullopt: the live registry, whose newest event is the newest there
  // is; a frozen mount passes its moment): "now" is the view's newest
  // event, an event number is itself, a time in ParseTime's forms is the
  // newest event at or before it. A moment must not be in the view's
  // future: NotFound, saying so, for an event number past the view's
  // newest, a time after now, or a time whose event is past the view's
  // newest. InvalidArgument for anything that is not a moment.
  [[nodiscard]] Result<uint64_t> SeqAt(
      std::string_view point, std::optional<uint64_t> view = std::nullopt);
  // Collections that existed right after `seq`, by name, as they are now.
  [[nodiscard]] Result<std::vector<Collection>> CollectionsAt(uint64_t seq);
  // One of them; NotFound if it was created after `seq` (or never).
  [[nodiscard]] Result<Collection> GetCollectionAt(std::string_view name,
                                                   uint64_t seq);
  // Versions live right after `seq` that still exist (a deleted version's
  // content is gone), oldest first, without tags/metadata/aliases.
  [[nodiscard]] Result<std::vector<Version>> VersionsAt(
      std::string_view collection, uint64_t seq);
  // Aliases right after `seq`, `latest` included, sorted by name. An
  // alias's `version_id` is 0 if its version has been deleted since;
  // `revision`, `updated*` come from the event that set it.
  [[nodiscard]] Result<std::vector<Alias>> AliasesAt(
      std::string_view collection, uint64_t seq);
  // `latest` or an alias right after `seq`; NotFound if it did not exist.
  [[nodiscard]] Result<Alias> GetAliasAt(std::string_view collection,
                                         std::string_view name, uint64_t seq);
  // `name@{back}`: the alias (or `latest`) `back` changes before event
  // `at` (nullopt: now), counting only changes up to `at`; back 0 is what
  // it named right after `at`. NotFound when it had had fewer targets by
  // then, or had none at that point (it was removed). `version_id` 0 if
  // that version has been deleted since.
  [[nodiscard]] Result<Alias> GetAliasBefore(
      std::string_view collection, std::string_view name, uint64_t back,
      std::optional<uint64_t> at = std::nullopt);

  // Root and the store's owner: admin. Else the user's own grant, `none`
  // included (it wins over the user's groups); else the highest grant of
  // the user's groups; else the default role. GroupsUnread when the role
  // may depend on groups that `who` lacks (Identity::groups_known).
  [[nodiscard]] Result<Role> RoleOf(const Identity& who);
  // Whether `who` may do `action` (authorize.cc): ok, or the refusal:
  // PermissionDenied when `who`'s role is too low for it (EACCES),
  // NotPermitted when the role would do but the thing is immutable or
  // another user's (EPERM). Any other error: the role could not be read.
  [[nodiscard]] Status Authorize(const Identity& who, const Action& action);
  // The same decision with `who`'s role from `role_of` (a cache, say),
  // called only when the decision depends on the role.
  [[nodiscard]] static Status Authorize(
      const Identity& who, const Action& action,
      const std::function<Result<Role>()>& role_of);
  [[nodiscard]] Result<std::vector<RoleGrant>> ListRoles();
  [[nodiscard]] Result<Role> DefaultRole();
  [[nodiscard]] Result<std::vector<ProtectedName>> ListProtected();
  [[nodiscard]] Result<bool> IsProtected(std::string_view name);

  // ---- Changes: each checks `who`, writes one transaction with its ----
  // ---- history rows, and returns what it made.                       ----
  [[nodiscard]] Result<Collection> CreateCollection(const Identity& who,
                                                    std::string_view name);
  [[nodiscard]] Result<Version> Push(const Identity& who,
                                     const PushRequest& request);
  // The checks Push makes before it copies anything (names, the role, the
  // aliases' protection), with Push's errors: a push through a mount asks
  // first, so that a refused one copies nothing and says what Push says.
  [[nodiscard]] Status CheckPush(const Identity& who,
                                 const PushRequest& request);
  [[nodiscard]] Status DeleteVersion(const Identity& who,
                                     std::string_view collection,
                                     uint64_t number);
  // Deletes a collection; its name can then be used again. Without `all`
  // (members and admins: `rmdir`), only a collection with no live
  // versions, else Conflict. With `all` (admins only: `regfs rm COLL
  // --all`), its aliases and versions go too, each with its history row
  // (alias.remove, version.delete) before the collection.delete, in one
  // transaction; NotPermitted while any alias of it has a protected name.
  // Their blobs are left for Gc. A collection later created under the
  // same name is a new collection (a new id) whose numbering continues
  // where this one's stopped, so that `NAME/vN` never names two contents.
  [[nodiscard]] Status DeleteCollection(const Identity& who,
                                        std::string_view name, bool all);

  // Creates the alias (AlreadyExists if it exists).
  [[nodiscard]] Result<Alias> CreateAlias(const Identity& who,
                                          std::string_view collection,
                                          std::string_view alias,
                                          std::string_view target);
  // Creates or moves the alias. With `expected`, moves only if the alias
  // now points at that version (nullopt in expected->value: must not
  // exist); otherwise Conflict. Moving to the version it already names
  // records nothing.
  [[nodiscard]] Result<Alias> SetAlias(
      const Identity& who, std::string_view collection, std::string_view alias,
      std::string_view target,
      std::optional<std::optional<uint64_t>> expected = std::nullopt);
  [[nodiscard]] Status RemoveAlias(const Identity& who,
                                   std::string_view collection,
                                   std::string_view alias);

  // Starts this process's listener for the changes that other processes
  // (the CLI, other mounts) make, and announces this Registry's own changes
  // to every other listener but not to it (change_listeners.h). Every
  // change announces itself before it returns, listener or not.
  [[nodiscard]] Result<std::unique_ptr<ChangeListener>> Listen(
      ChangeListener::OnChange on_change);
  // On a shared store, also starts the listener for changes made on other
  // machines (node_changes.h), which calls `on_change` as Listen's does;
  // on an embedded store there are none: null.
  [[nodiscard]] Result<std::unique_ptr<NodeChangeListener>>
  ListenToOtherNodes(NodeChangeListener::OnChange on_change);

  // Calls `on_change(seq)` after every change this Registry commits and
  // every change its listeners (Listen, ListenToOtherNodes) hear of, until
  // the returned observation is destroyed (before the Registry). For
  // waking a thread (the deliverer): ChangeObservers' rules apply.
  class ChangeObservation final {
   public:
    ChangeObservation(ChangeObservers& observers, uint64_t id)
        : observers_(observers), id_(id) {}
    ChangeObservation(const ChangeObservation&) = delete;
    ChangeObservation& operator=(const ChangeObservation&) = delete;
    ~ChangeObservation() { observers_.Remove(id_); }

   private:
    ChangeObservers& observers_;
    const uint64_t id_;
  };
  [[nodiscard]] std::unique_ptr<ChangeObservation> ObserveChanges(
      ChangeObservers::OnChange on_change);

  // ---- The mount's read cache (read_cache.h; issue 14). ----
  // From now on LookupCollection, GetVersionByNumber(At), GetVersionAttrs,
  // LookupTree and GetAlias answer from memory what they have read before, and
  // every change this Registry makes forgets what it touches. Changes made by
  // other processes and machines must be told with Refresh: a mount's
  // watcher does. Call before any other thread uses the Registry.
  void EnableReadCache();
  // Forgets what `events` (committed by others) changed, and reads again
  // the aliases among them that were cached, so that the next lookup
  // still costs no round trip. Takes the lock; a failed read leaves the
  // alias forgotten.
  void Refresh(const std::vector<Event>& events);
  // When a shared store's change notifications stopped (the database
  // stopped answering the listener's heartbeat, or the connection broke):
  // since then, what the cache answers may be stale. nullopt: current (and
  // always on an embedded store).
  std::optional<TimeMs> StaleSince() const;

  // How SetAlias calls were grouped into commits since Open.
  struct BatchStats {
    uint64_t commits = 0;  // successful commits of at least one move
    uint64_t moves = 0;    // moves applied by them
    uint64_t largest = 0;  // the most moves in one commit
  };
  BatchStats GetBatchStats();
  // Renames `from` to `to`; replaces `to` if it exists and `replace`.
  [[nodiscard]] Status RenameAlias(const Identity& who,
                                   std::string_view collection,
                                   std::string_view from, std::string_view to,
                                   bool replace);
  // Swaps the targets of two existing aliases: one transaction, two moves.
  [[nodiscard]] Status ExchangeAliases(const Identity& who,
                                       std::string_view collection,
                                       std::string_view a, std::string_view b);
  // Checks, without changing anything, that `who` may make `alias` name
  // `target` (as SetAlias would), and returns the version it would name.
  [[nodiscard]] Result<Version> CheckSetAlias(const Identity& who,
                                              std::string_view collection,
                                              std::string_view alias,
                                              std::string_view target);
  // The same for a name that is not an alias yet (a temporary symlink that
  // a rename will turn into one): that `who` may change aliases of
  // `collection` at all, and the number of the version `target` names
  // there, from the read cache when it holds it (the rename checks again).
  [[nodiscard]] Result<uint64_t> CheckTarget(const Identity& who,
                                             std::string_view collection,
                                             std::string_view target);

  [[nodiscard]] Status AddTag(const Identity& who, std::string_view collection,
                              uint64_t number, std::string_view tag);
  [[nodiscard]] Status RemoveTag(const Identity& who,
                                 std::string_view collection, uint64_t number,
                                 std::string_view tag);

  [[nodiscard]] Status Protect(const Identity& who, std::string_view name);
  [[nodiscard]] Status Unprotect(const Identity& who, std::string_view name);

  // `principal`: a user name, "group:NAME", or "*" for the default role;
  // a uid or "group:GID" is stored under its name (CanonicalPrincipal).
  // Role::kNone for a user or group denies them what the default or
  // (for a user) their groups would give; see RoleOf.
  [[nodiscard]] Status Grant(const Identity& who, std::string_view principal,
                             Role role);
  [[nodiscard]] Status Revoke(const Identity& who, std::string_view principal);

  [[nodiscard]] Result<FsckReport> Fsck(FsckOptions options = {});

  // Opens blob `key` for reading, its bytes checked against its digest
  // (BlobStore::OpenVerified): Corruption when it is missing or differs.
  [[nodiscard]] Result<UniqueFd> OpenBlob(std::string_view key);
  // Hashes every blob of live version `number` of `collection` (each file
  // of a tree) now. Corruption names the version, file and blob.
  [[nodiscard]] Status VerifyVersion(std::string_view collection,
                                     uint64_t number);
  [[nodiscard]] Result<GcReport> Gc(const Identity& who);

  // ---- The node cache of a store in S3 (issue 17; blob_cache.h) ----
  // InvalidArgument for a store whose blobs are on a file system.
  [[nodiscard]] Result<CacheStatus> CacheList();
  // Fetches the blobs of `name` (an alias, `latest` or vN) of
  // `collection` that are not cached; `who` must be allowed to read it.
  [[nodiscard]] Result<CacheWarmReport> CacheWarm(const Identity& who,
                                                  std::string_view collection,
                                                  std::string_view name);
  // Removes every cached blob that is not open; admins only.
  [[nodiscard]] Result<CacheEviction> CacheDrop(const Identity& who);

  // ---- Drafts and publishing (drafts-reg, issue 13; drafts.h) ----
  // The store's drafts area, STORE/drafts.
  Drafts& drafts();
  // The store's limits on drafts (defaults where unset).
  [[nodiscard]] Result<DraftLimits> GetDraftLimits();
  // Sets them; admins only (PermissionDenied otherwise).
  [[nodiscard]] Status SetDraftLimits(const Identity& who, DraftLimits limits);
  // Publishes draft `r.draft` of uid `r.owner` in `r.collection` as its next
  // version, and points `r.target` at it if it is an alias; applies the
  // sidecar "<draft>.metadata.json" (sidecar.h), the draft's user.regfs.*
  // xattrs and the request's own aliases, tags, metadata and description,
  // all in one transaction with its history rows; then removes the draft
  // and its sidecar. The draft's files become blobs by hard link (no copy).
  // Refusals, each before anything changes (the draft stays as it was):
  // PermissionDenied for a viewer or no role, or another user's draft
  // unless admin; NotPermitted for a protected alias by a non-admin;
  // InvalidArgument for a malformed sidecar or name, or a draft whose kind
  // (file or directory) is not the collection's; NotFound for no such
  // draft or collection; AlreadyExists or InvalidArgument for a version's
  // name that is not the next (PublishRequest::target). The caller keeps
  // writes off the draft meanwhile.
  [[nodiscard]] Result<Version> Publish(const Identity& who,
                                        const PublishRequest& r);
  // Removes drafts untouched for longer than `idle` (the newest mtime in
  // their tree), and published leftovers: drafts whose every file is also
  // linked elsewhere (link count > 1) as a blob some version references,
  // left by a crash between a publish's commit and the draft's removal.
  [[nodiscard]] Result<DraftGcReport> CollectDrafts(std::chrono::seconds idle);
  // Discards draft `name` of uid `owner` in `collection` (with its tree):
  // its writer or an admin (PermissionDenied otherwise); NotFound if there
  // is no such draft.
  [[nodiscard]] Status RemoveDraft(const Identity& who,
                                   std::string_view collection, uid_t owner,
                                   std::string_view name);

  // ---- Automations (issue 16; automations.h, automations_store.cc) ----
  // Admins only (PermissionDenied otherwise). Adding starts the
  // automation at the history's current end and records automation.add;
  // removing drops it with its log and records automation.rm.
  // InvalidArgument for a bad spec (ValidateAutomationSpec),
  // AlreadyExists for a taken name, NotFound for an unknown one.
  [[nodiscard]] Result<Automation> AddAutomation(const Identity& who,
                                                 AutomationSpec spec);
  [[nodiscard]] Status RemoveAutomation(const Identity& who,
                                        std::string_view name);
  [[nodiscard]] Result<std::vector<Automation>> ListAutomations(
      const Identity& who);
  [[nodiscard]] Result<Automation> GetAutomation(const Identity& who,
                                                 std::string_view name);
  // The newest `limit` deliveries, oldest first; `name` empty: all
  // automations' (NotFound for an unknown name).
  [[nodiscard]] Result<std::vector<DeliveryRecord>> DeliveryLog(
      const Identity& who, std::string_view name, uint64_t limit);

  // For the deliverer, which holds the store's lease ("automations"):
  // up to `limit` events after `automation`'s position that it wants,
  // oldest first, and the newest seq looked at (to skip what it does not
  // want).
  struct PendingEvents {
    std::vector<Event> events;
    uint64_t scanned_to = 0;
  };
  [[nodiscard]] Result<PendingEvents> AutomationEvents(
      const Automation& automation, uint64_t limit);
  // Records one attempt and, with `advance`, moves the automation's
  // position to the attempt's seq: one transaction, and only while
  // `holder` holds the lease (Conflict otherwise: another deliverer took
  // over, and this one must stop).
  [[nodiscard]] Status RecordDelivery(std::string_view holder,
                                      const DeliveryRecord& record,
                                      bool advance);
  // Moves `name`'s position to `seq` (events it does not want), under
  // the lease as RecordDelivery.
  [[nodiscard]] Status SkipEvents(std::string_view holder,
                                  std::string_view name, uint64_t seq);
  // Earlier attempts at `seq` of automation `name`, oldest first.
  [[nodiscard]] Result<std::vector<DeliveryRecord>> DeliveryAttempts(
      std::string_view name, uint64_t seq);
  // Takes or renews the lease for `holder` until now + `ttl_ms` if it is
  // free, expired or `holder`'s own: whether `holder` holds it now.
  [[nodiscard]] Result<bool> TakeDeliveryLease(std::string_view holder,
                                               TimeMs ttl_ms);
  [[nodiscard]] Status ReleaseDeliveryLease(std::string_view holder);

 private:
  Registry(std::filesystem::path store, OpenOptions options);
  class Impl;
  std::filesystem::path store_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_REGISTRY_H_
