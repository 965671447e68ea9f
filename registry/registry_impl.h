// Registry::Impl: the state behind a Registry (the connection, the blob
// store, the lock and its group commits) and the helpers that the files
// implementing Registry share. Internal to registry/: each registry/*.cc
// that defines Registry members includes it; nothing outside does.
//
// Thread safety: every helper expects the lock held (Impl::Lock or a
// GroupCommit ticket), unless its comment says it takes it. Clang's
// -Wthread-safety checks this: `db` is PT_GUARDED_BY the lock, the helpers
// are REQUIRES it, those that take it EXCLUDES it.
#ifndef REGFS_REGISTRY_REGISTRY_IMPL_H_
#define REGFS_REGISTRY_REGISTRY_IMPL_H_

#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/group_commit.h"
#include "registry/names.h"
#include "registry/prefetcher.h"
#include "registry/read_cache.h"
#include "registry/registry.h"
#include "registry/replay.h"
#include "registry/shared_store.h"
#include "registry/sql/collections.h"
#include "registry/sql/connection.h"
#include "registry/sql/history.h"
#include "registry/sql/maintenance.h"
#include "registry/sql/rows.h"

namespace regfs::registry {

using sql::AliasRow;
using sql::CollectionRow;
using sql::Connection;
using sql::kVersionColumns;
using sql::Transaction;
using sql::VersionFromRow;

inline constexpr std::string_view kDefaultPrincipal =
    Registry::kDefaultPrincipal;

// Collections with their counts; `name` or `id` narrows to one.
using sql::QueryCollections;

using sql::ReadEvents;

inline std::string Quote(std::string_view name) {
  return fmt::format("'{}'", name);
}

// Where a pushed version's files come from (Impl::PushVersion).
struct PushSource {
  // false: copied from anywhere (Push); the collection is created if
  // missing. true: the one path is a draft (Publish): its files become
  // blobs by hard link, its collection must exist and take its kind.
  bool draft = false;
  // The version's file name(s); empty: the pushed paths' base names.
  std::string filename;
  // The number the version must get (a publish onto "v7"), checked against
  // the collection's next number inside the transaction; none: the next.
  std::optional<uint64_t> number;
};

// An alias change under way: its collection and its open transaction.
struct AliasChange {
  CollectionRow c;
  Transaction tx;
  // Whether each of the changed names is protected, in their order.
  std::vector<bool> is_protected;
};

// An alias row as WriteAlias wrote it: with the collection, name and
// target the writer gave, all of Alias but its protection.
struct WrittenAlias {
  int64_t id = 0;
  uint64_t revision = 0;
  TimeMs updated = 0;

  // The alias `name` of `c` naming `target`, as `who` wrote it.
  Alias For(const CollectionRow& c, std::string_view name,
            const Version& target, const Identity& who,
            bool is_protected) const;
};

// Owns the connection and the blob store. Lock order: the GroupCommit's
// mutex only; no other lock is taken while holding it.
class Registry::Impl {
 public:
  // A shared store's blobs and drafts are where its configuration says
  // (shared_store.h).
  Impl(const std::filesystem::path& store, OpenOptions options)
      : options(std::move(options)),
        blobs(BlobsDirOf(store), this->options.hasher, this->options.durable),
        drafts(DraftsDirOf(store)),
        announcer(store),
        batch(db, announcer) {}

  // Set once by Open before any other thread can see the Registry; what it
  // points to is used only with the lock held (Lock, or a batch's Ticket).
  std::unique_ptr<sql::Connection> db PT_GUARDED_BY(batch.mutex());
  OpenOptions options;
  BlobStore blobs;
  Drafts drafts;  // drafts-reg (issue 13): STORE/drafts; no lock needed
  uid_t owner_uid = 0;
  // A shared store's owner, by name: a uid means nothing across machines.
  std::optional<std::string> owner_name;
  // A shared store's metadata conninfo, for listeners' own connections.
  std::optional<std::string> shared_metadata;
  ChangeAnnouncer announcer;
  GroupCommit batch;  // the lock, and SetAlias's group commits
  // The mount's read cache (Registry::EnableReadCache), else null. Set
  // before other threads see the Registry; filled and emptied only with
  // the lock held (read_cache.h), read without it.
  std::unique_ptr<ReadCache> cache;
  // Registry::StaleSince, as the node listener reports it; 0: current.
  std::atomic<TimeMs> stale_since{0};
  // A store in S3 (issue 17): gc leaves objects younger than this alone;
  // a mount fetches the new target of these aliases when they move ("*":
  // all), with `prefetcher` (made by EnableReadCache; declared after
  // `blobs`, so destroyed first).
  std::chrono::seconds gc_grace{3600};
  std::vector<std::string> prefetch_aliases;
  std::unique_ptr<Prefetcher> prefetcher;

  // The distinct blobs of version `v` of `c` (one, or a tree's files').
  Result<std::vector<BlobToFetch>> BlobsOf(const CollectionRow& c,
                                           const Version& v)
      REQUIRES(batch.mutex());
  // Queues the new targets of the prefetched aliases among `events`.
  void PrefetchFor(const std::vector<Event>& events) REQUIRES(batch.mutex());

  // A shared store: connects `db` to its metadata (migrating the schema)
  // and makes its blob and drafts directories. Before any other use.
  Status ConnectShared(const SharedStoreConfig& config)
      REQUIRES(batch.mutex());

  // The lock, once no batch is open (GroupCommit::Lock). Exempt from the
  // analysis, which cannot follow a hold returned from a call it makes;
  // its callers are checked against the ACQUIRE.
  GroupCommit::Held Lock() ACQUIRE(batch.mutex()) NO_THREAD_SAFETY_ANALYSIS {
    return batch.Lock();
  }

  // The lock's exemption for Init and Open, which use `db` before they
  // return the Registry, so before any other thread can reach it: nothing
  // can race, and taking the lock there would only hide that. Tells the
  // analysis to treat the lock as held for the rest of the caller.
  void AssertUnshared() ASSERT_CAPABILITY(batch.mutex()) {}

  // fsck's checks of the database, into `report`, and the referenced
  // blobs (sql::ReferencedBlobs). Takes the lock.
  Result<std::vector<sql::BlobRef>> FsckDatabase(FsckReport& report)
      EXCLUDES(batch.mutex());
  // fsck of one blob: hashes it without the lock, and records in `report`
  // a missing or corrupt blob that is still referenced, with the files it
  // affects; else, with `repair`, enables fs-verity on it.
  Status FsckBlob(const sql::BlobRef& blob, bool repair, bool contents,
                  FsckReport& report)
      EXCLUDES(batch.mutex());
  // The live versions (and tree files) whose content is blob `key`,
  // sorted. Takes the lock.
  Result<std::vector<std::string>> FilesOfBlob(std::string_view key)
      EXCLUDES(batch.mutex());
  // fsck --repair of one intact blob: enables fs-verity, counting it in
  // `report`, or records why it could not.
  Status RepairVerity(const std::string& key, FsckReport& report);

  // ---- Helpers; all expect the lock held. ----

  Result<CollectionRow> FindCollection(std::string_view name)
      REQUIRES(batch.mutex());

  // The newest event's seq (0 for none).
  Result<uint64_t> LastSeq() REQUIRES(batch.mutex());
  // Time travel: `collection` rebuilt from its events 1..seq.
  Result<CollectionReplay> Replay(std::string_view collection, uint64_t seq,
                                  std::optional<std::string> watch)
      REQUIRES(batch.mutex());
  Result<Alias> AliasFromState(std::string_view collection,
                               std::string_view name, const AliasState& state,
                               bool is_protected) REQUIRES(batch.mutex());

  Result<std::optional<Version>> FindVersion(int64_t collection_id,
                                             uint64_t number)
      REQUIRES(batch.mutex());

  // Version `number` of `c`, or NotFound.
  Result<Version> RequireVersion(const CollectionRow& c, uint64_t number)
      REQUIRES(batch.mutex());
  // The newest live version and the seq of its creation event.
  Result<std::optional<std::pair<Version, uint64_t>>> FindLatest(
      int64_t collection_id) REQUIRES(batch.mutex());

  // "vN", "latest" or an alias of `c`, resolved now.
  Result<Version> ResolveIn(const CollectionRow& c, std::string_view name)
      REQUIRES(batch.mutex());

  Result<bool> IsProtected(std::string_view name) REQUIRES(batch.mutex());

  // Two aliases of one collection may not differ only by case:
  // AlreadyExists if `c` has an alias `name` but for case (other than
  // alias `except_id`). Enforced here rather than by a unique index, which
  // stores from before the rule may violate.
  Status RequireNoAliasCaseTwin(const CollectionRow& c, std::string_view name,
                                int64_t except_id = 0) REQUIRES(batch.mutex());

  // Root and the owner are admins; an explicit grant to the user wins,
  // `none` included (it denies even when a group grants more); else the
  // highest of the user's groups' grants (a group's `none` denies only if
  // no other group of the user grants a role); else the default.
  Result<Role> RoleOf(const Identity& who) REQUIRES(batch.mutex());

  // A write transaction begun, inside which `who`'s role is at least
  // `needed` (else PermissionDenied, as Require).
  Result<Transaction> BeginAs(const Identity& who, Role needed,
                              std::string_view action) REQUIRES(batch.mutex());
  // `who`'s role; PermissionDenied unless it is at least `needed`.
  Result<Role> Require(const Identity& who, Role needed,
                       std::string_view action) REQUIRES(batch.mutex());

  // The checks every alias change makes on the alias's own name: a member
  // at least, not `latest` or a version, admin for protected names.
  // Whether the name is protected.
  Result<bool> CheckAliasName(const Identity& who, std::string_view alias,
                              std::string_view verb) REQUIRES(batch.mutex());
  // NotPermitted if `alias` is protected and `role` is not admin; else
  // whether it is protected.
  Result<bool> CheckProtection(Role role, std::string_view alias,
                               std::string_view verb) REQUIRES(batch.mutex());

  // The version `target` names in `collection`, after the checks of a
  // move of `alias` (or, without one, of any alias change).
  Result<Version> CheckMove(const Identity& who, std::string_view collection,
                            std::optional<std::string_view> alias,
                            std::string_view target) REQUIRES(batch.mutex());

  // The version a symlink target written into `c` names now.
  Result<Version> ResolveTarget(const CollectionRow& c, std::string_view target)
      REQUIRES(batch.mutex());

  Result<uint64_t> Append(
      const Identity& who, EventType type, std::string_view collection,
      std::string_view alias, std::optional<uint64_t> old_version,
      std::optional<uint64_t> new_version,
      const nlohmann::json& detail = nlohmann::json::object(),
      TimeMs time = NowMs()) REQUIRES(batch.mutex());
  // Appends `event` as `who`'s, and returns its seq.
  Result<uint64_t> Append(const Identity& who, Event event)
      REQUIRES(batch.mutex());

  // Creates or moves `alias` of `c` to `target` inside the caller's
  // transaction, with its history row: the row as written. Moving to the
  // same version records nothing: nullopt.
  Result<std::optional<WrittenAlias>> WriteAlias(const Identity& who,
                                                 const CollectionRow& c,
                                                 std::string_view alias,
                                                 const Version& target)
      REQUIRES(batch.mutex());

  // Begins the write transaction of a change to the aliases `names` of
  // `collection` (each with the verb for messages), after the checks every
  // alias change makes (CheckAliasName), taken inside the transaction.
  // `in_batch`: inside a group commit's transaction (a savepoint).
  Result<AliasChange> BeginAliasChange(
      const Identity& who, std::string_view collection,
      std::initializer_list<std::pair<std::string_view, std::string_view>>
          names,
      bool in_batch = false) REQUIRES(batch.mutex());

  // The alias `name` of `c`, or nullopt.
  Result<std::optional<AliasRow>> FindAlias(const CollectionRow& c,
                                            std::string_view name)
      REQUIRES(batch.mutex());
  // The alias `name` of `c`, or NotFound.
  Result<AliasRow> RequireAlias(const CollectionRow& c, std::string_view name)
      REQUIRES(batch.mutex());

  Status DeleteAliasRow(const Identity& who, const CollectionRow& c,
                        const AliasRow& alias) REQUIRES(batch.mutex());

  // A collection re-created under a deleted one's name continues its
  // numbering, and no id is used twice (see DeleteCollection).
  Result<CollectionRow> InsertCollection(const Identity& who,
                                         std::string_view name)
      REQUIRES(batch.mutex());
  // The collection `name`, created if there is none.
  Result<CollectionRow> FindOrInsertCollection(const Identity& who,
                                               std::string_view name)
      REQUIRES(batch.mutex());
  // Push's checks of `who`: the role, and each alias's protection.
  Result<Role> CheckPusher(const Identity& who,
                           const std::vector<std::string>& aliases)
      REQUIRES(batch.mutex());
  // The push pipeline (push.cc), shared by Push and Publish: checks,
  // stages (copies, or adopts a draft's files), installs the blobs and
  // commits the version with its labels, aliases and history rows.
  // Takes the lock.
  Result<Version> PushVersion(const Identity& who, const PushRequest& request,
                              const PushSource& source) EXCLUDES(batch.mutex());
  // Whether the draft at `path` was left by a publish that committed:
  // one of its files is a hard link of a blob a version references.
  // Hashes such files without the lock, then takes it.
  Result<bool> IsPublishedLeftover(const std::filesystem::path& path)
      EXCLUDES(batch.mutex());

  // ---- Deleted collections (DeleteCollection, time travel) ----
  // The collection that held `name` right after event `seq`, as it is now
  // or, if deleted since, as it was deleted (no versions or aliases then);
  // nullopt if `name` named no collection then.
  Result<std::optional<Collection>> IncarnationAt(std::string_view name,
                                                  uint64_t seq)
      REQUIRES(batch.mutex());
  // Every collection that existed right after `seq`, by name.
  Result<std::vector<Collection>> IncarnationsAt(uint64_t seq)
      REQUIRES(batch.mutex());
  // Refuses, or removes with their history rows, what `c` holds.
  Status CheckDeletable(const CollectionRow& c, bool all, size_t versions,
                        const std::vector<AliasRow>& aliases)
      REQUIRES(batch.mutex());
  Status RetireCollection(const Identity& who, const CollectionRow& c)
      REQUIRES(batch.mutex());

  Result<std::vector<std::string>> VersionAliases(const Version& v)
      REQUIRES(batch.mutex());

  Status FillDetails(Version& v) REQUIRES(batch.mutex());

  Result<Alias> AliasInfo(const CollectionRow& c, std::string_view name)
      REQUIRES(batch.mutex());

  Result<std::vector<Alias>> ListAliases(const CollectionRow& c)
      REQUIRES(batch.mutex());

  Status ChangeTag(const Identity& who, std::string_view collection,
                   uint64_t number, std::string_view tag, bool add)
      REQUIRES(batch.mutex());
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_REGISTRY_IMPL_H_
