// Versions: reading them and their trees, tags, deleting a version.
#include <map>

#include "registry/registry_impl.h"

namespace regfs::registry {

Result<Version> Registry::GetVersionById(int64_t id) {
  auto lock = impl_->Lock();
  static const std::string sql = fmt::format(
      "SELECT {} FROM versions v JOIN collections c ON "
      "c.id = v.collection_id WHERE v.id = ?1",
      kVersionColumns);
  REGFS_STMT(s, *impl_->db, sql.c_str());
  s->BindInt64(1, id);
  auto row = s->Step();
  REGFS_TRY(row);
  if (!*row) return Fail(Code::kNotFound, "no such version");
  return VersionFromRow(*s);
}

Result<Version> Registry::GetVersionByNumber(int64_t collection_id,
                                             uint64_t number) {
  auto lock = impl_->Lock();
  auto v = impl_->FindVersion(collection_id, number);
  REGFS_TRY(v);
  if (!*v) {
    return Fail(Code::kNotFound,
                fmt::format("no version {}", VersionName(number)));
  }
  return std::move(**v);
}

// The live versions of the collection `collection_id`, oldest first.
Result<std::vector<Version>> QueryVersions(Connection& db,
                                           int64_t collection_id) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM versions v JOIN collections c ON "
      "c.id = v.collection_id WHERE v.collection_id = ?1 "
      "ORDER BY v.number",
      kVersionColumns);
  REGFS_STMT(s, db, sql.c_str());
  s->BindInt64(1, collection_id);
  std::vector<Version> out;
  for (;;) {
    auto row = s->Step();
    REGFS_TRY(row);
    if (!*row) break;
    out.push_back(VersionFromRow(*s));
  }
  return out;
}

Result<std::vector<Version>> Registry::ListVersions(
    std::string_view collection) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  REGFS_TRY(c);
  return QueryVersions(*impl_->db, c->id);
}

Result<std::vector<Version>> Registry::ListVersionsInFull(
    std::string_view collection) {
  auto lock = impl_->Lock();
  auto c = impl_->FindCollection(collection);
  REGFS_TRY(c);
  auto versions = QueryVersions(*impl_->db, c->id);
  if (!versions) return versions;
  std::map<int64_t, Version*> by_id;
  for (auto& v : *versions) by_id[v.id] = &v;
  const auto find = [&](int64_t id) {
    const auto it = by_id.find(id);
    return it == by_id.end() ? nullptr : it->second;
  };
  {
    REGFS_STMT(s, *impl_->db,
               "SELECT t.version_id, t.tag FROM tags t JOIN versions v ON "
               "v.id = t.version_id WHERE v.collection_id = ?1 "
               "ORDER BY t.version_id, t.tag");
    s->BindInt64(1, c->id);
    for (;;) {
      auto row = s->Step();
      REGFS_TRY(row);
      if (!*row) break;
      if (Version* v = find(s->ColumnInt64(0))) {
        v->tags.push_back(s->ColumnText(1));
      }
    }
  }
  {
    REGFS_STMT(s, *impl_->db,
               "SELECT m.version_id, m.key, m.value FROM metadata m JOIN "
               "versions v ON v.id = m.version_id WHERE v.collection_id = ?1");
    s->BindInt64(1, c->id);
    for (;;) {
      auto row = s->Step();
      REGFS_TRY(row);
      if (!*row) break;
      if (Version* v = find(s->ColumnInt64(0))) {
        v->metadata[s->ColumnText(1)] = s->ColumnText(2);
      }
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
  auto c = impl_->FindCollection(collection);
  REGFS_TRY(c);
  auto v = impl_->FindVersion(c->id, number);
  REGFS_TRY(v);
  if (!*v) {
    return Fail(Code::kNotFound, fmt::format("{} has no version {}", collection,
                                             VersionName(number)));
  }
  REGFS_TRY(impl_->FillDetails(**v));
  return std::move(**v);
}

Result<std::vector<std::string>> Registry::Impl::VersionAliases(
    const Version& v) {
  std::vector<std::string> names;
  auto latest = FindLatest(v.collection_id);
  REGFS_TRY(latest);
  if (*latest && (*latest)->first.id == v.id) names.emplace_back(kLatest);
  REGFS_STMT(s, *db,
             "SELECT name FROM aliases WHERE version_id = ?1 ORDER BY name");
  s->BindInt64(1, v.id);
  for (;;) {
    auto row = s->Step();
    REGFS_TRY(row);
    if (!*row) break;
    names.push_back(s->ColumnText(0));
  }
  return names;
}

Status Registry::Impl::FillDetails(Version& v) {
  {
    REGFS_STMT(s, *db,
               "SELECT tag FROM tags WHERE version_id = ?1 ORDER BY tag");
    s->BindInt64(1, v.id);
    for (;;) {
      auto row = s->Step();
      REGFS_TRY(row);
      if (!*row) break;
      v.tags.push_back(s->ColumnText(0));
    }
  }
  {
    REGFS_STMT(s, *db, "SELECT key, value FROM metadata WHERE version_id = ?1");
    s->BindInt64(1, v.id);
    for (;;) {
      auto row = s->Step();
      REGFS_TRY(row);
      if (!*row) break;
      v.metadata[s->ColumnText(0)] = s->ColumnText(1);
    }
  }
  auto aliases = VersionAliases(v);
  REGFS_TRY(aliases);
  v.aliases = std::move(*aliases);
  return {};
}

Result<TreeEntry> Registry::Impl::TreeEntryFromQuery(sql::Statement& s) {
  auto row = s.Step();
  REGFS_TRY(row);
  if (!*row) return Fail(Code::kNotFound, "no such file in this version");
  return sql::TreeEntryFromRow(s);
}

Result<std::vector<TreeEntry>> Registry::ListTree(int64_t version_id,
                                                  int64_t parent_id) {
  auto lock = impl_->Lock();
  {
    REGFS_STMT(v, *impl_->db, "SELECT 1 FROM versions WHERE id = ?1");
    v->BindInt64(1, version_id);
    auto row = v->Step();
    REGFS_TRY(row);
    if (!*row) return Fail(Code::kNotFound, "no such version");
  }
  REGFS_STMT(s, *impl_->db,
             "SELECT id, version_id, parent_id, name, is_dir, executable, "
             "size, coalesce(blob, '') FROM tree_entries "
             "WHERE version_id = ?1 AND parent_id = ?2 ORDER BY name");
  s->BindInt64(1, version_id).BindInt64(2, parent_id);
  std::vector<TreeEntry> out;
  for (;;) {
    auto row = s->Step();
    REGFS_TRY(row);
    if (!*row) break;
    out.push_back(sql::TreeEntryFromRow(*s));
  }
  return out;
}

Result<TreeEntry> Registry::LookupTree(int64_t version_id, int64_t parent_id,
                                       std::string_view name) {
  auto lock = impl_->Lock();
  REGFS_STMT(s, *impl_->db,
             "SELECT id, version_id, parent_id, name, is_dir, executable, "
             "size, coalesce(blob, '') FROM tree_entries "
             "WHERE version_id = ?1 AND parent_id = ?2 AND name = ?3");
  s->BindInt64(1, version_id).BindInt64(2, parent_id).BindText(3, name);
  return impl_->TreeEntryFromQuery(*s);
}

Result<TreeEntry> Registry::GetTreeEntry(int64_t entry_id) {
  auto lock = impl_->Lock();
  REGFS_STMT(s, *impl_->db,
             "SELECT id, version_id, parent_id, name, is_dir, executable, "
             "size, coalesce(blob, '') FROM tree_entries WHERE id = ?1");
  s->BindInt64(1, entry_id);
  return impl_->TreeEntryFromQuery(*s);
}

Status Registry::DeleteVersion(const Identity& who, std::string_view collection,
                               uint64_t number) {
  auto lock = impl_->Lock();
  Connection& db = *impl_->db;
  auto tx = Transaction::Begin(db);
  REGFS_TRY(tx);
  REGFS_TRY(impl_->Require(who, Role::kAdmin, "delete versions"));
  auto c = impl_->FindCollection(collection);
  REGFS_TRY(c);
  auto v = impl_->FindVersion(c->id, number);
  REGFS_TRY(v);
  if (!*v) {
    return Fail(Code::kNotFound, fmt::format("{} has no version {}", collection,
                                             VersionName(number)));
  }
  std::vector<AliasRow> aliases;
  {
    REGFS_STMT(s, db,
               "SELECT a.id, a.name, EXISTS (SELECT 1 FROM protected_names p "
               "WHERE p.name = a.name COLLATE NOCASE) FROM aliases a "
               "WHERE a.version_id = ?1 "
               "ORDER BY a.name");
    s->BindInt64(1, (*v)->id);
    for (;;) {
      auto row = s->Step();
      REGFS_TRY(row);
      if (!*row) break;
      if (s->ColumnInt64(2) != 0) {
        return Fail(
            Code::kNotPermitted,
            fmt::format("{}/{} is named by protected alias '{}': move "
                        "the alias before deleting the version",
                        collection, VersionName(number), s->ColumnText(1)));
      }
      aliases.push_back(
          {s->ColumnInt64(0), s->ColumnText(1), (*v)->id, number});
    }
  }
  for (const auto& alias : aliases)
    REGFS_TRY(impl_->DeleteAliasRow(who, *c, alias));
  REGFS_TRY(impl_->Append(who, EventType::kVersionDelete, c->name, "", number,
                          std::nullopt));
  {
    REGFS_STMT(s, db, "DELETE FROM versions WHERE id = ?1");
    s->BindInt64(1, (*v)->id);
    REGFS_TRY(s->Run());
  }
  return tx->Commit();
}

Status Registry::Impl::ChangeTag(const Identity& who,
                                 std::string_view collection, uint64_t number,
                                 std::string_view tag, bool add) {
  REGFS_TRY(Require(who, kRoleToChange, "tag versions"));
  REGFS_TRY(ValidateTag(tag));
  auto tx = Transaction::Begin(*db);
  REGFS_TRY(tx);
  auto c = FindCollection(collection);
  REGFS_TRY(c);
  auto v = FindVersion(c->id, number);
  REGFS_TRY(v);
  if (!*v) {
    return Fail(Code::kNotFound, fmt::format("{} has no version {}", collection,
                                             VersionName(number)));
  }
  {
    auto stmt =
        add ? db->Cached(
                  "INSERT OR IGNORE INTO tags (version_id, tag) "
                  "VALUES (?1, ?2)")
            : db->Cached("DELETE FROM tags WHERE version_id = ?1 AND tag = ?2");
    REGFS_TRY(stmt);
    (*stmt)->BindInt64(1, (*v)->id).BindText(2, tag);
    REGFS_TRY((*stmt)->Run());
  }
  if (db->Changes() == 0) {
    if (add) return {};  // already tagged: nothing happened
    return Fail(Code::kNotFound, fmt::format("{}/{} has no tag {}", collection,
                                             VersionName(number), Quote(tag)));
  }
  REGFS_TRY(Append(who, add ? EventType::kTagAdd : EventType::kTagRemove,
                   c->name, "", add ? std::nullopt : std::optional(number),
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
