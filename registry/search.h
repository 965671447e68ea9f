// Search (issue 16): the values of Registry::Search, which `regfs search`,
// the mount's control file (op "search") and the web view's search box
// all call. Their JSON form is in model_json.h.
//
// A search matches a term anywhere inside a name or text, ignoring ASCII
// case, in six places (SearchField). Its results come in one group per
// place; each hit names the collection, the version and that version's
// aliases now. Only live, published versions are searched: a deleted
// version has left the database, and drafts never were in it.
#ifndef REGFS_REGISTRY_SEARCH_H_
#define REGFS_REGISTRY_SEARCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"

namespace regfs::registry {

// Where a term was found: a result's group. Groups come in this order.
enum class SearchField {
  kCollection,   // a collection's name
  kAlias,        // an alias's name (`latest` is every collection's: never)
  kTag,          // a version's tag
  kMetadata,     // a version's metadata key or value
  kDescription,  // a version's description
  kFile,         // a version's original file name(s) as pushed
                 // (Version::filename), or a file or directory in a tree
};
inline constexpr SearchField kSearchFields[] = {
    SearchField::kCollection, SearchField::kAlias,       SearchField::kTag,
    SearchField::kMetadata,   SearchField::kDescription, SearchField::kFile};
// "collection", "alias", "tag", "metadata", "description", "file".
std::string_view SearchFieldName(SearchField field);
// The title of a group of results: "collections", "aliases", "tags",
// "metadata", "descriptions", "file names".
std::string_view SearchFieldTitle(SearchField field);
// The inverse; InvalidArgument for any other name.
Result<SearchField> ParseSearchField(std::string_view name);

// How many hits a group returns unless asked otherwise, and at most: one
// query cannot make a reply larger than kSearchMaxLimit hits per group.
inline constexpr uint64_t kSearchLimit = 50;
inline constexpr uint64_t kSearchMaxLimit = 1000;
// The longest term, in bytes.
inline constexpr size_t kSearchMaxTermBytes = 1024;
// The longest SearchHit::text before it is cut around the match, in
// bytes: with the cap on hits, it bounds a reply's size.
inline constexpr size_t kSearchMaxTextBytes = 240;

struct SearchOptions {
  // Hits per group, 1 to kSearchMaxLimit; the rest are only counted
  // (SearchGroup::more).
  uint64_t limit = kSearchLimit;
};

// One match.
struct SearchHit {
  std::string collection;
  // The version matched; for a collection's name, the collection's newest
  // live version (nullopt when it has none).
  std::optional<uint64_t> version;
  // That version's aliases now, `latest` first if it is the newest
  // (Version::aliases); empty without a version.
  std::vector<std::string> aliases;
  // What matched: the collection's, alias's or tag's name, the metadata
  // value, the description, the version's file name(s), or a tree's file
  // by its path in the tree ("sub/model.bin"; a directory ends in '/').
  // A text longer than kSearchMaxTextBytes (free text: a description, a
  // value) is cut to about that around the match, "..." marking each cut.
  std::string text;
  // kMetadata only: the key whose value `text` is (the key or the value
  // matched). Empty otherwise.
  std::string key;
};

struct SearchGroup {
  SearchField field = SearchField::kCollection;
  // At most SearchOptions::limit, by collection name (bytes), version
  // number, then `key` and `text` (bytes).
  std::vector<SearchHit> hits;
  // How many more matched than `hits` holds.
  uint64_t more = 0;
};

struct SearchResults {
  std::string term;
  uint64_t limit = kSearchLimit;  // the cap each group was held to
  // One group per SearchField, in kSearchFields' order, empty ones too.
  std::vector<SearchGroup> groups;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_SEARCH_H_
