// `regfs search TERM`: Registry::Search through the Store, printed by
// group (registry/search.h), or as JSON.
#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

#include "registry/names.h"
#include "registry/search.h"
#include "tools/actions.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;

// `text` on one line of at most about `max` bytes: line breaks and tabs
// become spaces, other control characters '?', and a longer text is cut
// (at a UTF-8 character's start) with "...". Free text (descriptions,
// metadata) must not break the table.
std::string OneLine(std::string_view text, size_t max = 60) {
  std::string line;
  for (const char c : text) {
    if (line.size() >= max && (static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      return line + "...";
    }
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n' || c == '\r' || c == '\t') {
      line += ' ';
    } else if (u < 0x20 || u == 0x7F) {
      line += '?';
    } else {
      line += c;
    }
  }
  return line;
}

// "models/v3", or "models" for a collection without versions.
std::string VersionOf(const reg::SearchHit& hit) {
  if (!hit.version) return hit.collection;
  return hit.collection + "/" + reg::VersionName(*hit.version);
}

void PrintGroup(const reg::SearchGroup& group) {
  const uint64_t total = group.hits.size() + group.more;
  fmt::print("{} ({} match{})\n", reg::SearchFieldTitle(group.field), total,
             total == 1 ? "" : "es");
  // The empty first column indents each row by the table's two spaces.
  Table table({});
  for (const auto& hit : group.hits) {
    std::string match = OneLine(hit.text);
    if (group.field == reg::SearchField::kMetadata) {
      match = OneLine(hit.key) + "=" + match;
    }
    const std::string aliases =
        hit.aliases.empty() ? "" : "[" + JoinNames(hit.aliases) + "]";
    table.AddRow({"", VersionOf(hit), match, aliases});
  }
  table.Print(stdout);
  if (group.more > 0) {
    fmt::print(
        "  ... and {} more (narrow the term, or raise --limit up to "
        "{})\n",
        group.more, reg::kSearchMaxLimit);
  }
}

}  // namespace

reg::Status RunSearch(Context&, Store& store, const SearchArgs& args) {
  REGFS_ASSIGN_OR_RETURN(const auto results,
                         store.Search(args.term, {.limit = args.limit}));
  if (args.json) {
    PrintJson(ToJson(results));
    return {};
  }
  bool printed = false;
  for (const auto& group : results.groups) {
    if (group.hits.empty()) continue;
    if (printed) fmt::print("\n");
    PrintGroup(group);
    printed = true;
  }
  if (!printed) fmt::print("no matches for '{}'\n", OneLine(args.term));
  return {};
}

}  // namespace regfs::tools
