// Output helpers of the `regfs` command: human sizes, aligned tables, and
// the JSON forms of the registry's values that `--json` prints.
#ifndef REGFS_TOOLS_OUTPUT_H_
#define REGFS_TOOLS_OUTPUT_H_

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/identity.h"
#include "registry/model.h"
#include "registry/model_json.h"
#include "registry/registry.h"

namespace regfs::tools {

class Store;  // tools/store.h

// 0 B, 512 B, 1.0 KiB, 1.2 MiB, 3.4 GiB, 1.5 TiB.
std::string FormatSize(uint64_t bytes);

// "v2", or "-" for none.
std::string VersionOrDash(const std::optional<uint64_t>& number);

// "a, b, c".
std::string JoinNames(const std::vector<std::string>& names);

// Rows of text printed as left-aligned columns two spaces apart; the last
// column is not padded, so lines carry no trailing blanks.
class Table final {
 public:
  // An empty header prints no header line.
  explicit Table(std::vector<std::string> header);

  void AddRow(std::vector<std::string> row);
  bool empty() const { return rows_.size() <= 1; }

  std::string Render() const;
  void Print(std::FILE* out) const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0]: the header
};

// ALIAS VERSION PROTECTED UPDATED BY; `latest` shows "auto" as protected.
Table AliasTable(const std::vector<registry::Alias>& aliases);

// JSON keeps keys in insertion order, so that output reads naturally.
using Json = registry::OrderedJson;

// The JSON forms printed by `--json` (registry/model_json.h). Versions are
// named "v2", times are FormatTime() strings.
using registry::ToJson;

// A JSON array of ToJson(item), in order.
template <class Items>
Json ToJsonArray(const Items& items) {
  Json array = Json::array();
  for (const auto& item : items) array.push_back(ToJson(item));
  return array;
}

// A file version's blob path in `store`; null for a tree (and when the
// store cannot say: a mount that went away mid-command).
Json BlobPathJson(Store& store, const registry::Version& version);
// The same as text ("" for none).
std::string BlobPathText(Store& store, std::string_view key);
// ToJson(version) and its "blob_path": how `ls` and `push` print a version.
Json ToJsonWithBlobPath(Store& store, const registry::Version& version);

// One JSON document and a newline on stdout.
void PrintJson(const Json& value);

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_OUTPUT_H_
