// The statements of maintenance (fsck, gc, verifying a version): the
// database's consistency checks, the blobs the registry references, and
// where a blob's content appears.
#ifndef REGFS_REGISTRY_SQL_MAINTENANCE_H_
#define REGFS_REGISTRY_SQL_MAINTENANCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/sql/connection.h"

namespace regfs::registry::sql {

// One inconsistency: the check that found it ("version of the wrong
// kind") and what it names ("models/v3").
struct Inconsistency {
  std::string check;
  std::string detail;
};

// A blob a version or a tree entry holds, with the size recorded for it.
struct BlobRef {
  std::string key;
  uint64_t size = 0;
};

// A file of a tree version: its path below the version's root.
struct TreeFile {
  std::string path;  // "sub/file.bin"
  std::string blob;
  uint64_t size = 0;
};

// What every consistency check of fsck finds, check by check: the
// engine's own check of its storage first, then the registry's rules
// (aliases name live versions, numbers below the next one, kinds match,
// history without gaps).
[[nodiscard]] Result<std::vector<Inconsistency>> FindInconsistencies(
    Connection& db);
// The number of live versions.
[[nodiscard]] Result<uint64_t> CountVersions(Connection& db);
// Every referenced blob with each size recorded for it, sorted by key (as
// std::string orders them), then size: a key recorded with two sizes
// comes twice.
[[nodiscard]] Result<std::vector<BlobRef>> ReferencedBlobs(Connection& db);
// Whether a version or a tree entry holds blob `key`.
[[nodiscard]] Result<bool> IsBlobReferenced(Connection& db,
                                            std::string_view key);
// The versions ("models/v1") and tree files ("zoo/v0/sub/file.bin") whose
// content is blob `key`, sorted.
[[nodiscard]] Result<std::vector<std::string>> FilesOfBlob(
    Connection& db, std::string_view key);
// The files (not directories) of tree version `version_id`, by path.
[[nodiscard]] Result<std::vector<TreeFile>> TreeFiles(Connection& db,
                                                      int64_t version_id);

}  // namespace regfs::registry::sql

#endif  // REGFS_REGISTRY_SQL_MAINTENANCE_H_
