// BlobStore for a store whose blobs live in S3 (issue 17): uploading
// before install, the node cache on open, fsck's and gc's view of the
// bucket. The cache itself is blob_cache.cc.
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "registry/blob_store.h"
#include "registry/history.h"

namespace regfs::registry {

void BlobStore::AttachRemote(std::unique_ptr<RemoteBlobs> remote,
                             uint64_t cache_limit,
                             std::chrono::seconds gc_grace) {
  remote_ = std::move(remote);
  gc_grace_ = gc_grace;
  cache_ = std::make_unique<BlobCache>(
      root_, cache_limit, *remote_, hasher_,
      [this](std::string_view key) { return PathOf(key); });
}

Status BlobStore::FindOrUpload(StagedBlob& staged, int fd) const {
  for (int suffix = 0;; ++suffix) {
    const std::string key = KeyFor(staged.digest_, suffix);
    if (Exists(key)) {  // cached on this node: compare here
      REGFS_ASSIGN_OR_RETURN(const bool same, SameContent(fd, PathOf(key)));
      if (!same) continue;  // a different content with the same hash
      staged.verified_key_ = key;
      REGFS_ASSIGN_OR_RETURN(const auto size, remote_->SizeOf(key));
      if (!size) REGFS_TRY(remote_->Upload(key, fd, staged.size_));
      staged.remote_key_ = key;
      return {};
    }
    REGFS_ASSIGN_OR_RETURN(const auto size, remote_->SizeOf(key));
    if (!size) {
      staged.uploaded_ms_ = NowMs();
      REGFS_TRY(remote_->Upload(key, fd, staged.size_));
      staged.remote_key_ = key;
      // The cache gets this file at install: count it now, outside the
      // registry's lock, so that an eviction it causes runs here.
      cache_->Added(staged.size_);
      return {};
    }
    if (*size != staged.size_) continue;
    REGFS_ASSIGN_OR_RETURN(const bool same,
                           remote_->SameContent(key, fd, staged.size_));
    if (same) {
      staged.remote_key_ = key;
      cache_->Added(staged.size_);
      return {};
    }
  }
}

Result<std::string> BlobStore::InstallRemote(StagedBlob& staged, int fd) const {
  const std::string key = staged.remote_key_;
  if (key.empty()) {
    return Fail(Code::kIoError, "a staged blob was never uploaded");
  }
  // gc removes only objects older than its grace: one this push began to
  // upload less than half of that ago is still there (half: room for the
  // clocks of this node and of the object store to differ; an object's
  // time is when its upload began, or later). Any other is confirmed:
  // gc removes objects under the same lock, so one confirmed here stays
  // until the row that names it has committed, and one that gc took
  // since this push saw it goes up again.
  const int64_t grace_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(gc_grace_).count();
  const bool fresh =
      staged.uploaded_ms_ != 0 && NowMs() - staged.uploaded_ms_ < grace_ms / 2;
  if (!fresh) {
    REGFS_ASSIGN_OR_RETURN(const auto size, remote_->SizeOf(key));
    if (!size) {
      REGFS_TRY(remote_->Upload(key, fd, staged.size_));
    } else if (*size != staged.size_) {
      return Fail(Code::kConflict,
                  fmt::format("blob {} in {} changed while this push ran; "
                              "push again",
                              key, remote_->url()));
    }
  }
  if (staged.verified_key_ != key && !Exists(key)) {
    REGFS_TRY(MoveIntoPlace(staged, fd, key));
  }
  return key;
}

Status BlobStore::Fetch(std::string_view key,
                        std::optional<uint64_t> size) const {
  REGFS_ASSIGN_OR_RETURN(const bool fetched, cache_->Fetch(key, size));
  // Hashed as it came in: its first open needs no second pass.
  if (fetched) MarkVerified(std::string(key));
  return {};
}

void BlobStore::MarkVerified(const std::string& key) const {
  MutexLock lock(verified_.mu);
  if (verified_.done.size() >= kMaxVerified) verified_.done.clear();
  verified_.done.insert(key);
}

Result<UniqueFd> BlobStore::OpenCached(std::string_view key) const {
  const std::filesystem::path path = PathOf(key);
  // A few rounds: the file may be evicted between its open and its pin,
  // or found corrupt and fetched again.
  for (int round = 0; round < 4; ++round) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno != ENOENT) {
        return std::unexpected(PosixError("open", path.string(), errno));
      }
      REGFS_TRY(Fetch(key, std::nullopt));
      continue;
    }
    REGFS_ASSIGN_OR_RETURN(const bool pinned, cache_->Pin(fd.get(), path));
    if (!pinned) continue;
    auto checked = VerifyOnce(fd.get(), key, path);
    if (!checked && checked.error().code == Code::kCorruption) {
      // A cached copy gone bad (cut short by a crash before it reached
      // the disk, or a disk fault): the object is the truth.
      spdlog::warn("cached blob {}: {}; fetching it again", path.string(),
                   checked.error().message);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return std::unexpected(PosixError("unlink", path.string(), errno));
      }
      continue;
    }
    REGFS_TRY(checked);
    return fd;
  }
  return Fail(Code::kIoError,
              fmt::format("blob {} left the cache as fast as it was fetched: "
                          "is cache-size smaller than the blobs open at once?",
                          key));
}

Status BlobStore::VerifyRemote(std::string_view key, uint64_t size,
                               bool deep) const {
  if (deep) {
    auto hasher = hasher_();
    auto checked = remote_->Check(key, size, *hasher);
    if (!checked && checked.error().IsNotFound()) {
      return Fail(Code::kCorruption, fmt::format("blob {} is missing from {}",
                                                 key, remote_->url()));
    }
    return checked;
  }
  REGFS_ASSIGN_OR_RETURN(const auto got, remote_->SizeOf(key));
  if (!got) {
    return Fail(Code::kCorruption,
                fmt::format("blob {} is missing from {}", key, remote_->url()));
  }
  if (*got != size) {
    return Fail(Code::kCorruption,
                fmt::format("blob {} in {} has {} bytes, expected {}", key,
                            remote_->url(), *got, size));
  }
  return {};
}

Result<bool> BlobStore::Present(std::string_view key) const {
  if (!remote_) return Exists(key);
  REGFS_ASSIGN_OR_RETURN(const auto size, remote_->SizeOf(key));
  return size.has_value();
}

Result<std::vector<RemoteBlob>> BlobStore::RemoteCandidates(
    std::chrono::seconds grace) const {
  REGFS_ASSIGN_OR_RETURN(std::vector<RemoteBlob> blobs, remote_->List());
  const int64_t cutoff =
      NowMs() -
      std::chrono::duration_cast<std::chrono::milliseconds>(grace).count();
  // An object of unknown age (no LastModified) counts as new.
  std::erase_if(blobs, [cutoff](const RemoteBlob& blob) {
    return blob.last_modified_ms == 0 || blob.last_modified_ms >= cutoff;
  });
  return blobs;
}

Result<BlobGcReport> BlobStore::CollectRemote(
    const std::vector<RemoteBlob>& candidates,
    const std::vector<std::string>& referenced,
    std::chrono::seconds grace) const {
  BlobGcReport report;
  for (const RemoteBlob& blob : candidates) {
    if (std::binary_search(referenced.begin(), referenced.end(), blob.key)) {
      continue;
    }
    REGFS_TRY(remote_->Remove(blob.key));
    ++report.blobs_removed;
    report.bytes_removed += blob.size;
  }
  const int64_t cutoff =
      NowMs() -
      std::chrono::duration_cast<std::chrono::milliseconds>(grace).count();
  REGFS_ASSIGN_OR_RETURN(
      report.uploads_aborted,
      remote_->AbortUploadsBefore(cutoff, &report.uploads_unlisted));
  // This node's cache: unreferenced blobs, and abandoned temporary files.
  REGFS_ASSIGN_OR_RETURN(const BlobGcReport local, Collect(referenced));
  report.cached_removed = local.blobs_removed;
  report.temps_removed = local.temps_removed;
  return report;
}

}  // namespace regfs::registry
