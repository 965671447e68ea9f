// Registry::Search (issue 16): a term found in names, tags, metadata,
// descriptions and file names, grouped by where (search.h); its SQL is
// sql/search.cc's.
#include "registry/search.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "registry/registry_impl.h"
#include "registry/sql/search.h"
#include "registry/sql/versions.h"

namespace regfs::registry {
namespace {

// InvalidArgument unless `term` and `options` make a search.
Status CheckSearch(std::string_view term, const SearchOptions& options) {
  if (term.empty()) {
    return Fail(Code::kInvalidArgument, "search needs a term to look for");
  }
  if (term.size() > kSearchMaxTermBytes) {
    return Fail(Code::kInvalidArgument,
                fmt::format("the search term is {} bytes; at most {}",
                            term.size(), kSearchMaxTermBytes));
  }
  if (term.find('\0') != std::string_view::npos) {
    return Fail(Code::kInvalidArgument,
                "the search term must not contain a NUL byte");
  }
  if (options.limit < 1 || options.limit > kSearchMaxLimit) {
    return Fail(Code::kInvalidArgument,
                fmt::format("the search limit is {}: it must be 1 to {}",
                            options.limit, kSearchMaxLimit));
  }
  return {};
}

// A tree entry's path in its version: its parents' names joined by '/',
// a directory's ending in '/'.
Result<std::string> EntryPath(sql::Connection& db, int64_t entry_id) {
  std::string path;
  for (int64_t id = entry_id; id != 0;) {
    REGFS_ASSIGN_OR_RETURN(auto entry, sql::FindTreeEntry(db, id));
    if (!entry) {
      return Fail(Code::kCorruption,
                  fmt::format("tree entry {} has no parent {}", entry_id, id));
    }
    path = entry->name + (entry->is_dir ? "/" : "") + path;
    id = entry->parent_id;
  }
  return path;
}

bool IsUtf8Continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// `text` whole if it is short; else cut to about kSearchMaxTextBytes
// around where `term` first matches it (ASCII case ignored; the start for
// a metadata value whose key matched), at UTF-8 characters' starts, with
// "..." marking each cut.
std::string Excerpt(std::string_view text, std::string_view term) {
  if (text.size() <= kSearchMaxTextBytes) return std::string(text);
  constexpr size_t kBefore = 60;  // context kept ahead of the match
  const size_t found = ToLowerAscii(text).find(ToLowerAscii(term));
  const size_t match = found == std::string::npos ? 0 : found;
  size_t begin = match > kBefore ? match - kBefore : 0;
  size_t end = std::min(text.size(), std::max(begin + kSearchMaxTextBytes,
                                              match + term.size()));
  while (begin > 0 && IsUtf8Continuation(text[begin])) --begin;
  while (end < text.size() && IsUtf8Continuation(text[end])) ++end;
  std::string out = begin > 0 ? "..." : "";
  out += text.substr(begin, end - begin);
  if (end < text.size()) out += "...";
  return out;
}

}  // namespace

Result<SearchResults> Registry::Search(const Identity& who,
                                       std::string_view term,
                                       SearchOptions options) {
  REGFS_TRY(CheckSearch(term, options));
  auto lock = impl_->Lock();
  // The refusal every read through the mount gives (Authorize).
  REGFS_ASSIGN_OR_RETURN(const Role role, impl_->RoleOf(who));
  REGFS_TRY(Authorize(who, Action::Read(), [role] { return role; }));
  sql::Connection& db = *impl_->db;
  const std::string pattern = sql::ContainsPattern(term);
  SearchResults results{.term = std::string(term), .limit = options.limit};
  // A version's aliases, once per version however often it matches.
  std::map<int64_t, std::vector<std::string>> aliases_of;
  for (const SearchField field : kSearchFields) {
    REGFS_ASSIGN_OR_RETURN(auto rows,
                           sql::SearchRows(db, field, pattern, options.limit));
    SearchGroup group{.field = field};
    if (!rows.empty()) group.more = rows.front().total - rows.size();
    for (auto& row : rows) {
      SearchHit hit{.collection = std::move(row.collection),
                    .version = row.number,
                    .text = std::move(row.text),
                    .key = std::move(row.key)};
      if (row.entry_id != 0) {
        REGFS_ASSIGN_OR_RETURN(hit.text, EntryPath(db, row.entry_id));
      }
      hit.text = Excerpt(hit.text, term);
      if (row.version_id != 0) {
        auto [it, added] = aliases_of.try_emplace(row.version_id);
        if (added) {
          Version v;
          v.id = row.version_id;
          v.collection_id = row.collection_id;
          REGFS_ASSIGN_OR_RETURN(it->second, impl_->VersionAliases(v));
        }
        hit.aliases = it->second;
      }
      group.hits.push_back(std::move(hit));
    }
    results.groups.push_back(std::move(group));
  }
  return results;
}

}  // namespace regfs::registry
