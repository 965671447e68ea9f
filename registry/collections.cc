// Collections: listing, creating and deleting them.
#include "registry/registry_impl.h"

namespace regfs::registry {

// Collections with their counts; `name` or `id` narrows to one.
Result<std::vector<Collection>> QueryCollections(
    Connection& db, std::optional<std::string_view> name,
    std::optional<int64_t> id) {
  // One statement per form, so that a lookup by name or id uses its index
  // (an "?1 IS NULL OR ..." condition would scan every collection).
  static const auto sql = [](std::string_view where) {
    return fmt::format(
        "SELECT c.id, c.name, c.kind, c.created_ms, c.creator_uid, "
        "c.creator, "
        "(SELECT count(*) FROM versions v WHERE v.collection_id = c.id), "
        "(SELECT count(*) FROM aliases a WHERE a.collection_id = c.id), "
        "(SELECT max(number) FROM versions v WHERE v.collection_id = c.id) "
        "FROM collections c WHERE {} ORDER BY c.name",
        where);
  };
  static const std::string by_name = sql("c.name = ?1");
  static const std::string by_id = sql("c.id = ?1");
  static const std::string all = sql("1");
  REGFS_STMT(s, db, name ? by_name.c_str() : id ? by_id.c_str() : all.c_str());
  if (name) {
    s->BindText(1, *name);
  } else if (id) {
    s->BindInt64(1, *id);
  }
  std::vector<Collection> out;
  for (;;) {
    auto row = s->Step();
    REGFS_TRY(row);
    if (!*row) break;
    Collection c;
    c.id = s->ColumnInt64(0);
    c.name = s->ColumnText(1);
    c.kind = static_cast<Kind>(s->ColumnInt64(2));
    c.created = s->ColumnInt64(3);
    c.creator_uid = static_cast<uid_t>(s->ColumnInt64(4));
    c.creator = s->ColumnText(5);
    c.version_count = static_cast<uint64_t>(s->ColumnInt64(6));
    c.alias_count = static_cast<uint64_t>(s->ColumnInt64(7));
    if (auto latest = s->ColumnOptionalInt64(8)) {
      c.latest = static_cast<uint64_t>(*latest);
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<Collection>> Registry::ListCollections() {
  auto lock = impl_->Lock();
  return QueryCollections(*impl_->db, std::nullopt, std::nullopt);
}

Result<Collection> Registry::GetCollection(std::string_view name) {
  auto lock = impl_->Lock();
  auto found = QueryCollections(*impl_->db, name, std::nullopt);
  REGFS_TRY(found);
  if (!found->empty()) return std::move(found->front());
  REGFS_TRY(ValidateName(name, "collection"));
  return Fail(Code::kNotFound, fmt::format("no collection {}", Quote(name)));
}

Result<Collection> Registry::GetCollectionById(int64_t id) {
  auto lock = impl_->Lock();
  auto found = QueryCollections(*impl_->db, std::nullopt, id);
  REGFS_TRY(found);
  if (found->empty()) return Fail(Code::kNotFound, "no such collection");
  return std::move(found->front());
}

// A collection re-created under a deleted one's name continues its
// numbering, and no id is used twice (see DeleteCollection).
Result<CollectionRow> Registry::Impl::InsertCollection(const Identity& who,
                                                       std::string_view name) {
  auto next_version = DeletedNextVersion(name);
  REGFS_TRY(next_version);
  {
    // Collection names may not differ only by case either (as aliases).
    REGFS_STMT(twin, *db,
               "SELECT name FROM collections WHERE name = ?1 COLLATE NOCASE "
               "ORDER BY name LIMIT 1");
    twin->BindText(1, name);
    auto row = twin->Step();
    REGFS_TRY(row);
    if (*row) {
      return Fail(Code::kAlreadyExists,
                  fmt::format("collection {} already exists: collection "
                              "names may not differ only by case",
                              Quote(twin->ColumnText(0))));
    }
  }
  REGFS_STMT(s, *db,
             "INSERT INTO collections (id, name, next_version, created_ms, "
             "creator_uid, creator) VALUES (max((SELECT coalesce(max(id), 0) "
             "FROM collections), (SELECT coalesce(max(id), 0) FROM "
             "deleted_collections)) + 1, ?1, ?2, ?3, ?4, ?5) RETURNING id");
  s->BindText(1, name)
      .BindInt64(2, *next_version)
      .BindInt64(3, NowMs())
      .BindInt64(4, static_cast<int64_t>(who.uid))
      .BindText(5, who.user);
  auto row = s->Step();
  REGFS_TRY(row);
  if (!*row) return Fail(Code::kIoError, "collections: no id for a new row");
  const int64_t id = s->ColumnInt64(0);
  REGFS_TRY(Append(who, EventType::kCollectionCreate, name, "", std::nullopt,
                   std::nullopt));
  return CollectionRow{id, std::string(name), Kind::kEmpty, *next_version};
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
  auto tx = Transaction::Begin(*impl_->db);
  REGFS_TRY(tx);
  REGFS_TRY(impl_->Require(
      who, all ? Role::kAdmin : kRoleToChange,
      all ? "delete a collection with its versions" : "delete collections"));
  auto c = impl_->FindCollection(name);
  REGFS_TRY(c);
  auto versions = impl_->CollectionVersions(c->id);
  REGFS_TRY(versions);
  auto aliases = impl_->CollectionAliases(c->id);
  REGFS_TRY(aliases);
  REGFS_TRY(impl_->CheckDeletable(*c, all, versions->size(), *aliases));
  for (const auto& alias : *aliases)
    REGFS_TRY(impl_->DeleteAliasRow(who, *c, alias));
  for (const auto& [id, number] : *versions) {
    REGFS_TRY(impl_->Append(who, EventType::kVersionDelete, c->name, "", number,
                            std::nullopt));
    REGFS_STMT(s, *impl_->db, "DELETE FROM versions WHERE id = ?1");
    s->BindInt64(1, id);
    REGFS_TRY(s->Run());
  }
  REGFS_TRY(impl_->RetireCollection(who, *c));
  return tx->Commit();
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

Result<std::vector<std::pair<int64_t, uint64_t>>>
Registry::Impl::CollectionVersions(int64_t collection_id) {
  REGFS_STMT(s, *db,
             "SELECT id, number FROM versions WHERE collection_id = ?1 "
             "ORDER BY number");
  s->BindInt64(1, collection_id);
  std::vector<std::pair<int64_t, uint64_t>> out;
  for (;;) {
    auto row = s->Step();
    REGFS_TRY(row);
    if (!*row) return out;
    out.emplace_back(s->ColumnInt64(0),
                     static_cast<uint64_t>(s->ColumnInt64(1)));
  }
}

Result<std::vector<AliasRow>> Registry::Impl::CollectionAliases(
    int64_t collection_id) {
  REGFS_STMT(s, *db,
             "SELECT a.id, a.name, a.version_id, v.number FROM aliases a "
             "JOIN versions v ON v.id = a.version_id "
             "WHERE a.collection_id = ?1 ORDER BY a.name");
  s->BindInt64(1, collection_id);
  std::vector<AliasRow> out;
  for (;;) {
    auto row = s->Step();
    REGFS_TRY(row);
    if (!*row) return out;
    out.push_back({s->ColumnInt64(0), s->ColumnText(1), s->ColumnInt64(2),
                   static_cast<uint64_t>(s->ColumnInt64(3))});
  }
}

// The collection.delete row, then the collection's row moves to
// deleted_collections.
Status Registry::Impl::RetireCollection(const Identity& who,
                                        const CollectionRow& c) {
  auto seq = Append(who, EventType::kCollectionDelete, c.name, "", std::nullopt,
                    std::nullopt);
  REGFS_TRY(seq);
  {
    REGFS_STMT(s, *db,
               "INSERT INTO deleted_collections (id, name, kind, next_version, "
               "created_ms, creator_uid, creator, deleted_seq) SELECT id, "
               "name, kind, next_version, created_ms, creator_uid, creator, ?2 "
               "FROM collections WHERE id = ?1");
    s->BindInt64(1, c.id).BindInt64(2, static_cast<int64_t>(*seq));
    REGFS_TRY(s->Run());
  }
  REGFS_STMT(s, *db, "DELETE FROM collections WHERE id = ?1");
  s->BindInt64(1, c.id);
  return s->Run();
}

Result<int64_t> Registry::Impl::DeletedNextVersion(std::string_view name) {
  REGFS_STMT(s, *db,
             "SELECT coalesce(max(next_version), 0) FROM deleted_collections "
             "WHERE name = ?1");
  s->BindText(1, name);
  auto row = s->Step();
  REGFS_TRY(row);
  return *row ? s->ColumnInt64(0) : 0;
}

}  // namespace regfs::registry
