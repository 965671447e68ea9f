// Collections: listing, creating and deleting them.
#include "registry/registry_impl.h"
#include "registry/sql/aliases.h"
#include "registry/sql/collections.h"
#include "registry/sql/versions.h"

namespace regfs::registry {

Result<std::vector<Collection>> Registry::ListCollections() {
  auto lock = impl_->Lock();
  return sql::QueryCollections(*impl_->db, std::nullopt, std::nullopt);
}

Result<Collection> Registry::GetCollection(std::string_view name) {
  auto lock = impl_->Lock();
  auto found = sql::QueryCollections(*impl_->db, name, std::nullopt);
  REGFS_TRY(found);
  if (!found->empty()) return std::move(found->front());
  REGFS_TRY(ValidateName(name, "collection"));
  return Fail(Code::kNotFound, fmt::format("no collection {}", Quote(name)));
}

Result<Registry::CollectionRef> Registry::LookupCollection(
    std::string_view name) {
  ReadCache* const cache = impl_->cache.get();
  if (cache) {
    if (auto id = cache->CollectionId(name)) {
      return CollectionRef{*id, std::string(name)};
    }
  }
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(const CollectionRow c, impl_->FindCollection(name));
  if (cache) cache->PutCollectionId(c.name, c.id);
  return CollectionRef{c.id, c.name};
}

Result<Collection> Registry::GetCollectionById(int64_t id) {
  auto lock = impl_->Lock();
  auto found = sql::QueryCollections(*impl_->db, std::nullopt, id);
  REGFS_TRY(found);
  if (found->empty()) return Fail(Code::kNotFound, "no such collection");
  return std::move(found->front());
}

// A collection re-created under a deleted one's name continues its
// numbering, and no id is used twice (see DeleteCollection).
Result<CollectionRow> Registry::Impl::InsertCollection(const Identity& who,
                                                       std::string_view name) {
  REGFS_ASSIGN_OR_RETURN(const int64_t next_version,
                         sql::DeletedNextVersion(*db, name));
  // Collection names may not differ only by case either (as aliases).
  REGFS_ASSIGN_OR_RETURN(auto twin, sql::CollectionCaseTwin(*db, name));
  if (twin) {
    return Fail(Code::kAlreadyExists,
                fmt::format("collection {} already exists: collection "
                            "names may not differ only by case",
                            Quote(*twin)));
  }
  REGFS_ASSIGN_OR_RETURN(
      const int64_t id,
      sql::InsertCollection(*db, name, next_version, who, NowMs()));
  REGFS_TRY(Append(who, EventType::kCollectionCreate, name, "", std::nullopt,
                   std::nullopt));
  return CollectionRow{id, std::string(name), Kind::kEmpty, next_version};
}

Result<Collection> Registry::CreateCollection(const Identity& who,
                                              std::string_view name) {
  {
    auto lock = impl_->Lock();
    REGFS_TRY(impl_->Require(who, kRoleToChange, "create collections"));
    REGFS_TRY(ValidateCollectionName(name));
    auto tx = Transaction::Begin(*impl_->db);
    REGFS_TRY(tx);
    auto existing = impl_->FindCollection(name);
    if (existing) {
      return Fail(Code::kAlreadyExists,
                  fmt::format("collection {} already exists", Quote(name)));
    }
    if (!existing.error().IsNotFound())
      return std::unexpected(existing.error());
    REGFS_TRY(impl_->InsertCollection(who, name));
    REGFS_TRY(tx->Commit());
  }
  return GetCollection(name);
}

// ---- Deleting collections -------------------------------------------------
//
// A collection's row is deleted, so that its name can be used again, and
// copied into deleted_collections (schema v3): its id is never given to
// another collection (inodes derive from ids, so a re-created collection
// gets a fresh directory inode), and a collection re-created under the
// name continues its numbering. A version number thus never names two
// contents under one name, in `regfs history COLL` and `.history` as in
// time travel, where the history's collection.delete and collection.create
// rows separate the two collections (CollectionReplay starts afresh at
// each).

Status Registry::DeleteCollection(const Identity& who, std::string_view name,
                                  bool all) {
  auto lock = impl_->Lock();
  REGFS_ASSIGN_OR_RETURN(
      Transaction tx,
      impl_->BeginAs(who, all ? Role::kAdmin : kRoleToChange,
                     all ? "delete a collection with its versions"
                         : "delete collections"));
  auto c = impl_->FindCollection(name);
  REGFS_TRY(c);
  auto versions = sql::ListVersionKeys(*impl_->db, c->id);
  REGFS_TRY(versions);
  auto aliases = sql::ListAliasRows(*impl_->db, c->id);
  REGFS_TRY(aliases);
  REGFS_TRY(impl_->CheckDeletable(*c, all, versions->size(), *aliases));
  for (const auto& alias : *aliases)
    REGFS_TRY(impl_->DeleteAliasRow(who, *c, alias));
  for (const auto& [id, number] : *versions) {
    REGFS_TRY(impl_->Append(who, EventType::kVersionDelete, c->name, "", number,
                            std::nullopt));
    REGFS_TRY(sql::DeleteVersion(*impl_->db, id));
  }
  REGFS_TRY(impl_->RetireCollection(who, *c));
  return tx.Commit();
}

Status Registry::Impl::CheckDeletable(const CollectionRow& c, bool all,
                                      size_t versions,
                                      const std::vector<AliasRow>& aliases) {
  if (!all && (versions > 0 || !aliases.empty())) {
    return Fail(Code::kConflict,
                fmt::format("collection '{}' is not empty: it has {} "
                            "version(s); an admin can delete it with them: "
                            "regfs rm {} --all",
                            c.name, versions, c.name));
  }
  // W&B's rule, as for one version: nothing a protected alias names goes.
  for (const AliasRow& alias : aliases) {
    auto prot = IsProtected(alias.name);
    REGFS_TRY(prot);
    if (*prot) {
      return Fail(Code::kNotPermitted,
                  fmt::format("{}/{} is a protected alias (-> {}): remove it "
                              "before deleting the collection",
                              c.name, alias.name, VersionName(alias.number)));
    }
  }
  return {};
}

// The collection.delete row, then the collection's row moves to
// deleted_collections.
Status Registry::Impl::RetireCollection(const Identity& who,
                                        const CollectionRow& c) {
  auto seq = Append(who, EventType::kCollectionDelete, c.name, "", std::nullopt,
                    std::nullopt);
  REGFS_TRY(seq);
  return sql::RetireCollection(*db, c.id, *seq);
}

}  // namespace regfs::registry
