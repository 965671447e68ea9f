#include "registry/read_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <tuple>

#include "registry/blob_store.h"
#include "registry/names.h"
#include "registry/registry_impl.h"

namespace regfs::registry {

namespace {

template <class Map, class Key>
std::optional<typename Map::mapped_type> Find(const Map& map, const Key& key) {
  const auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

// Emptied when full: the bound matters, not which entries survive.
template <class Map, class Key, class Value>
void PutBounded(Map& map, size_t bound, Key key, const Value& value) {
  if (map.size() >= bound && !map.contains(key)) map.clear();
  map.insert_or_assign(std::move(key), value);
}

}  // namespace

size_t ReadCache::VersionKeyHash::operator()(
    const VersionKey& key) const noexcept {
  // Numbers are dense within a collection; the multiplier spreads ids.
  return std::hash<uint64_t>{}(
      static_cast<uint64_t>(key.collection_id) * 0x9E3779B97F4A7C15ULL ^
      key.number);
}

uint64_t ReadCache::TreeNameKey(int64_t version_id, int64_t parent_id,
                                std::string_view name) {
  uint64_t h = std::hash<std::string_view>{}(name);
  for (const int64_t id : {version_id, parent_id}) {
    h = (h ^ static_cast<uint64_t>(id)) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  return h;
}

TreeEntry ReadCache::Stored(const TreeEntry& entry) {
  TreeEntry stored = entry;
  if (!stored.blob.empty() &&
      stored.digest == BlobStore::DigestOf(stored.blob)) {
    stored.digest.clear();
  }
  return stored;
}

TreeEntry ReadCache::Loaded(const TreeEntry& stored) {
  TreeEntry entry = stored;
  if (!entry.blob.empty() && entry.digest.empty()) {
    entry.digest = std::string(BlobStore::DigestOf(entry.blob));
  }
  return entry;
}

std::string ReadCache::AliasKeyOf(std::string_view collection,
                                  std::string_view name) {
  return fmt::format("{}/{}", collection, name);
}

std::optional<int64_t> ReadCache::CollectionId(std::string_view name) const {
  MutexLock lock(mu_);
  return Find(collections_, std::string(name));
}

std::optional<Version> ReadCache::GetVersion(int64_t collection_id,
                                             uint64_t number) const {
  MutexLock lock(mu_);
  return Find(versions_, VersionKey{collection_id, number});
}

std::optional<TreeEntry> ReadCache::GetTreeEntry(int64_t version_id,
                                                 int64_t parent_id,
                                                 std::string_view name) const {
  const uint64_t key = TreeNameKey(version_id, parent_id, name);
  MutexLock lock(mu_);
  const auto id = tree_names_.find(key);
  if (id == tree_names_.end()) return std::nullopt;
  const auto it = tree_.find(id->second);
  if (it == tree_.end()) return std::nullopt;
  const TreeEntry& e = it->second;
  // Another name with the same key.
  if (e.version_id != version_id || e.parent_id != parent_id ||
      e.name != name) {
    return std::nullopt;
  }
  return Loaded(e);
}

std::optional<TreeEntry> ReadCache::GetTreeEntryById(int64_t entry_id) const {
  MutexLock lock(mu_);
  const auto it = tree_.find(entry_id);
  if (it == tree_.end()) return std::nullopt;
  return Loaded(it->second);
}

std::optional<Alias> ReadCache::GetAlias(std::string_view collection,
                                         std::string_view name) const {
  const std::string key = AliasKeyOf(collection, name);
  MutexLock lock(mu_);
  return Find(aliases_, key);
}

namespace {

static_assert(sizeof(VersionAttrs) == 40, "the bound's arithmetic");

bool ByNumber(const VersionAttrs& a, uint64_t number) {
  return a.number < number;
}

}  // namespace

std::optional<VersionAttrs> ReadCache::GetVersionAttrs(int64_t collection_id,
                                                       uint64_t number) const {
  MutexLock lock(mu_);
  const auto c = version_attrs_.find(collection_id);
  if (c == version_attrs_.end()) return std::nullopt;
  const auto& rows = c->second.rows;
  const auto it = std::lower_bound(rows.begin(), rows.end(), number, ByNumber);
  if (it == rows.end() || it->number != number) return std::nullopt;
  return *it;
}

ReadCache::BlockHeld ReadCache::VersionBlockHeld(int64_t collection_id,
                                                 uint64_t number) const {
  const uint64_t block = number / kVersionBlock;
  MutexLock lock(mu_);
  const auto c = version_attrs_.find(collection_id);
  if (c == version_attrs_.end()) return BlockHeld::kNothing;
  if (c->second.blocks.contains(block)) return BlockHeld::kWhole;
  const auto& rows = c->second.rows;
  const auto it = std::lower_bound(rows.begin(), rows.end(),
                                   block * kVersionBlock, ByNumber);
  if (it != rows.end() && it->number / kVersionBlock == block) {
    return BlockHeld::kSome;
  }
  return BlockHeld::kNothing;
}

ReadCache::CollectionVersions& ReadCache::VersionAttrsOf(
    int64_t collection_id, std::string_view collection, size_t more) {
  if (version_attrs_count_ + more > kMaxVersionAttrs) {
    version_attrs_.clear();
    version_attrs_count_ = 0;
  }
  CollectionVersions& c = version_attrs_[collection_id];
  if (c.name.empty()) c.name = collection;
  return c;
}

void ReadCache::PutVersionBlock(int64_t collection_id,
                                std::string_view collection, uint64_t number,
                                const std::vector<VersionAttrs>& rows) {
  const uint64_t block = number / kVersionBlock;
  MutexLock lock(mu_);
  CollectionVersions& c =
      VersionAttrsOf(collection_id, collection, rows.size());
  // What the block held (versions read alone) gives way to the block.
  const auto first = std::lower_bound(c.rows.begin(), c.rows.end(),
                                      block * kVersionBlock, ByNumber);
  const auto last = std::lower_bound(first, c.rows.end(),
                                     (block + 1) * kVersionBlock, ByNumber);
  version_attrs_count_ -= static_cast<size_t>(last - first);
  const auto at = c.rows.erase(first, last);
  c.rows.insert(at, rows.begin(), rows.end());
  version_attrs_count_ += rows.size();
  c.blocks.insert(block);
}

void ReadCache::PutVersionAttrs(int64_t collection_id,
                                std::string_view collection,
                                const VersionAttrs& attrs) {
  MutexLock lock(mu_);
  CollectionVersions& c = VersionAttrsOf(collection_id, collection, 1);
  const auto it =
      std::lower_bound(c.rows.begin(), c.rows.end(), attrs.number, ByNumber);
  if (it != c.rows.end() && it->number == attrs.number) {
    *it = attrs;
    return;
  }
  c.rows.insert(it, attrs);
  ++version_attrs_count_;
}

void ReadCache::PutCollectionId(const std::string& name, int64_t id) {
  MutexLock lock(mu_);
  PutBounded(collections_, kMaxCollections, name, id);
}

void ReadCache::PutVersion(const Version& version) {
  const VersionKey key{version.collection_id, version.number};
  MutexLock lock(mu_);
  PutBounded(versions_, kMaxVersions, key, version);
}

void ReadCache::PutTreeEntry(const TreeEntry& entry) {
  MutexLock lock(mu_);
  PutTreeEntryLocked(entry);
}

void ReadCache::PutTreeEntries(const std::vector<TreeEntry>& entries) {
  MutexLock lock(mu_);
  for (const TreeEntry& entry : entries) PutTreeEntryLocked(entry);
}

void ReadCache::PutTreeEntryLocked(const TreeEntry& entry) {
  if (!tree_.contains(entry.id) && tree_.size() >= kMaxTreeEntries) {
    tree_.clear();
    tree_names_.clear();
  }
  tree_.insert_or_assign(entry.id, Stored(entry));
  tree_names_.insert_or_assign(
      TreeNameKey(entry.version_id, entry.parent_id, entry.name), entry.id);
}

void ReadCache::PutAlias(const Alias& alias) {
  std::string key = AliasKeyOf(alias.collection, alias.name);
  MutexLock lock(mu_);
  PutBounded(aliases_, kMaxAliases, std::move(key), alias);
}

void ReadCache::ForgetAliases(std::string_view collection,
                              std::string_view name,
                              std::vector<AliasKey>& forgotten) {
  // One alias (every move, every new version's `latest`): found by its
  // key, not by a walk over every cached alias, which would cost each
  // move in proportion to what the mount has looked up.
  if (!collection.empty() && !name.empty()) {
    const auto it = aliases_.find(AliasKeyOf(collection, name));
    if (it == aliases_.end()) return;
    forgotten.push_back({it->second.collection, it->second.name});
    aliases_.erase(it);
    return;
  }
  std::erase_if(aliases_, [&](const auto& item) {
    const Alias& a = item.second;
    if (!collection.empty() && a.collection != collection) return false;
    if (!name.empty() && a.name != name) return false;
    forgotten.push_back({a.collection, a.name});
    return true;
  });
}

void ReadCache::ForgetCollection(std::string_view collection,
                                 std::vector<AliasKey>& forgotten) {
  collections_.erase(std::string(collection));
  ForgetAliases(collection, "", forgotten);
  std::erase_if(versions_, [&](const auto& item) {
    return item.second.collection == collection;
  });
  ForgetVersionAttrs(collection, std::nullopt);
  // Rare: a deleted collection's tree entries are not worth finding.
  tree_.clear();
  tree_names_.clear();
}

void ReadCache::ForgetVersionAttrs(std::string_view collection,
                                   std::optional<uint64_t> number) {
  for (auto c = version_attrs_.begin(); c != version_attrs_.end();) {
    std::vector<VersionAttrs>& rows = c->second.rows;
    if (c->second.name != collection) {
      ++c;
    } else if (!number) {
      version_attrs_count_ -= rows.size();
      c = version_attrs_.erase(c);
    } else {
      const auto it =
          std::lower_bound(rows.begin(), rows.end(), *number, ByNumber);
      if (it != rows.end() && it->number == *number) {
        rows.erase(it);
        --version_attrs_count_;
      }
      ++c;
    }
  }
}

void ReadCache::ForgetVersion(std::string_view collection,
                              std::optional<uint64_t> number) {
  std::vector<int64_t> ids;
  for (auto it = versions_.begin(); it != versions_.end();) {
    const Version& v = it->second;
    if (v.collection == collection && v.number == number) {
      ids.push_back(v.id);
      it = versions_.erase(it);
    } else {
      ++it;
    }
  }
  // A version this cache never held may still have entries here (looked
  // up by id, or its version forgotten at a bound): forget them all.
  if (ids.empty()) {
    tree_.clear();
    tree_names_.clear();
  }
  for (const int64_t id : ids) {
    for (auto it = tree_.begin(); it != tree_.end();) {
      const TreeEntry& e = it->second;
      if (e.version_id != id) {
        ++it;
        continue;
      }
      const auto name =
          tree_names_.find(TreeNameKey(e.version_id, e.parent_id, e.name));
      if (name != tree_names_.end() && name->second == e.id) {
        tree_names_.erase(name);
      }
      it = tree_.erase(it);
    }
  }
}

std::vector<ReadCache::AliasKey> ReadCache::Forget(const Event& e) {
  std::vector<AliasKey> forgotten;
  MutexLock lock(mu_);
  switch (e.type) {
    case EventType::kCollectionCreate:
    case EventType::kCollectionDelete:
      ForgetCollection(e.collection, forgotten);
      break;
    case EventType::kVersionCreate:
      ForgetAliases(e.collection, kLatest, forgotten);
      break;
    case EventType::kVersionDelete:
      // `latest` and any alias of the version change; the version's tree
      // entries go with it.
      ForgetAliases(e.collection, "", forgotten);
      ForgetVersion(e.collection, e.old_version);
      ForgetVersionAttrs(e.collection, e.old_version);
      break;
    case EventType::kAliasCreate:
    case EventType::kAliasMove:
    case EventType::kAliasRemove:
    case EventType::kAliasRename:
      if (!e.alias.empty()) ForgetAliases(e.collection, e.alias, forgotten);
      if (!e.renamed_to.empty()) {
        ForgetAliases(e.collection, e.renamed_to, forgotten);
      }
      break;
    case EventType::kProtect:
    case EventType::kUnprotect:
      // Alias::is_protected of that name, in every collection.
      if (!e.alias.empty()) ForgetAliases("", e.alias, forgotten);
      break;
    case EventType::kRoleGrant:
    case EventType::kRoleRevoke:
    case EventType::kTagAdd:
    case EventType::kTagRemove:
    case EventType::kAutomationAdd:
    case EventType::kAutomationRemove:
      break;  // nothing cached: versions are cached without their tags
  }
  return forgotten;
}

ReadCache::Sizes ReadCache::sizes() const {
  MutexLock lock(mu_);
  return {collections_.size(), versions_.size(), tree_.size(), aliases_.size(),
          version_attrs_count_};
}

// ---- Registry's side of the cache ----

void Registry::EnableReadCache() {
  if (!impl_->cache) impl_->cache = std::make_unique<ReadCache>();
  // A mount of a store in S3 also prefetches, if the store says which.
  if (impl_->blobs.cache() && !impl_->prefetch_aliases.empty() &&
      !impl_->prefetcher) {
    impl_->prefetcher = std::make_unique<Prefetcher>(impl_->blobs);
  }
}

void Registry::Refresh(const std::vector<Event>& events) {
  ReadCache* const cache = impl_->cache.get();
  if (!cache || events.empty()) return;
  auto lock = impl_->Lock();
  impl_->PrefetchFor(events);
  std::vector<ReadCache::AliasKey> changed;
  for (const Event& e : events) {
    auto forgotten = cache->Forget(e);
    std::move(forgotten.begin(), forgotten.end(), std::back_inserter(changed));
  }
  // One read per alias, however many of the events moved it. The list is
  // short: only aliases that were cached.
  std::sort(changed.begin(), changed.end(), [](const auto& a, const auto& b) {
    return std::tie(a.collection, a.name) < std::tie(b.collection, b.name);
  });
  changed.erase(std::unique(changed.begin(), changed.end(),
                            [](const auto& a, const auto& b) {
                              return a.collection == b.collection &&
                                     a.name == b.name;
                            }),
                changed.end());
  for (const ReadCache::AliasKey& key : changed) {
    auto c = impl_->FindCollection(key.collection);
    if (!c) continue;  // gone, or the database is away: stays forgotten
    auto alias = impl_->AliasInfo(*c, key.name);
    if (alias) cache->PutAlias(*alias);
  }
}

std::optional<TimeMs> Registry::StaleSince() const {
  const TimeMs since = impl_->stale_since.load(std::memory_order_relaxed);
  if (since == 0) return std::nullopt;
  return since;
}

}  // namespace regfs::registry
