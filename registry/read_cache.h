// A mount daemon's memory of what it looks up most (issue 14, "Speed" and
// "Failures"): collections' ids by name, versions by number, the entries of
// tree versions, and aliases (`latest` included). A lookup that hits costs
// no database round trip, and while a shared store's database is away the
// mount still answers from it, as last known.
//
// Correctness rests on one rule, kept by Registry (Registry::EnableReadCache):
// every Put and every Forget happens with the registry's lock held. A change
// forgets what it touches inside its transaction (Impl::Append, before the
// commit), and a change made by another process or machine is forgotten when
// the mount hears of it (Registry::Refresh), after its commit; a Put follows
// a read of the database under the same lock, so it can never put back what
// a committed change has forgotten. Gets take only the cache's own mutex, so
// a lookup never waits for the database, nor for a call that does.
//
// Versions and tree entries are immutable: they stay until their version or
// collection is deleted. Aliases change: the events that change them forget
// them. Each map is bounded; a full map is emptied, so that a walk over a
// huge store keeps the daemon small. Tree entries are bounded high enough
// for a whole tree of 100,000 files (BENCHMARKS.md, section 9): a walk
// of a tree larger than the bound would empty the map before it came
// round again, and every open would read the database.
//
// Beside the versions it has read whole, the cache holds versions'
// attributes (VersionAttrs), which a lookup of `vN` answers with: 40 bytes
// each, read in blocks of kVersionBlock numbers (Registry::GetVersionAttrs),
// and bounded high enough for every version of a store of 100,000
// (BENCHMARKS.md, "Scale").
//
// Thread-safe: one mutex, a leaf (nothing else is locked while it is held;
// it is taken while the registry's lock is held).
#ifndef REGFS_REGISTRY_READ_CACHE_H_
#define REGFS_REGISTRY_READ_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "registry/history.h"
#include "registry/model.h"
#include "registry/mutex.h"

namespace regfs::registry {

class ReadCache final {
 public:
  // The bounds: a few MiB each at most (a version takes about 0.5 KiB,
  // an alias about 0.2 KiB), so that a mount under load stays within its
  // 64 MiB (BENCHMARKS.md, "Scale"); tree entries, about 0.25 KiB each
  // with their name index, up to 32 MiB.
  static constexpr size_t kMaxCollections = 4096;
  static constexpr size_t kMaxVersions = 8192;
  static constexpr size_t kMaxTreeEntries = size_t{1} << 17;
  static constexpr size_t kMaxAliases = 16384;
  // Version attributes: 40 bytes each, 10 MiB at most.
  static constexpr size_t kMaxVersionAttrs = size_t{1} << 18;
  // Versions numbered b * kVersionBlock to (b + 1) * kVersionBlock - 1 are
  // the block b of their collection.
  static constexpr uint64_t kVersionBlock = 1024;

  // An alias that an event changed and that was cached: worth reading
  // again at once (Registry::Refresh), so that the next lookup hits.
  struct AliasKey {
    std::string collection;
    std::string name;
  };

  ReadCache() = default;
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;

  std::optional<int64_t> CollectionId(std::string_view name) const;
  std::optional<Version> GetVersion(int64_t collection_id,
                                    uint64_t number) const;
  std::optional<TreeEntry> GetTreeEntry(int64_t version_id, int64_t parent_id,
                                        std::string_view name) const;
  // By its id, as a mount resolves the inode of an open or a getattr.
  std::optional<TreeEntry> GetTreeEntryById(int64_t entry_id) const;
  std::optional<Alias> GetAlias(std::string_view collection,
                                std::string_view name) const;
  std::optional<VersionAttrs> GetVersionAttrs(int64_t collection_id,
                                              uint64_t number) const;
  // What is held of the block of `number`: nothing, versions read alone
  // (PutVersionAttrs), or the block whole (PutVersionBlock), after which a
  // number of it missing here was deleted or made after the block's read.
  enum class BlockHeld { kNothing, kSome, kWhole };
  BlockHeld VersionBlockHeld(int64_t collection_id, uint64_t number) const;

  // With the registry's lock held (see above).
  void PutCollectionId(const std::string& name, int64_t id);
  // `version` as Registry::GetVersionByNumber returns it (no tags,
  // metadata or aliases).
  void PutVersion(const Version& version);
  void PutTreeEntry(const TreeEntry& entry);
  // The entries of a directory just listed, as a walk opens them next.
  void PutTreeEntries(const std::vector<TreeEntry>& entries);
  void PutAlias(const Alias& alias);
  // Every live version of the block of `number` in `collection`, by number.
  void PutVersionBlock(int64_t collection_id, std::string_view collection,
                       uint64_t number, const std::vector<VersionAttrs>& rows);
  // One version read alone (made after its block was read).
  void PutVersionAttrs(int64_t collection_id, std::string_view collection,
                       const VersionAttrs& attrs);

  // Forgets what `event` changed; returns the aliases it forgot.
  std::vector<AliasKey> Forget(const Event& event);

  struct Sizes {
    size_t collections = 0;
    size_t versions = 0;
    size_t tree_entries = 0;
    size_t aliases = 0;
    size_t version_attrs = 0;
  };
  Sizes sizes() const;

 private:
  struct VersionKey {
    int64_t collection_id = 0;
    uint64_t number = 0;
    bool operator==(const VersionKey&) const = default;
  };
  struct VersionKeyHash {
    size_t operator()(const VersionKey& key) const noexcept;
  };
  // The name index's key: a hash of the name in its directory. Two names
  // may share one; a lookup checks the entry it finds (GetTreeEntry).
  static uint64_t TreeNameKey(int64_t version_id, int64_t parent_id,
                              std::string_view name);
  static std::string AliasKeyOf(std::string_view collection,
                                std::string_view name);
  // Forgets every alias of `collection` (empty: of every collection) named
  // `name` (empty: any name), adding them to `forgotten`.
  void ForgetAliases(std::string_view collection, std::string_view name,
                     std::vector<AliasKey>& forgotten) REQUIRES(mu_);
  void ForgetCollection(std::string_view collection,
                        std::vector<AliasKey>& forgotten) REQUIRES(mu_);
  // Forgets version `number` of `collection` and its tree entries.
  void ForgetVersion(std::string_view collection,
                     std::optional<uint64_t> number) REQUIRES(mu_);
  // Forgets the attributes of version `number` of `collection` (nullopt:
  // of all its versions, and its blocks).
  void ForgetVersionAttrs(std::string_view collection,
                          std::optional<uint64_t> number) REQUIRES(mu_);
  struct CollectionVersions {
    std::string name;                // events name their collection
    std::vector<VersionAttrs> rows;  // by number
    std::set<uint64_t> blocks;       // put whole (PutVersionBlock)
  };
  // The attributes of `collection_id`, made if missing; empties them all
  // first when `more` would pass the bound.
  CollectionVersions& VersionAttrsOf(int64_t collection_id,
                                     std::string_view collection, size_t more)
      REQUIRES(mu_);
  void PutTreeEntryLocked(const TreeEntry& entry) REQUIRES(mu_);
  // The cached form of an entry, and back.
  static TreeEntry Stored(const TreeEntry& entry);
  static TreeEntry Loaded(const TreeEntry& stored);

  mutable Mutex mu_;
  std::unordered_map<std::string, int64_t> collections_ GUARDED_BY(mu_);
  std::unordered_map<VersionKey, Version, VersionKeyHash> versions_
      GUARDED_BY(mu_);
  // Tree entries by id, and their ids by TreeNameKey: both hold the same
  // entries, the last put of a shared key only in the second. An entry is
  // held without its digest when its blob's key gives it (Stored).
  std::unordered_map<int64_t, TreeEntry> tree_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, int64_t> tree_names_ GUARDED_BY(mu_);
  // "<collection>/<alias>": names hold no '/'
  std::unordered_map<std::string, Alias> aliases_ GUARDED_BY(mu_);
  std::unordered_map<int64_t, CollectionVersions> version_attrs_
      GUARDED_BY(mu_);
  size_t version_attrs_count_ GUARDED_BY(mu_) = 0;  // rows, all collections
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_READ_CACHE_H_
