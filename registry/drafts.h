// Drafts: files and directory trees that members write inside a collection
// through the mount, before they publish them as a version (publish.cc).
//
// On disk: STORE/drafts/<collection_id>/<uid>/<name>, where `name` is the
// draft's dot-name as its writer sees it in the collection (".model.pt",
// ".data"): a regular file or a directory tree exactly as written. Every
// directory this class makes is 0700. A sidecar ".model.pt.metadata.json"
// is just another draft beside the one it describes. Drafts live on the
// store's file system, so that publishing hard-links their files into
// blobs/ instead of copying them, and they survive restarts: the disk is
// the truth, there is no SQL here.
//
// Thread-safe: stateless but for the root path; the file system arbitrates.
#ifndef REGFS_REGISTRY_DRAFTS_H_
#define REGFS_REGISTRY_DRAFTS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/model.h"

namespace regfs::registry {

// One draft root (a direct child of a uid's drafts directory).
struct DraftInfo {
  int64_t collection_id = 0;
  uid_t uid = 0;
  std::string name;  // ".model.pt"
  bool is_dir = false;
  uint64_t bytes = 0;  // disk use: st_blocks * 512, summed over the tree
  TimeMs changed = 0;  // the newest mtime in the draft's tree
};

// The store's limits on drafts (settings draft_quota_bytes and
// draft_idle_seconds).
struct DraftLimits {
  uint64_t quota_bytes = kDefaultQuotaBytes;  // per uid, all collections
  std::chrono::seconds idle = kDefaultIdle;   // abandoned after this long
  static constexpr uint64_t kDefaultQuotaBytes = 100ull << 30;  // 100 GiB
  static constexpr std::chrono::seconds kDefaultIdle =
      std::chrono::hours(24 * 7);
};

// What CollectDrafts removed.
struct DraftGcReport {
  uint64_t abandoned = 0;   // drafts idle longer than the limit
  uint64_t published = 0;   // leftovers of a publish that had committed
  uint64_t bytes_removed = 0;
  std::vector<std::string> removed;  // "<collection_id>/<uid>/<name>"
};

class Drafts final {
 public:
  // `root`: STORE/drafts (created on first use).
  explicit Drafts(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }

  // The directory of uid's drafts in a collection, created (0700, with its
  // parents) on first use.
  [[nodiscard]] Result<std::filesystem::path> DirFor(int64_t collection_id,
                                                     uid_t uid) const;
  // Where draft `name` of uid in a collection is (exists or not).
  std::filesystem::path PathOf(int64_t collection_id, uid_t uid,
                               std::string_view name) const;
  // Every draft root, sorted by collection, uid, name. A missing drafts
  // area is empty.
  [[nodiscard]] Result<std::vector<DraftInfo>> List() const;
  // Disk use of each uid's drafts, for the quota.
  [[nodiscard]] Result<std::map<uid_t, uint64_t>> Usage() const;
  // Removes a draft (recursively for a tree); NotFound if there is none.
  [[nodiscard]] Status Remove(int64_t collection_id, uid_t uid,
                              std::string_view name) const;

  // The sidecar of draft `name`: "<name>.metadata.json".
  static std::string SidecarName(std::string_view name);

 private:
  std::filesystem::path root_;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_DRAFTS_H_
