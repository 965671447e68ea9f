// Name rules of DESIGN.md: what a collection or alias may be called, and
// which symlink targets name a version of a collection.
#ifndef REGFS_REGISTRY_NAMES_H_
#define REGFS_REGISTRY_NAMES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"

namespace regfs::registry {

inline constexpr size_t kMaxNameLength = 128;
inline constexpr std::string_view kLatest = "latest";

// 1-128 characters of A-Z a-z 0-9 . _ -, not starting with '.' or '-'.
// `what` names the thing in the message ("collection", "alias").
Status ValidateName(std::string_view name, std::string_view what);

// Names compare without regard to case (DESIGN.md): a protected name
// protects every spelling of itself, and two aliases of one collection, or
// two collections, may not differ only by case. Names are ASCII, so these
// fold A-Z only.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLowerAscii(std::string_view s);

// A user-supplied name or path for a one-line message: its first
// `max_bytes` bytes, control characters and non-ASCII bytes as \xNN, and
// "..." if it was longer.
std::string Printable(std::string_view s, size_t max_bytes = 160);

// `latest` or `v<digits>` in any case (`Latest`, `V1`, `v01`): names that a
// user may not give to an alias or a collection.
bool IsReservedName(std::string_view name);

// As ValidateName, and not reserved (IsReservedName).
Status ValidateAliasName(std::string_view name);
Status ValidateCollectionName(std::string_view name);

// "v12" -> 12; anything else (including "v", "v01", "v1x") -> nullopt.
std::optional<uint64_t> ParseVersionName(std::string_view name);
std::string VersionName(uint64_t number);

// `path` cut at each '/', empty and "." components kept: "a//b/" ->
// {"a", "", "b", ""}; "" -> {""}.
std::vector<std::string_view> SplitPath(std::string_view path);

// A symlink target written into collection `collection`: "v3", "./v3",
// "best", "../models/v3". Returns the name it points at inside the
// collection (a version or an alias name), or InvalidArgument when the
// target leaves the collection, is malformed or is absolute (the registry
// knows no mount point: fs/ makes a target under its own mount relative).
Result<std::string> ParseLinkTarget(std::string_view collection,
                                    std::string_view target);

// A draft's name in a collection (DESIGN.md "draft"): a dot-name, one
// path component, not ".." ("." alone is no name either).
bool IsDraftName(std::string_view name);

// Tag and metadata key checks (a principal is checked by Registry::Grant).
Status ValidateTag(std::string_view tag);
Status ValidateMetaKey(std::string_view key);

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_NAMES_H_
