#include "registry/sql/search.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <utility>

#include "registry/sql/dialect.h"

namespace regfs::registry::sql {
namespace {

// The columns every field's inner query gives, in SearchRow's order.
// Prefixed so that no name is one of the engines' keywords.
constexpr const char* kColumns =
    "m_collection, m_collection_id, m_version_id, m_number, m_text, m_key, "
    "m_entry_id";

// The version's columns, its collection joined as c.
constexpr const char* kOfVersion =
    "c.name AS m_collection, c.id AS m_collection_id, "
    "v.id AS m_version_id, v.number AS m_number";

// The rows of `table` (as `t`, each naming its version by version_id)
// where `condition` holds, showing their `text`, `key` and `entry_id`.
std::string RowsOf(std::string_view table, std::string_view t,
                   std::string_view text, std::string_view key,
                   std::string_view entry_id, std::string_view condition) {
  return fmt::format(
      "SELECT {}, {} AS m_text, {} AS m_key, {} AS m_entry_id FROM {} {} "
      "JOIN versions v ON v.id = {}.version_id "
      "JOIN collections c ON c.id = v.collection_id WHERE {}",
      kOfVersion, text, key, entry_id, table, t, t, condition);
}

// The versions (as v) where `condition` holds, showing their `text`.
std::string VersionsWhere(std::string_view text, std::string_view condition) {
  return fmt::format(
      "SELECT {}, {} AS m_text, '' AS m_key, 0 AS m_entry_id "
      "FROM versions v JOIN collections c ON c.id = v.collection_id "
      "WHERE {}",
      kOfVersion, text, condition);
}

// The inner query of `field`: its matches, each as kColumns, with `like`
// making the condition "this column matches ?1".
template <class Like>
Result<std::string> MatchesOf(SearchField field, Like like) {
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
      return RowsOf("aliases", "a", "a.name", "''", "0", name);
    }
    case SearchField::kTag: {
      REGFS_ASSIGN_OR_RETURN(auto tag, like("t.tag"));
      return RowsOf("tags", "t", "t.tag", "''", "0", tag);
    }
    case SearchField::kMetadata: {
      REGFS_ASSIGN_OR_RETURN(auto key, like("m.key"));
      REGFS_ASSIGN_OR_RETURN(auto value, like("m.value"));
      return RowsOf("metadata", "m", "m.value", "m.key", "0",
                    fmt::format("{} OR {}", key, value));
    }
    case SearchField::kDescription: {
      REGFS_ASSIGN_OR_RETURN(auto description, like("v.description"));
      return VersionsWhere("v.description", description);
    }
    case SearchField::kFile: {
      // The version's own file name(s), and each entry of a tree.
      REGFS_ASSIGN_OR_RETURN(auto filename, like("v.filename"));
      REGFS_ASSIGN_OR_RETURN(auto entry, like("e.name"));
      return fmt::format(
          "{} UNION ALL {}", VersionsWhere("v.filename", filename),
          RowsOf("tree_entries", "e", "e.name", "''", "e.id", entry));
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

// The statement of `kField` for `engine`, made once (StatementText): a
// function of its own per field, so that each field has a text of its own.
template <SearchField kField>
Result<const char*> FieldText(Engine engine) {
  return StatementText(engine,
                       [](Engine e) { return SearchStatement(e, kField); });
}

// FieldText of each of kSearchFields, in its order.
template <size_t... I>
constexpr auto FieldTexts(std::index_sequence<I...>) {
  return std::array{&FieldText<kSearchFields[I]>...};
}

// The statement of `field` for `engine`.
Result<const char*> TextFor(Engine engine, SearchField field) {
  static constexpr auto kTexts =
      FieldTexts(std::make_index_sequence<std::size(kSearchFields)>());
  const auto i = std::ranges::find(kSearchFields, field) - kSearchFields;
  if (i == std::ssize(kSearchFields)) {
    return Fail(Code::kInvalidArgument, "unknown search field");
  }
  return kTexts[static_cast<size_t>(i)](engine);
}

SearchRow SearchRowFromRow(const Statement& s) {
  SearchRow row;
  ReadColumns(s, 0, row.collection, row.collection_id, row.version_id,
              row.number, row.text, row.key, row.entry_id, row.total);
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
