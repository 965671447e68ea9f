// Versions: reading them and their trees, tags, deleting a version.
#include "registry/sql/versions.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include "registry/registry_impl.h"

namespace regfs::registry {

namespace {

// A tree entry looked up, or NotFound.
Result<TreeEntry> RequireTreeEntry(Result<std::optional<TreeEntry>> entry) {
  REGFS_TRY(entry);
  if (!*entry) return Fail(Code::kNotFound, "no such file in this version");
  return std::move(**entry);
}

}  // namespace

Result<Version> Registry::GetVersionById(int64_t id) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(auto v, sql::FindVersionById(*impl_->db, id));
  if (!v) return Fail(Code::kNotFound, "no such version");
  return std::move(*v);
}

Result<Version> Registry::GetVersionByNumber(int64_t collection_id,
                                             uint64_t number) {
  ReadCache* const cache = impl_->cache.get();
  if (cache) {
    if (auto hit = cache->GetVersion(collection_id, number)) return *hit;
  }
  auto lock = impl_->Lock();
  auto v = impl_->FindVersion(collection_id, number);
  REGFS_TRY(v);
  if (!*v) {
    return Fail(Code::kNotFound,
                fmt::format("no version {}", VersionName(number)));
  }
  if (cache) cache->PutVersion(**v);
  return std::move(**v);
}

Result<VersionAttrs> Registry::GetVersionAttrs(const CollectionRef& collection,
                                               uint64_t number) {
  const auto not_found = [&] {
    return Fail(Code::kNotFound,
                fmt::format("no version {}", VersionName(number)));
  };
  // Numbers are stored as signed 64-bit integers.
  if (number > uint64_t{INT64_MAX}) return not_found();
  ReadCache* const cache = impl_->cache.get();
  if (cache) {
    if (auto hit = cache->GetVersionAttrs(collection.id, number)) return *hit;
  }
  auto lock = impl_->Lock();
  // The second lookup in a block reads it whole: a version's neighbours
  // are looked up together often (a walk, a job's sweep over its inputs),
  // and a block's read, about 0.5 ms, costs as much as 10 to 25 reads of
  // one version. A lookup here and there in a huge store reads one each.
  if (cache && cache->VersionBlockHeld(collection.id, number) ==
                   ReadCache::BlockHeld::kSome) {
    const uint64_t first =
        number / ReadCache::kVersionBlock * ReadCache::kVersionBlock;
    const uint64_t last =
        std::min(first + (ReadCache::kVersionBlock - 1), uint64_t{INT64_MAX});
    REGFS_ASSIGN_OR_RETURN(
        auto rows,
        sql::ListVersionAttrs(*impl_->db, collection.id, first, last));
    cache->PutVersionBlock(collection.id, collection.name, number, rows);
    const auto it = std::ranges::find(rows, number, &VersionAttrs::number);
    if (it == rows.end()) return not_found();
    return *it;
  }
  // The first in its block, made since its block was read, or deleted.
  auto v = impl_->FindVersion(collection.id, number);
  REGFS_TRY(v);
  if (!*v) return not_found();
  const VersionAttrs attrs = (*v)->attrs();
  if (cache) cache->PutVersionAttrs(collection.id, collection.name, attrs);
  return attrs;
}

Result<std::vector<Version>> Registry::ListVersions(
    std::string_view collection) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  REGFS_TRY(c);
  return sql::ListVersions(*impl_->db, c->id);
}

Result<std::vector<Version>> Registry::ListVersionsInFull(
    std::string_view collection) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  REGFS_TRY(c);
  auto versions = sql::ListVersions(*impl_->db, c->id);
  if (!versions) return versions;
  std::map<int64_t, Version*> by_id;
  for (auto& v : *versions) by_id[v.id] = &v;
  const auto find = [&](int64_t id) {
    const auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : it->second;
  };
  REGFS_ASSIGN_OR_RETURN(const auto details,
                         sql::CollectionDetails(*impl_->db, c->id));
  for (const auto& d : details) {
    Version* v = find(d.version_id);
    if (v == nullptr) continue;
    if (d.is_tag) {
      v->tags.push_back(d.key);
    } else {
      v->metadata[d.key] = d.value;
    }
  }
  auto aliases = impl_->ListAliases(*c);
  REGFS_TRY(aliases);
  for (const auto& a : *aliases) {
    if (Version* v = find(a.version_id)) v->aliases.push_back(a.name);
  }
  return versions;
}

Result<Version> Registry::GetVersion(std::string_view collection,
                                     uint64_t number) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(const CollectionRow c,
                         impl_->FindCollection(collection));
  REGFS_ASSIGN_OR_RETURN(Version v, impl_->RequireVersion(c, number));
  REGFS_TRY(impl_->FillDetails(v));
  return v;
}

Result<std::vector<std::string>> Registry::Impl::VersionAliases(
    const Version& v) {
  std::vector<std::string> names;
  auto latest = FindLatest(v.collection_id);
  REGFS_TRY(latest);
  if (*latest && (*latest)->first.id == v.id) names.emplace_back(kLatest);
  REGFS_ASSIGN_OR_RETURN(auto named, sql::VersionAliasNames(*db, v.id));
  names.insert(names.end(), std::make_move_iterator(named.begin()),
               std::make_move_iterator(named.end()));
  return names;
}

Status Registry::Impl::FillDetails(Version& v) {
  REGFS_ASSIGN_OR_RETURN(v.tags, sql::VersionTags(*db, v.id));
  REGFS_ASSIGN_OR_RETURN(v.metadata, sql::VersionMetadata(*db, v.id));
  auto aliases = VersionAliases(v);
  REGFS_TRY(aliases);
  v.aliases = std::move(*aliases);
  return {};
}

Result<std::vector<TreeEntry>> Registry::ListTree(int64_t version_id,
                                                  int64_t parent_id) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(const bool exists,
                         sql::VersionExists(*impl_->db, version_id));
  if (!exists) return Fail(Code::kNotFound, "no such version");
  auto entries = sql::ListTreeEntries(*impl_->db, version_id, parent_id);
  // A listing is a walk's first step: its opens then read no database.
  if (entries && impl_->cache) impl_->cache->PutTreeEntries(*entries);
  return entries;
}

Result<TreeEntry> Registry::LookupTree(int64_t version_id, int64_t parent_id,
                                       std::string_view name) {
  ReadCache* const cache = impl_->cache.get();
  if (cache) {
    if (auto hit = cache->GetTreeEntry(version_id, parent_id, name)) {
      return *hit;
    }
  }
  auto lock = impl_->Lock();
  auto entry = RequireTreeEntry(
      sql::LookupTreeEntry(*impl_->db, version_id, parent_id, name));
  if (entry && cache) cache->PutTreeEntry(*entry);
  return entry;
}

Result<TreeEntry> Registry::GetTreeEntry(int64_t entry_id) {
  // A mount asks this at every open and getattr of a file in a tree: a hit
  // costs no database read (nor the file lock SQLite takes for one).
  ReadCache* const cache = impl_->cache.get();
  if (cache) {
    if (auto hit = cache->GetTreeEntryById(entry_id)) return *hit;
  }
  auto lock = impl_->Lock();
  auto entry = RequireTreeEntry(sql::FindTreeEntry(*impl_->db, entry_id));
  if (entry && cache) cache->PutTreeEntry(*entry);
  return entry;
}

Status Registry::DeleteVersion(const Identity& who, std::string_view collection,
                               uint64_t number) {
  auto lock = impl_->Lock();
  Connection& db = *impl_->db;
  REGFS_ASSIGN_OR_RETURN(
      Transaction tx, impl_->BeginAs(who, Role::kAdmin, "delete versions"));
  REGFS_ASSIGN_OR_RETURN(const CollectionRow c,
                         impl_->FindCollection(collection));
  REGFS_ASSIGN_OR_RETURN(const Version v, impl_->RequireVersion(c, number));
  REGFS_ASSIGN_OR_RETURN(const auto rows, sql::VersionAliasRows(db, v.id));
  std::vector<AliasRow> aliases;
  for (const auto& row : rows) {
    if (row.is_protected) {
      return Fail(Code::kNotPermitted,
                  fmt::format("{}/{} is named by protected alias '{}': move "
                              "the alias before deleting the version",
                              collection, VersionName(number), row.name));
    }
    aliases.push_back({row.id, row.name, v.id, number});
  }
  for (const auto& alias : aliases)
    REGFS_TRY(impl_->DeleteAliasRow(who, c, alias));
  REGFS_TRY(impl_->Append(who, EventType::kVersionDelete, c.name, "", number,
                          std::nullopt));
  REGFS_TRY(sql::DeleteVersion(db, v.id));
  return tx.Commit();
}

Status Registry::Impl::ChangeTag(const Identity& who,
                                 std::string_view collection, uint64_t number,
                                 std::string_view tag, bool add) {
  REGFS_TRY(Require(who, kRoleToChange, "tag versions"));
  REGFS_TRY(ValidateTag(tag));
  auto tx = Transaction::Begin(*db);
  REGFS_TRY(tx);
  REGFS_ASSIGN_OR_RETURN(const CollectionRow c, FindCollection(collection));
  REGFS_ASSIGN_OR_RETURN(const Version v, RequireVersion(c, number));
  REGFS_ASSIGN_OR_RETURN(const bool changed,
                         add ? sql::AddTag(*db, v.id, tag)
                             : sql::RemoveTag(*db, v.id, tag));
  if (!changed) {
    if (add) return {};  // already tagged: nothing happened
    return Fail(Code::kNotFound, fmt::format("{}/{} has no tag {}", collection,
                                             VersionName(number), Quote(tag)));
  }
  REGFS_TRY(Append(who, add ? EventType::kTagAdd : EventType::kTagRemove,
                   c.name, "", add ? std::nullopt : std::optional(number),
                   add ? std::optional(number) : std::nullopt,
                   nlohmann::json{{"tag", std::string(tag)}}));
  return tx->Commit();
}

Status Registry::AddTag(const Identity& who, std::string_view collection,
                        uint64_t number, std::string_view tag) {
  auto lock = impl_->Lock();
  return impl_->ChangeTag(who, collection, number, tag, true);
}

Status Registry::RemoveTag(const Identity& who, std::string_view collection,
                           uint64_t number, std::string_view tag) {
  auto lock = impl_->Lock();
  return impl_->ChangeTag(who, collection, number, tag, false);
}

}  // namespace regfs::registry
