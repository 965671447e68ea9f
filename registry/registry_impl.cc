// The lookups every part of the Registry shares: a collection by name,
// a version by number, the newest version.
#include "registry/registry_impl.h"

#include "registry/sql/collections.h"
#include "registry/sql/versions.h"

namespace regfs::registry {

Result<CollectionRow> Registry::Impl::FindCollection(std::string_view name) {
  REGFS_ASSIGN_OR_RETURN(auto c, sql::FindCollection(*db, name));
  if (c) return std::move(*c);
  REGFS_TRY(ValidateName(name, "collection"));
  return Fail(Code::kNotFound, fmt::format("no collection {}", Quote(name)));
}

Result<std::optional<Version>> Registry::Impl::FindVersion(
    int64_t collection_id, uint64_t number) {
  return sql::FindVersion(*db, collection_id, number);
}

Result<Version> Registry::Impl::RequireVersion(const CollectionRow& c,
                                               uint64_t number) {
  REGFS_ASSIGN_OR_RETURN(auto v, FindVersion(c.id, number));
  if (v) return std::move(*v);
  return Fail(Code::kNotFound,
              fmt::format("{} has no version {}", c.name, VersionName(number)));
}

// The newest live version and the seq of its creation event.
Result<std::optional<std::pair<Version, uint64_t>>> Registry::Impl::FindLatest(
    int64_t collection_id) {
  REGFS_ASSIGN_OR_RETURN(auto v, sql::FindLatestVersion(*db, collection_id));
  if (!v) return std::optional<std::pair<Version, uint64_t>>();
  const uint64_t seq = v->created_seq;
  return std::optional(std::pair(std::move(*v), seq));
}

}  // namespace regfs::registry
