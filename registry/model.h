// The registry's values, as its readers see them. Plain copyable structs.
#ifndef REGFS_REGISTRY_MODEL_H_
#define REGFS_REGISTRY_MODEL_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"

namespace regfs::registry {

// Milliseconds since the Unix epoch, UTC.
using TimeMs = int64_t;

enum class Role { kNone = 0, kViewer = 1, kMember = 2, kAdmin = 3 };
// The least role that may change anything (create collections, push, tag,
// change unprotected aliases): the one rule the registry's checks use and
// the mount's access(W_OK) asks in advance.
inline constexpr Role kRoleToChange = Role::kMember;
constexpr bool MayChange(Role role) { return role >= kRoleToChange; }
std::string_view RoleName(Role role);
Result<Role> ParseRole(std::string_view name);

// A collection's kind is fixed by its first version; kEmpty until then.
enum class Kind { kEmpty = 0, kFile = 1, kTree = 2 };
std::string_view KindName(Kind kind);

struct Collection {
  int64_t id = 0;
  std::string name;
  Kind kind = Kind::kEmpty;
  TimeMs created = 0;
  uid_t creator_uid = 0;
  std::string creator;
  uint64_t version_count = 0;      // live versions
  uint64_t alias_count = 0;        // user aliases, `latest` not counted
  std::optional<uint64_t> latest;  // newest live version number
  // The number the next version gets: past every version the collection
  // ever had, deleted ones too (numbers are never reused).
  uint64_t next_number = 1;
};

// A version's immutable attributes, without the strings of a Version:
// what a mount's lookup of `vN` answers with (Registry::GetVersionAttrs).
// 40 bytes, against about 0.5 KiB for a Version: a mount holds 2^18 of
// them (ReadCache).
struct VersionAttrs {
  int64_t id = 0;
  uint64_t number = 0;
  Kind kind = Kind::kFile;  // its collection's
  uid_t creator_uid = 0;
  TimeMs created = 0;
  uint64_t size = 0;
};

struct Version {
  int64_t id = 0;  // unique in the store, stable for the version's life
  int64_t collection_id = 0;
  std::string collection;
  uint64_t number = 0;  // the N of vN
  Kind kind = Kind::kFile;
  TimeMs created = 0;
  uid_t creator_uid = 0;
  std::string creator;
  uint64_t size = 0;     // bytes: the file, or all files of the tree
  uint64_t files = 1;    // number of regular files
  std::string digest;    // 32 hex digits of XXH3-128 (of a tree's manifest)
  std::string blob;      // file versions: the blob key; empty for trees
  std::string filename;  // file versions: the pushed file's base name;
                         // trees: the pushed names, comma separated
  std::string description;
  uint64_t created_seq = 0;  // the seq of its version.create event
  std::map<std::string, std::string> metadata;
  std::vector<std::string> tags;
  std::vector<std::string> aliases;  // names pointing here, `latest` included

  VersionAttrs attrs() const {
    return {.id = id,
            .number = number,
            .kind = kind,
            .creator_uid = creator_uid,
            .created = created,
            .size = size};
  }
};

struct Alias {
  int64_t id = 0;  // row id; 0 for `latest`
  std::string collection;
  std::string name;
  uint64_t version = 0;  // the target's number
  int64_t version_id = 0;
  // Changes whenever the alias is created, moved or renamed: the sequence
  // number of the history event that last set it (for `latest`, the seq of
  // its version's creation event). Gives a moved alias a new inode.
  uint64_t revision = 0;
  bool is_protected = false;
  bool is_latest = false;
  TimeMs updated = 0;
  uid_t updated_uid = 0;
  std::string updated_by;
};

// One entry of a tree version; the root directory of a tree has id 0 and
// is not listed.
struct TreeEntry {
  int64_t id = 0;  // unique in the store
  int64_t version_id = 0;
  int64_t parent_id = 0;  // 0: the version's root
  std::string name;
  bool is_dir = false;
  bool executable = false;
  uint64_t size = 0;
  std::string blob;    // files only
  std::string digest;  // files only: the content hash the blob is named by
};

struct RoleGrant {
  std::string principal;  // user name, "group:NAME", or "*" (the default)
  Role role = Role::kViewer;
};

struct ProtectedName {
  std::string name;
  TimeMs created = 0;
  std::string created_by;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_MODEL_H_
