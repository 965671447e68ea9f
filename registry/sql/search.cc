#include "registry/sql/search.h"

#include <fmt/format.h>

#include "registry/sql/dialect.h"

namespace regfs::registry::sql {
namespace {

// The columns every field's inner query gives, in SearchRow's order.
// Prefixed so that no name is one of the engines' keywords.
constexpr const char* kColumns =
    "m_collection, m_collection_id, m_version_id, m_number, m_text, m_key, "
    "m_entry_id";

// The inner query of `field`: its matches, each as kColumns, with `like`
// making the condition "this column matches ?1".
template <class Like>
Result<std::string> MatchesOf(SearchField field, Like like) {
  // The version's columns, its collection joined as c.
  constexpr const char* kOfVersion =
      "c.name AS m_collection, c.id AS m_collection_id, "
      "v.id AS m_version_id, v.number AS m_number";
  // The version of the row of table `t` (by its version_id) as v, and
  // its collection as c.
  const auto version_join = [](std::string_view t) {
    return fmt::format(
        "JOIN versions v ON v.id = {}.version_id "
        "JOIN collections c ON c.id = v.collection_id",
        t);
  };
  switch (field) {
    case SearchField::kCollection: {
      // With the collection's newest version, if it has any.
      REGFS_ASSIGN_OR_RETURN(auto name, like("c.name"));
      return fmt::format(
          "SELECT c.name AS m_collection, c.id AS m_collection_id, "
          "coalesce(v.id, 0) AS m_version_id, v.number AS m_number, "
          "c.name AS m_text, '' AS m_key, 0 AS m_entry_id "
          "FROM collections c LEFT JOIN versions v ON v.collection_id = c.id "
          "AND v.number = (SELECT max(w.number) FROM versions w "
          "WHERE w.collection_id = c.id) WHERE {}",
          name);
    }
    case SearchField::kAlias: {
      REGFS_ASSIGN_OR_RETURN(auto name, like("a.name"));
      return fmt::format(
          "SELECT {}, a.name AS m_text, '' AS m_key, 0 AS m_entry_id "
          "FROM aliases a {} WHERE {}",
          kOfVersion, version_join("a"), name);
    }
    case SearchField::kTag: {
      REGFS_ASSIGN_OR_RETURN(auto tag, like("t.tag"));
      return fmt::format(
          "SELECT {}, t.tag AS m_text, '' AS m_key, 0 AS m_entry_id "
          "FROM tags t {} WHERE {}",
          kOfVersion, version_join("t"), tag);
    }
    case SearchField::kMetadata: {
      REGFS_ASSIGN_OR_RETURN(auto key, like("m.key"));
      REGFS_ASSIGN_OR_RETURN(auto value, like("m.value"));
      return fmt::format(
          "SELECT {}, m.value AS m_text, m.key AS m_key, 0 AS m_entry_id "
          "FROM metadata m {} WHERE {} OR {}",
          kOfVersion, version_join("m"), key, value);
    }
    case SearchField::kDescription: {
      REGFS_ASSIGN_OR_RETURN(auto description, like("v.description"));
      return fmt::format(
          "SELECT {}, v.description AS m_text, '' AS m_key, 0 AS m_entry_id "
          "FROM versions v JOIN collections c ON c.id = v.collection_id "
          "WHERE {}",
          kOfVersion, description);
    }
    case SearchField::kFile: {
      // The version's own file name(s), and each entry of a tree.
      REGFS_ASSIGN_OR_RETURN(auto filename, like("v.filename"));
      REGFS_ASSIGN_OR_RETURN(auto entry, like("e.name"));
      return fmt::format(
          "SELECT {0}, v.filename AS m_text, '' AS m_key, 0 AS m_entry_id "
          "FROM versions v JOIN collections c ON c.id = v.collection_id "
          "WHERE {1} UNION ALL "
          "SELECT {0}, e.name AS m_text, '' AS m_key, e.id AS m_entry_id "
          "FROM tree_entries e {2} WHERE {3}",
          kOfVersion, filename, version_join("e"), entry);
    }
  }
  return Fail(Code::kInvalidArgument, "unknown search field");
}

// The whole statement of `field` for `engine`: ?1 the pattern, ?2 the
// limit.
Result<std::string> SearchStatement(Engine engine, SearchField field) {
  REGFS_ASSIGN_OR_RETURN(auto matches,
                         MatchesOf(field, [engine](std::string_view column) {
                           return LikeIgnoringCase(engine, column, "?1");
                         }));
  REGFS_ASSIGN_OR_RETURN(auto by_collection,
                         InByteOrder(engine, "m_collection"));
  REGFS_ASSIGN_OR_RETURN(auto by_key, InByteOrder(engine, "m_key"));
  REGFS_ASSIGN_OR_RETURN(auto by_text, InByteOrder(engine, "m_text"));
  return fmt::format(
      "SELECT {}, COUNT(*) OVER () FROM ({}) found "
      "ORDER BY {}, m_number, {}, {}, m_entry_id LIMIT ?2",
      kColumns, matches, by_collection, by_key, by_text);
}

// The statement's text, made once per engine and field (StatementText
// keeps one per instantiation).
template <SearchField kField>
Result<const char*> TextOf(Engine engine) {
  return StatementText(engine,
                       [](Engine e) { return SearchStatement(e, kField); });
}

Result<const char*> TextFor(Engine engine, SearchField field) {
  switch (field) {
    case SearchField::kCollection:
      return TextOf<SearchField::kCollection>(engine);
    case SearchField::kAlias:
      return TextOf<SearchField::kAlias>(engine);
    case SearchField::kTag:
      return TextOf<SearchField::kTag>(engine);
    case SearchField::kMetadata:
      return TextOf<SearchField::kMetadata>(engine);
    case SearchField::kDescription:
      return TextOf<SearchField::kDescription>(engine);
    case SearchField::kFile:
      return TextOf<SearchField::kFile>(engine);
  }
  return Fail(Code::kInvalidArgument, "unknown search field");
}

SearchRow SearchRowFromRow(const Statement& s) {
  SearchRow row;
  row.collection = s.ColumnText(0);
  row.collection_id = s.ColumnInt64(1);
  row.version_id = s.ColumnInt64(2);
  if (const auto number = s.ColumnOptionalInt64(3)) {
    row.number = static_cast<uint64_t>(*number);
  }
  row.text = s.ColumnText(4);
  row.key = s.ColumnText(5);
  row.entry_id = s.ColumnInt64(6);
  row.total = static_cast<uint64_t>(s.ColumnInt64(7));
  return row;
}

}  // namespace

std::string ContainsPattern(std::string_view term) {
  std::string pattern = "%";
  for (const char c : term) {
    if (c == '%' || c == '_' || c == kLikeEscape) pattern += kLikeEscape;
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

Result<std::vector<SearchRow>> SearchRows(Connection& db, SearchField field,
                                          std::string_view pattern,
                                          uint64_t limit) {
  REGFS_ASSIGN_OR_RETURN(const char* text, TextFor(db.engine(), field));
  return QueryAll(db, text, SearchRowFromRow, pattern,
                  static_cast<int64_t>(limit));
}

}  // namespace regfs::registry::sql
