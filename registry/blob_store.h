// Content-addressed blob files under STORE/blobs.
//
// A blob's key is the XXH3-128 of its content in hex ("ab12…"), stored at
// blobs/ab/ab12…; in the (astronomically unlikely) case of a real hash
// collision the second content gets the key "ab12….1", and so on. Blobs are
// read-only (0444) once in place. A push's temporary files live in its
// staging area, a directory in blobs/tmp that the push flock()s for its
// whole life, so that gc removes only the areas of pushes that are gone:
// one lock and one descriptor a push, however many files it stages.
//
// A store whose blobs live in S3 (AttachRemote; issue 17) keeps this
// directory as the node's cache of them (blob_cache.h): a staged blob is
// uploaded before it is installed, and a blob not cached is fetched on
// its first open.
//
// Integrity: where the store's file system supports fs-verity, every blob
// gets it when installed, and the kernel checks each page read from it.
// Elsewhere OpenVerified() hashes a blob before its first open in this
// process succeeds.
//
// Thread-safe: the file system arbitrates between processes; the little
// state of this process (whether fs-verity works here, the blobs verified
// so far) is atomic or behind `verified_.mu`, a leaf lock.
#ifndef REGFS_REGISTRY_BLOB_STORE_H_
#define REGFS_REGISTRY_BLOB_STORE_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <unordered_set>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/blob_cache.h"
#include "registry/error.h"
#include "registry/fs_verity.h"
#include "registry/hasher.h"
#include "registry/mutex.h"
#include "registry/remote_blobs.h"
#include "registry/unique_fd.h"

namespace regfs::registry {

// Called as bytes are stored: (bytes done, bytes total).
using ProgressFn = std::function<void(uint64_t, uint64_t)>;

// A push's directory in blobs/tmp for its temporary files (StagedBlob),
// flock()ed through `fd_` while it exists. Removed, with anything left in
// it, when the last StagedBlob of it is gone. Created by
// BlobStore::NewStagingArea.
class StagingArea final {
 public:
  StagingArea(const StagingArea&) = delete;
  StagingArea& operator=(const StagingArea&) = delete;
  ~StagingArea();

 private:
  friend class BlobStore;
  StagingArea(std::filesystem::path dir, UniqueFd fd)
      : dir_(std::move(dir)), fd_(std::move(fd)) {}
  std::filesystem::path dir_;
  UniqueFd fd_;  // the directory, read-only; holds the flock
};

// A content written to a temporary file, hashed and synced, not yet in
// place. Owns the temporary file: unlinks it unless Install() moved it.
// Holds no descriptor: Install() opens the file again.
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
  std::shared_ptr<const StagingArea> area_;  // temp_'s: outlives it
  std::string digest_;
  uint64_t size_ = 0;
  bool verity_ = false;  // fs-verity is enabled on the temporary file
  std::string verified_key_;  // an existing blob found byte-identical
  // A store in S3: the key whose object holds this content (uploaded by
  // this push, or found byte-identical there), and when this push
  // uploaded it (0: it found it there).
  std::string remote_key_;
  int64_t uploaded_ms_ = 0;
};

struct BlobGcReport {
  uint64_t blobs_removed = 0;
  uint64_t bytes_removed = 0;
  uint64_t temps_removed = 0;
  // A store in S3: unfinished multipart uploads aborted, and whether the
  // server could list them at all.
  uint64_t uploads_aborted = 0;
  bool uploads_unlisted = false;
  // Unreferenced blobs dropped from this node's cache.
  uint64_t cached_removed = 0;
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

  // Makes this a store whose blobs live in `remote`, with this directory
  // as the node's cache of at most `cache_limit` bytes; gc leaves objects
  // younger than `gc_grace` alone. Before any other use.
  void AttachRemote(std::unique_ptr<RemoteBlobs> remote, uint64_t cache_limit,
                    std::chrono::seconds gc_grace);
  // Null for a store on a file system.
  RemoteBlobs* remote() const { return remote_.get(); }
  BlobCache* cache() const { return cache_.get(); }

  // A store in S3: fetches blob `key` into the cache unless it is there.
  Status Fetch(std::string_view key, std::optional<uint64_t> size) const;

  // A new staging area for one push's files (one descriptor, one lock).
  Result<std::shared_ptr<const StagingArea>> NewStagingArea() const;

  // Copies `source` (a regular file) into a temporary file in `area` (a
  // new area of its own if null) while hashing it in bounded memory,
  // syncs it, and looks for an identical blob. Does not need the
  // registry's lock.
  Result<StagedBlob> Stage(
      const std::filesystem::path& source, const ProgressFn& progress,
      std::shared_ptr<const StagingArea> area = nullptr) const;

  // The same for a file of a draft, without copying it: hard-links
  // `source` into blobs/tmp (the same inode), hashes it from the file and
  // syncs it once. Install() then renames the link into place, or drops it
  // on a hash hit. Until Install() the source file is unchanged; after,
  // it is the blob (0444, fs-verity where supported). The caller keeps
  // writers off `source` meanwhile (a change is Conflict). A source on
  // another file system than blobs/ is copied, as Stage() does.
  Result<StagedBlob> Adopt(
      const std::filesystem::path& source, const ProgressFn& progress,
      std::shared_ptr<const StagingArea> area = nullptr) const;

  // The key of the blob that `file` is a hard link of, if any (a draft
  // file adopted and installed): hashes `file` to find its candidates.
  // nullopt too if `file` is gone.
  Result<std::optional<std::string>> KeyOfLink(
      const std::filesystem::path& file) const;

  // Puts a staged content in place and returns its key: an existing
  // byte-identical blob, or the temporary file renamed (and the directory
  // synced). Must run under the registry's write lock, so that gc, which
  // runs under it too, cannot remove the blob before the row naming it
  // commits.
  Result<std::string> Install(StagedBlob& staged) const;

  std::filesystem::path PathOf(std::string_view key) const;
  bool Exists(std::string_view key) const;

  // Size and hash check of one blob; Corruption describes a mismatch.
  // In S3: the object's size (HEAD), and with `deep` its bytes too.
  Status Verify(std::string_view key, uint64_t size, bool deep = true) const;
  // Whether the blob is there (in S3: the object). For fsck.
  Result<bool> Present(std::string_view key) const;

  // Opens a blob for reading, with the guarantee that what is read from it
  // is its content: fs-verity protects it, or this process has hashed it
  // (now, or since it started) and found its key's digest. A blob that
  // passes and lacks fs-verity gets it if the file system has it.
  // Corruption names the blob when it is missing or its hash differs.
  // Concurrent first opens of one blob hash it once; at most
  // kMaxVerified verified keys are remembered (then forgotten together):
  // as many as ReadCache holds tree entries, so that every file of a tree
  // of 100,000 is hashed once a mount, not at each walk (about 13 MiB).
  Result<UniqueFd> OpenVerified(std::string_view key) const;
  static constexpr size_t kMaxVerified = size_t{1} << 17;

  // Enables fs-verity on a blob that lacks it (fsck --repair: call only
  // after Verify() passed). kUnsupported when the file system lacks it.
  Result<VerityState> Protect(std::string_view key) const;

  // Whether this store's file system has fs-verity: nullopt until a blob
  // has been tried.
  std::optional<bool> verity_supported() const;

  // All keys present on disk (Collect; tests).
  Result<std::vector<std::string>> List() const;

  // Removes the blobs not in `referenced` (sorted), and the staging areas
  // (and loose temporary files) that nobody holds locked any more. Must
  // run under the registry's write lock.
  Result<BlobGcReport> Collect(
      const std::vector<std::string>& referenced) const;

  // A store in S3: the objects gc may remove if they are unreferenced
  // (older than `grace`, so that a push's upload is not taken away before
  // it installs), listed without the lock; then CollectRemote, under it,
  // removes those not in `referenced` (sorted), aborts multipart uploads
  // older than `grace` and drops unreferenced blobs from the cache.
  Result<std::vector<RemoteBlob>> RemoteCandidates(
      std::chrono::seconds grace) const;
  Result<BlobGcReport> CollectRemote(
      const std::vector<RemoteBlob>& candidates,
      const std::vector<std::string>& referenced,
      std::chrono::seconds grace) const;

  // The digest a key stands for: the key without its collision suffix.
  static std::string_view DigestOf(std::string_view key);
  // The key of the `suffix`-th content with hash `digest` (0: the digest
  // itself, then "DIGEST.1", ...).
  static std::string KeyFor(std::string_view digest, int suffix);

 private:
  // A temporary file just made in a staging area, as CreateTemp returns it.
  struct TempFile {
    StagedBlob staged;  // owns the file (its path) and holds its area
    UniqueFd file;      // the file, read-only
    UniqueFd writer;    // to write its content through; not valid for a link
  };
  // Creates a temporary file in `area` (a new one if null). With
  // `link_from`, the file is a new hard link of that file instead, with no
  // writer.
  Result<TempFile> CreateTemp(
      std::shared_ptr<const StagingArea> area,
      const std::filesystem::path* link_from = nullptr) const;
  // Opens the staged file, read-only.
  Result<UniqueFd> OpenStaged(const StagedBlob& staged) const;
  // Sets staged.verified_key_ to an existing blob of the same content
  // (the staged file is open at `fd`), if there is one.
  Status FindIdentical(StagedBlob& staged, int fd) const;
  // A store in S3 (blob_store_remote.cc): finds the object of the same
  // content, or uploads it under the first free key, into
  // staged.remote_key_; the local cache copy follows in Install.
  Status FindOrUpload(StagedBlob& staged, int fd) const;
  // Install for a store in S3: confirms (under the lock) that the object
  // is still there, uploading it again if gc took it, then puts the
  // staged file in the cache.
  Result<std::string> InstallRemote(StagedBlob& staged, int fd) const;
  // Renames the staged file, open at `fd`, into place as `key` (its
  // directory made and synced as needed).
  Status MoveIntoPlace(StagedBlob& staged, int fd,
                       const std::string& key) const;
  // Removes the staging area at `dir` and its files (counted) if nobody
  // holds it locked.
  void RemoveAbandonedArea(const std::filesystem::path& dir,
                           uint64_t& files_removed) const;
  // OpenVerified for a store in S3: the cached file, fetched first if
  // needed, pinned against eviction.
  Result<UniqueFd> OpenCached(std::string_view key) const;
  Status VerifyRemote(std::string_view key, uint64_t size, bool deep) const;
  // Records that this process checked blob `key`'s bytes.
  void MarkVerified(const std::string& key) const;
  // Hashes the blob open at `fd` unless this process did already.
  Status VerifyOnce(int fd, std::string_view key,
                    const std::filesystem::path& path) const;
  Result<bool> SameContent(int fd, const std::filesystem::path& blob) const;
  // The size and digest of the file open at `fd`, read through a mapping.
  Result<std::pair<uint64_t, std::string>> HashFile(
      int fd, const std::filesystem::path& path,
      const ProgressFn& progress = {}) const;
  // Enables fs-verity on the file open read-only at `fd`, making it
  // writable for the call if it is not; skips quietly once the store's
  // file system is known to lack it.
  Result<VerityState> EnableVerityOn(int fd,
                                     const std::filesystem::path& path) const;

  enum class Verity { kUnknown, kSupported, kUnsupported };

  std::filesystem::path root_;
  HasherFactory hasher_;
  bool durable_ = true;
  std::unique_ptr<RemoteBlobs> remote_;
  std::unique_ptr<BlobCache> cache_;
  std::chrono::seconds gc_grace_{3600};
  mutable std::atomic<Verity> verity_{Verity::kUnknown};
  struct VerifiedSet {
    Mutex mu;
    CondVar cv;  // `busy` shrank
    // Hashed and found intact.
    std::unordered_set<std::string> done GUARDED_BY(mu);
    // Being hashed now.
    std::unordered_set<std::string> busy GUARDED_BY(mu);
  };
  mutable VerifiedSet verified_;
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_BLOB_STORE_H_
