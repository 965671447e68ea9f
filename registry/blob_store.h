// Content-addressed blob files under STORE/blobs.
//
// A blob's key is the XXH3-128 of its content in hex ("ab12…"), stored at
// blobs/ab/ab12…; in the (astronomically unlikely) case of a real hash
// collision the second content gets the key "ab12….1", and so on. Blobs are
// read-only (0444) once in place. Temporary files live in blobs/tmp and are
// flock()ed by their writer for their whole life, so that gc removes only
// those whose writer is gone.
//
// Thread-safe: the class holds no mutable state; the file system arbitrates.
#ifndef REGFS_REGISTRY_BLOB_STORE_H_
#define REGFS_REGISTRY_BLOB_STORE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/hasher.h"
#include "registry/unique_fd.h"

namespace regfs::registry {

// Called as bytes are stored: (bytes done, bytes total).
using ProgressFn = std::function<void(uint64_t, uint64_t)>;

// A content written to a temporary file, hashed and synced, not yet in
// place. Owns the temporary file: unlinks it unless Install() moved it.
class StagedBlob final {
 public:
  StagedBlob() = default;
  StagedBlob(StagedBlob&&) noexcept;
  StagedBlob& operator=(StagedBlob&&) noexcept;
  StagedBlob(const StagedBlob&) = delete;
  StagedBlob& operator=(const StagedBlob&) = delete;
  ~StagedBlob();

  const std::string& digest() const { return digest_; }
  uint64_t size() const { return size_; }

 private:
  friend class BlobStore;
  std::filesystem::path temp_;
  UniqueFd fd_;  // holds the flock
  std::string digest_;
  uint64_t size_ = 0;
  std::string verified_key_;  // an existing blob found byte-identical
};

struct BlobGcReport {
  uint64_t blobs_removed = 0;
  uint64_t bytes_removed = 0;
  uint64_t temps_removed = 0;
};

class BlobStore final {
 public:
  // Failure points for tests of crash consistency.
  enum class FailPoint { kNone, kAfterStage, kAfterInstall };

  // `durable` false skips every fsync (benchmark store generation only).
  BlobStore(std::filesystem::path root, HasherFactory hasher,
            bool durable = true);
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  // Creates blobs/ and blobs/tmp/.
  Status Create() const;

  // Copies `source` (a regular file) into a temporary file while hashing
  // it in bounded memory, syncs it, and looks for an identical blob. Does
  // not need the registry's lock.
  Result<StagedBlob> Stage(const std::filesystem::path& source,
                           const ProgressFn& progress) const;

  // Puts a staged content in place and returns its key: an existing
  // byte-identical blob, or the temporary file renamed (and the directory
  // synced). Must run under the registry's write lock, so that gc, which
  // runs under it too, cannot remove the blob before the row naming it
  // commits.
  Result<std::string> Install(StagedBlob& staged) const;

  std::filesystem::path PathOf(std::string_view key) const;
  bool Exists(std::string_view key) const;

  // Size and hash check of one blob; Corruption describes a mismatch.
  Status Verify(std::string_view key, uint64_t size) const;

  // All keys present on disk.
  Result<std::vector<std::string>> List() const;

  // Removes the blobs not in `referenced` (sorted) and abandoned temporary
  // files. Must run under the registry's write lock.
  Result<BlobGcReport> Collect(
      const std::vector<std::string>& referenced) const;

  // The digest a key stands for: the key without its collision suffix.
  static std::string_view DigestOf(std::string_view key);

 private:
  Result<bool> SameContent(int fd, const std::filesystem::path& blob) const;

  std::filesystem::path root_;
  HasherFactory hasher_;
  bool durable_ = true;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_BLOB_STORE_H_
