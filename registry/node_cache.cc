// The node cache of a store whose blobs live in S3 (issue 17), as the
// registry offers it: listing, warming and emptying it, and prefetching
// the new targets of chosen aliases when they move.
#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "registry/registry_impl.h"

namespace regfs::registry {
namespace {

Status RequireCache(const BlobStore& blobs) {
  if (blobs.cache()) return {};
  return Fail(Code::kInvalidArgument,
              "this store keeps its blobs on a file system, not in S3: it "
              "has no node cache");
}

}  // namespace

Result<std::vector<BlobToFetch>> Registry::Impl::BlobsOf(const CollectionRow& c,
                                                         const Version& v) {
  const std::string name = fmt::format("{}/{}", c.name, VersionName(v.number));
  if (v.kind == Kind::kFile)
    return std::vector<BlobToFetch>{{v.blob, v.size, name}};
  REGFS_ASSIGN_OR_RETURN(std::vector<sql::TreeFile> files,
                         sql::TreeFiles(*db, v.id));
  std::vector<BlobToFetch> blobs;
  std::unordered_set<std::string> seen;
  for (sql::TreeFile& file : files) {
    if (!seen.insert(file.blob).second) continue;
    blobs.push_back({std::move(file.blob), file.size,
                     fmt::format("{}/{}", name, file.path)});
  }
  return blobs;
}

void Registry::Impl::PrefetchFor(const std::vector<Event>& events) {
  if (!prefetcher) return;
  for (const Event& e : events) {
    if ((e.type != EventType::kAliasCreate &&
         e.type != EventType::kAliasMove) ||
        !e.new_version) {
      continue;
    }
    const bool chosen =
        std::any_of(prefetch_aliases.begin(), prefetch_aliases.end(),
                    [&](const std::string& name) {
                      return name == "*" || name == e.alias;
                    });
    if (!chosen) continue;
    auto c = FindCollection(e.collection);
    if (!c) continue;  // gone meanwhile
    auto v = FindVersion(c->id, *e.new_version);
    if (!v || !*v) continue;
    if (auto blobs = BlobsOf(*c, **v)) prefetcher->Add(std::move(*blobs));
  }
}

Result<CacheStatus> Registry::CacheList() {
  const BlobStore& blobs = impl_->blobs;
  REGFS_TRY(RequireCache(blobs));
  REGFS_ASSIGN_OR_RETURN(std::vector<CachedBlob> cached, blobs.cache()->List());
  return CacheStatus{blobs.remote()->url(), blobs.cache()->limit(),
                     std::move(cached)};
}

Result<CacheWarmReport> Registry::CacheWarm(const Identity& who,
                                            std::string_view collection,
                                            std::string_view name) {
  const BlobStore& blobs = impl_->blobs;
  REGFS_TRY(RequireCache(blobs));
  std::vector<BlobToFetch> wanted;
  {
    auto lock = impl_->Lock();
    REGFS_TRY(impl_->Require(who, Role::kViewer, "read the store"));
    REGFS_ASSIGN_OR_RETURN(const CollectionRow c,
                           impl_->FindCollection(collection));
    REGFS_ASSIGN_OR_RETURN(const Version v, impl_->ResolveIn(c, name));
    REGFS_ASSIGN_OR_RETURN(wanted, impl_->BlobsOf(c, v));
  }
  // Downloads without the lock: they take as long as they take.
  CacheWarmReport report;
  for (const BlobToFetch& blob : wanted) {
    ++report.blobs;
    report.bytes += blob.size;
    if (blobs.Exists(blob.key)) continue;
    auto fetched = blobs.Fetch(blob.key, blob.size);
    if (!fetched) {
      return Fail(fetched.error().code,
                  fmt::format("{}: {}", blob.what, fetched.error().message));
    }
    ++report.fetched;
  }
  return report;
}

Result<CacheEviction> Registry::CacheDrop(const Identity& who) {
  const BlobStore& blobs = impl_->blobs;
  REGFS_TRY(RequireCache(blobs));
  {
    auto lock = impl_->Lock();
    REGFS_TRY(impl_->Require(who, Role::kAdmin, "empty the node cache"));
  }
  return blobs.cache()->Evict(0);
}

}  // namespace regfs::registry
