// The node cache of a store whose blobs live in S3 (issue 17): the
// node's STORE/blobs holds the blobs this node fetched or pushed, in
// BlobStore's layout (blobs/ab/ab12…, read-only), so that reads are served
// from a local file descriptor (passthrough and fs-verity apply as on a
// local store).
//
// - A blob is fetched into blobs/tmp (a file flock()ed by its writer, as
//   BlobStore's temporary files), its XXH3-128 checked as it arrives, then
//   renamed into place: a reader never sees a partial or wrong blob.
//   Concurrent fetches of one blob in this process make one download; the
//   others wait for it. (Readers wait for the whole blob: its hash is known
//   only at the end, and no byte is served unchecked.)
// - Bounded: once the cached bytes pass `limit`, the least recently used
//   blobs are removed until they are under 90% of it. Use is the file's
//   atime, set at each open (so it works on noatime and relatime mounts
//   alike, and across the processes sharing the cache).
// - An open blob is never evicted: every reader holds a shared flock() on
//   its descriptor (Pin), and eviction removes only what it can lock
//   exclusively. A reader that finds its file evicted between open and
//   lock opens it again.
//
// Thread-safe; processes on one node share the directory.
#ifndef REGFS_REGISTRY_BLOB_CACHE_H_
#define REGFS_REGISTRY_BLOB_CACHE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "registry/error.h"
#include "registry/hasher.h"
#include "registry/mutex.h"
#include "registry/remote_blobs.h"

namespace regfs::registry {

struct CachedBlob {
  std::string key;
  uint64_t size = 0;
  int64_t used_ms = 0;  // the last open (atime)
  bool open = false;    // held open by a reader on this node
};

struct CacheEviction {
  uint64_t blobs = 0;
  uint64_t bytes = 0;
  uint64_t kept_open = 0;  // blobs left because they are open
};

class BlobCache final {
 public:
  // `root` is the store's blob directory (BlobStore's root); `path_of`
  // maps a key to its file there.
  BlobCache(std::filesystem::path root, uint64_t limit, RemoteBlobs& remote,
            HasherFactory hasher,
            std::function<std::filesystem::path(std::string_view)> path_of);

  uint64_t limit() const { return limit_; }

  // Fetches blob `key` (of `size` bytes, when known) unless it is cached;
  // true when this call downloaded it (and so checked its hash). IoError
  // when the object store cannot be reached within its bound, Corruption
  // when the object's bytes do not hash to the key.
  [[nodiscard]] Result<bool> Fetch(std::string_view key,
                                   std::optional<uint64_t> size);

  // Holds a shared lock on `fd`, the open file `path`, for as long as it
  // stays open, and marks it used now. false when the file was evicted
  // between its open and the lock: open it again.
  [[nodiscard]] Result<bool> Pin(int fd, const std::filesystem::path& path);

  // A blob of `bytes` came in (fetched, or installed by a push): evicts
  // if the cache passed its limit.
  void Added(uint64_t bytes);

  // Every cached blob, least recently used first.
  [[nodiscard]] Result<std::vector<CachedBlob>> List() const;

  // Removes least recently used blobs that are not open until the cache
  // holds at most `target` bytes (0: every blob not open).
  [[nodiscard]] Result<CacheEviction> Evict(uint64_t target);

 private:
  // Whether the blob at `path` is open somewhere on this node.
  static bool IsOpen(const std::filesystem::path& path);

  const std::filesystem::path root_;
  const uint64_t limit_;
  RemoteBlobs& remote_;
  const HasherFactory hasher_;
  const std::function<std::filesystem::path(std::string_view)> path_of_;

  struct Fetching {
    Mutex mu;
    CondVar cv;  // `busy` shrank
    std::unordered_set<std::string> busy GUARDED_BY(mu);
  };
  Fetching fetching_;

  // The bytes cached, as last counted and added to since; nullopt until
  // counted. evict_mu_ makes one eviction at a time.
  Mutex evict_mu_;
  std::optional<uint64_t> total_ GUARDED_BY(evict_mu_);
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_BLOB_CACHE_H_
