#include "registry/sql/aliases.h"

#include <fmt/format.h>

#include "registry/sql/dialect.h"

namespace regfs::registry::sql {
namespace {

// The rows of the aliases of collection ?1 narrowed by `rest`, for
// AliasRowFrom.
std::string SelectAliasRows(std::string_view rest) {
  return fmt::format(
      "SELECT a.id, a.name, a.version_id, v.number FROM aliases a "
      "JOIN versions v ON v.id = a.version_id WHERE a.collection_id = ?1 {}",
      rest);
}

AliasRow AliasRowFrom(const Statement& s) {
  return AliasRow{s.ColumnInt64(0), s.ColumnText(1), s.ColumnInt64(2),
                  static_cast<uint64_t>(s.ColumnInt64(3))};
}

// The alias columns with protection, for an alias of collection ?1
// narrowed by `where`: mapped by AliasFromRow.
Result<std::string> AliasQuery(Engine engine, std::string_view where) {
  auto is_protected = AliasIsProtected(engine);
  REGFS_TRY(is_protected);
  return fmt::format(
      "SELECT a.id, a.name, v.number, a.version_id, a.revision, "
      "a.updated_ms, a.updated_uid, a.updated_by, {} "
      "FROM aliases a JOIN versions v ON v.id = a.version_id "
      "WHERE a.collection_id = ?1 {}",
      *is_protected, where);
}

// The columns an AliasStamp sets, as ?N placeholders from `first` on, for
// an UPDATE's SET list; BindStamp binds them.
std::string StampAssignments(int first) {
  return fmt::format(
      "revision = ?{}, updated_ms = ?{}, updated_uid = ?{}, updated_by = ?{}",
      first, first + 1, first + 2, first + 3);
}

// Binds `stamp` to parameters `first` to `first + 3` (revision, time, uid,
// user).
Statement& BindStamp(Statement& s, int first, const AliasStamp& stamp) {
  return s.BindInt64(first, static_cast<int64_t>(stamp.revision))
      .BindInt64(first + 1, stamp.time)
      .BindInt64(first + 2, static_cast<int64_t>(stamp.uid))
      .BindText(first + 3, stamp.user);
}

Alias AliasFromRow(const CollectionRow& c, const Statement& s) {
  Alias a;
  a.collection = c.name;
  ReadColumns(s, 0, a.id, a.name, a.version, a.version_id, a.revision,
              a.updated, a.updated_uid, a.updated_by, a.is_protected);
  return a;
}

}  // namespace

Result<std::optional<AliasRow>> FindAlias(Connection& db,
                                          int64_t collection_id,
                                          std::string_view name) {
  static const std::string sql = SelectAliasRows("AND a.name = ?2");
  REGFS_STMT(s, db, sql.c_str());
  s->BindInt64(1, collection_id).BindText(2, name);
  return OptionalRow(*s, AliasRowFrom);
}

Result<std::vector<AliasRow>> ListAliasRows(Connection& db,
                                            int64_t collection_id) {
  static const std::string sql = SelectAliasRows("ORDER BY a.name");
  REGFS_STMT(s, db, sql.c_str());
  s->BindInt64(1, collection_id);
  return AllRows(*s, AliasRowFrom);
}

Result<std::optional<std::string>> AliasCaseTwin(Connection& db,
                                                 int64_t collection_id,
                                                 std::string_view name,
                                                 int64_t except_id) {
  REGFS_ASSIGN_OR_RETURN(
      const char* text, StatementText(db.engine(), [](Engine engine) {
        return FirstNameIgnoringCase(
            engine, "aliases", "?2",
            "AND collection_id = ?1 AND name <> ?2 AND id <> ?3");
      }));
  REGFS_STMT(s, db, text);
  s->BindInt64(1, collection_id).BindText(2, name).BindInt64(3, except_id);
  return OptionalRow(*s, [](Statement& r) { return r.ColumnText(0); });
}

Result<std::optional<Alias>> GetAlias(Connection& db, const CollectionRow& c,
                                      std::string_view name) {
  REGFS_ASSIGN_OR_RETURN(const char* text,
                         StatementText(db.engine(), [](Engine engine) {
                           return AliasQuery(engine, "AND a.name = ?2");
                         }));
  REGFS_STMT(s, db, text);
  s->BindInt64(1, c.id).BindText(2, name);
  return OptionalRow(*s, [&](Statement& r) { return AliasFromRow(c, r); });
}

Result<std::vector<Alias>> ListAliases(Connection& db,
                                       const CollectionRow& c) {
  REGFS_ASSIGN_OR_RETURN(const char* text,
                         StatementText(db.engine(), [](Engine engine) {
                           return AliasQuery(engine, "ORDER BY a.name");
                         }));
  REGFS_STMT(s, db, text);
  s->BindInt64(1, c.id);
  return AllRows(*s, [&](Statement& r) { return AliasFromRow(c, r); });
}

Result<int64_t> InsertAlias(Connection& db, int64_t collection_id,
                            std::string_view name, int64_t version_id,
                            const AliasStamp& stamp) {
  REGFS_STMT(s, db,
             "INSERT INTO aliases (collection_id, name, version_id, revision, "
             "updated_ms, updated_uid, updated_by) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id");
  s->BindInt64(1, collection_id).BindText(2, name).BindInt64(3, version_id);
  BindStamp(*s, 4, stamp);
  auto id = OptionalRow(*s, [](Statement& r) { return r.ColumnInt64(0); });
  REGFS_TRY(id);
  if (!*id) return Fail(Code::kIoError, "an inserted alias has no id");
  return **id;
}

Status MoveAlias(Connection& db, int64_t alias_id, int64_t version_id,
                 const AliasStamp& stamp) {
  static const std::string sql = fmt::format(
      "UPDATE aliases SET version_id = ?1, {} WHERE id = ?6",
      StampAssignments(2));
  REGFS_STMT(s, db, sql.c_str());
  s->BindInt64(1, version_id);
  BindStamp(*s, 2, stamp).BindInt64(6, alias_id);
  return s->Run();
}

Status RenameAlias(Connection& db, int64_t alias_id, std::string_view name,
                   const AliasStamp& stamp) {
  static const std::string sql = fmt::format(
      "UPDATE aliases SET name = ?1, {} WHERE id = ?6", StampAssignments(2));
  REGFS_STMT(s, db, sql.c_str());
  s->BindText(1, name);
  BindStamp(*s, 2, stamp).BindInt64(6, alias_id);
  return s->Run();
}

Status DeleteAlias(Connection& db, int64_t alias_id) {
  REGFS_STMT(s, db, "DELETE FROM aliases WHERE id = ?1");
  s->BindInt64(1, alias_id);
  return s->Run();
}

}  // namespace regfs::registry::sql
