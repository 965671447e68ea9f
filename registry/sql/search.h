// Search's statements (Registry::Search, search.cc): one per SearchField,
// each written once for both engines with the dialect's case-insensitive
// LIKE. A statement returns its first `limit` matches and, with each, how
// many there are in all (COUNT(*) OVER (), counted before the LIMIT), so
// that one query both bounds the reply and says how many more there are.
#ifndef REGFS_REGISTRY_SQL_SEARCH_H_
#define REGFS_REGISTRY_SQL_SEARCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/search.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

// A LIKE pattern that matches `term` literally anywhere in a text: its
// `%`, `_` and kLikeEscape escaped with kLikeEscape, between two `%`.
std::string ContainsPattern(std::string_view term);

// One match of a search statement.
struct SearchRow {
  std::string collection;
  int64_t collection_id = 0;
  int64_t version_id = 0;          // 0: a collection without versions
  std::optional<uint64_t> number;  // nullopt with version_id 0
  std::string text;                // what matched (SearchHit::text)
  std::string key;                 // kMetadata: the value's key
  int64_t entry_id = 0;            // kFile: the tree entry, 0 for none
  uint64_t total = 0;              // matches in all, beyond the LIMIT too
};

// The first `limit` rows of `field` that match `pattern` (a
// ContainsPattern), by collection name (bytes), version number, then
// metadata key and text (bytes). Live versions only: every statement joins versions.
[[nodiscard]] Result<std::vector<SearchRow>> SearchRows(
    Connection& db, SearchField field, std::string_view pattern,
    uint64_t limit);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_SEARCH_H_
